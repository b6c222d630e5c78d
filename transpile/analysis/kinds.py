"""A light type inference: which variables are scalars (and of what dtype) or arrays (of what rank).

Only what generation needs: reverse mode keeps float/int/bool scalars on typed array tapes
(fast under Numba) and everything else on lists. Unknown is always a safe answer.
A kind is (dtype letter 'b'|'i'|'f'|'c' or None, ndim or None); ndim 0 means a scalar.
"""
import builtins
import math

import gast
import numpy as np

from .names import resolve

_ORDER = "bifc"
_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
               np.linalg.norm, np.linalg.det, np.trace, np.vdot}
_FLOAT_ARRAY_MAKERS = {np.zeros, np.ones, np.empty, np.eye, np.linspace}
_LIKE_MAKERS = {np.zeros_like, np.ones_like, np.empty_like, np.copy, np.transpose, np.flip}
_PREDICATES = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
               np.logical_and, np.logical_or, np.logical_not, np.isnan, np.isinf, np.isfinite}


STRUCTURED = "pytree"
SHAPE = ("shape", None)  # the tuple `x.shape`: indexing it gives an int


def kind_of_value(value):
    """The kind of a call argument (STRUCTURED for tuples, lists and dicts)."""
    if isinstance(value, (tuple, list, dict)):
        return STRUCTURED
    if isinstance(value, (bool, np.bool_)):
        return ("b", 0)
    if isinstance(value, (int, np.integer)):
        return ("i", 0)
    if isinstance(value, (float, np.floating)):
        return ("f", 0)
    if isinstance(value, (complex, np.complexfloating)):
        return ("c", 0)
    if isinstance(value, np.ndarray):
        letter = {"b": "b", "i": "i", "u": "i", "f": "f", "c": "c"}.get(value.dtype.kind)
        return (letter, value.ndim) if letter else None
    return None


def _promote(a, b):
    if a is None or b is None:
        return None
    return _ORDER[max(_ORDER.index(a), _ORDER.index(b))]


def join(a, b):
    """The kind of a variable assigned both kinds (None when they disagree in rank)."""
    if a == b:
        return a
    if a is None or b is None or a[1] != b[1] or a[0] not in _ORDER or b[0] not in _ORDER:
        return None
    return (_promote(a[0], b[0]), a[1])


def _rank(kinds):
    ranks = [k[1] for k in kinds]
    if any(r is None for r in ranks):
        return None
    return max(ranks)


BOTTOM = "not yet known"


def _join_bottom(a, b):
    if a == BOTTOM:
        return b
    if b == BOTTOM:
        return a
    return join(a, b)


class KindInference:
    """Rounds over the body until kinds stop changing (loops feed kinds back)."""

    def __init__(self, fdef, namespace, param_kinds):
        self.ns = namespace
        params = [a.id for a in fdef.args.args]
        self.params = dict(zip(params, param_kinds or [None] * len(params)))
        self.previous = {}
        for _ in range(8):
            self.current = dict(self.params)
            self.block(fdef.body)
            if self.current == self.previous:
                break
            self.previous = self.current
        self.kinds = {k: (None if v == BOTTOM else v) for k, v in self.current.items()}

    def set(self, name, kind):
        self.current[name] = _join_bottom(self.current.get(name, BOTTOM), kind)

    def lookup(self, name):
        if name in self.current:
            return self.current[name]
        if name in self.previous:
            return self.previous[name]
        if name in self.ns:
            value = self.ns[name]
            return kind_of_value(value) if isinstance(value, (bool, int, float, complex)) else None
        return BOTTOM

    def block(self, stmts):
        for s in stmts:
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                self.set(s.targets[0].id, self.expr(s.value))
            elif isinstance(s, gast.For):
                self.set(s.target.id, ("i", 0))
                self.block(s.body)
            elif isinstance(s, (gast.While, gast.If)):
                self.block(s.body)
                self.block(getattr(s, "orelse", []) or [])

    def expr(self, node):
        operands = [n for n in gast.walk(node) if isinstance(n, gast.Name)
                    and isinstance(n.ctx, gast.Load) and self.lookup(n.id) == BOTTOM]
        if operands:
            return BOTTOM
        return self._expr(node)

    def _expr(self, node):
        if isinstance(node, gast.Constant):
            v = node.value
            return kind_of_value(v) if isinstance(v, (bool, int, float, complex)) else None
        if isinstance(node, gast.Name):
            return self.lookup(node.id)
        if isinstance(node, gast.BinOp):
            a, b = self.expr(node.left), self.expr(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, gast.MatMult):
                return None
            letter = _promote(a[0], b[0])
            if letter == "b" and not isinstance(node.op, (gast.BitAnd, gast.BitOr, gast.BitXor)):
                letter = "i"
            if isinstance(node.op, gast.Div) and letter in "bi":
                letter = "f"
            if isinstance(node.op, gast.Pow) and letter in "bi":
                return None  # int ** int may be float (negative powers)
            return (letter, _rank([a, b]))
        if isinstance(node, gast.UnaryOp):
            k = self.expr(node.operand)
            if isinstance(node.op, gast.Not):
                return ("b", 0)
            if k is not None and k[0] == "b" and isinstance(node.op, (gast.USub, gast.UAdd)):
                return ("i", k[1])
            return k
        if isinstance(node, gast.Compare):
            ks = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
            if any(k is None for k in ks):
                return None
            return ("b", _rank(ks))
        if isinstance(node, gast.BoolOp):
            ks = [self.expr(v) for v in node.values]
            out = ks[0]
            for k in ks[1:]:
                out = join(out, k)
            return out
        if isinstance(node, gast.Subscript):
            return self.subscript(node)
        if isinstance(node, gast.Attribute):
            base = self.expr(node.value)
            if node.attr in ("size", "ndim"):
                return ("i", 0)
            if node.attr == "T":
                return base
            if node.attr == "shape":
                return SHAPE
            return None
        if isinstance(node, gast.Call):
            return self.call(node)
        return None

    def subscript(self, node):
        return subscript_kind(self.expr(node.value), node.slice, self.expr)

    def call(self, node):
        fn = resolve(node.func, self.ns)
        args = [self.expr(a) if not isinstance(a, (gast.Tuple, gast.List)) else None
                for a in node.args]
        has_keywords = bool(node.keywords)
        if fn in (builtins.len, builtins.int):
            return ("i", 0)
        if fn is builtins.float:
            return ("f", 0)
        if fn is builtins.bool:
            return ("b", 0)
        if fn in (builtins.abs, builtins.min, builtins.max) and args and all(
                a is not None and a[1] == 0 for a in args) and len(args) > (0 if fn is builtins.abs else 1):
            out = args[0]
            for a in args[1:]:
                out = join(out, a)
            return out
        if getattr(fn, "__module__", None) == "math":
            if fn in (math.floor, math.ceil, math.trunc):
                return ("i", 0)
            if fn in (math.isnan, math.isinf, math.isfinite):
                return ("b", 0)
            return ("f", 0)
        if isinstance(fn, np.ufunc):
            if any(a is None for a in args):
                return None
            if fn in _PREDICATES:
                return ("b", _rank(args))
            letter = "f"
            for a in args:
                letter = _promote(letter, a[0])
            return (letter, _rank(args))
        if fn in _REDUCTIONS and len(node.args) == 1 and not has_keywords and args[0] is not None:
            return ("f" if args[0][0] in "bif" else args[0][0], 0)
        if fn in _FLOAT_ARRAY_MAKERS and not has_keywords:
            return ("f", None)
        if fn in _LIKE_MAKERS and not has_keywords and args and args[0] is not None:
            return args[0] if fn is not np.zeros_like else ("f" if args[0][0] in "bif" else args[0][0], args[0][1])
        return None


def subscript_kind(base, index, kind_of):
    """The kind of `base[index]`; `kind_of` gives the kind of an index node."""
    if base == SHAPE:
        return ("i", 0) if not isinstance(index, (gast.Slice, gast.Tuple)) else None
    if base is None or base == BOTTOM or base[1] is None or base[1] == 0:
        return None
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    ndim = base[1]
    for part in parts:
        if isinstance(part, gast.Slice):
            continue
        if isinstance(part, gast.Constant) and part.value is None:
            ndim += 1
            continue
        k = part.value if isinstance(part, gast.Constant) else None
        kind = kind_of_value(k) if k is not None else kind_of(part)
        if kind is None or kind == BOTTOM or kind != ("i", 0):
            return None
        ndim -= 1
    return (base[0], ndim) if ndim >= 0 else None


def infer(fdef, namespace, param_kinds):
    """name -> kind for every variable of `fdef`."""
    return KindInference(fdef, namespace, param_kinds).kinds
