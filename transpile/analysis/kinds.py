"""A light type inference: which variables are scalars (and of what dtype) or arrays (of what rank).

Only what generation needs: reverse mode keeps float/int/bool scalars on typed array tapes
(fast under Numba) and everything else on lists. Unknown is always a safe answer.
A kind is (dtype letter 'b'|'i'|'f'|'c' or None, ndim or None); ndim 0 means a scalar.
"""
import builtins
import math

import gast
import numpy as np

from .. import runtime as rt
from ..collectives import COLLECTIVES
from ..errors import TranspileError
from .names import resolve

_ORDER = "bifc"
_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
               np.linalg.norm, np.linalg.det, np.trace, np.vdot}
_FLOAT_ARRAY_MAKERS = {np.zeros, np.ones, np.empty, np.eye, np.linspace}
_JOINERS = {np.concatenate, np.stack, np.hstack, np.vstack}
_LIKE_MAKERS = {np.zeros_like, np.ones_like, np.empty_like, np.copy, np.transpose, np.flip}
_PREDICATES = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
               np.logical_and, np.logical_or, np.logical_not, np.isnan, np.isinf, np.isfinite}


# adjoint helpers of the runtime -> the argument whose shape their float result takes
_SHAPED_BY = {rt.zero_like: 0, rt.adjoint_zero: 0, rt.cast_like: 1, rt.shape_stand_in: 0, rt.unbroadcast: 1, rt.broadcast_like: 1, rt.reshape_as: 1, rt.sum_vjp: 1,
              rt.mean_vjp: 1, rt.dot_vjp_a: 1, rt.dot_vjp_b: 2, rt.summed_dot_vjp_a: 3, rt.chooser_weights: 0, rt.tape_restore: 1, rt.shape_restore: 1,
              rt.untranspose: 0, rt.erf_elementwise: 0}
_AXIS_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, rt.reduce_sum, rt.reduce_mean,
                    rt.reduce_prod, rt.reduce_max, rt.reduce_min}
STRUCTURED = "pytree"  # the kind of a pytree argument; (STRUCTURED, element kinds) for a tuple of known kinds
SHAPE = "shape"  # kind[0] of the tuple `x.shape` (kind[1]: its length): indexing it gives an int


def is_gpu_array(value):
    """Device arrays (CUDA's interface, or Numba's simulated ones) have the kinds of NumPy's."""
    return hasattr(value, "__cuda_array_interface__") or hasattr(value, "copy_to_host")


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
    if isinstance(value, np.ndarray) or is_gpu_array(value):
        letter = {"b": "b", "i": "i", "u": "i", "f": "f", "c": "c"}.get(np.dtype(value.dtype).kind)
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


def _collective_kind(kind, fn, args):
    """What tp.psum(x, axis) and friends give one example: x's kind, one axis more (all_gather)
    or less (psum_scatter), a float mean, or an int index."""
    if kind == "index":
        return ("i", 0)
    arg = args[0] if args else None
    if arg is None:
        return None
    if kind == "gather":
        return (arg[0], arg[1] + 1)
    if kind == "scatter":
        return (arg[0], arg[1] - 1) if arg[1] else None
    return ("f", arg[1]) if fn.__name__ == "pmean" and arg[0] in "bi" else arg


def structured(elements):
    """The kind of a parameter that receives a tuple whose elements have these kinds."""
    return STRUCTURED, tuple(elements)


def is_structured(kind):
    return isinstance(kind, tuple) and len(kind) == 2 and kind[0] == STRUCTURED


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
        self.elements = {}  # name -> kinds of the elements of the tuple it holds
        for name, kind in self.params.items():
            if is_structured(kind):
                self.params[name] = None
                self.elements[name] = kind[1]
        for _ in range(8):
            self.current = dict(self.params)
            self.block(fdef.body)
            if self.current == self.previous:
                break
            self.previous = self.current
        self.kinds = {k: (None if v == BOTTOM else v) for k, v in self.current.items()}

    def set(self, name, kind):
        self.current[name] = _join_bottom(self.current.get(name, BOTTOM), kind)

    def set_elements(self, name, elements):
        """Kinds of the elements of a tuple assigned to `name` (read back as `name[k]`)."""
        known = self.elements.get(name, elements)
        if len(known) != len(elements):
            elements = ()
        self.elements[name] = tuple(_join_bottom(a, b) for a, b in zip(known, elements))

    def tuple_elements(self, node):
        """Kinds of the elements of the tuple `node` evaluates to, or None."""
        if isinstance(node, gast.Tuple):
            return tuple(self.expr(e) for e in node.elts)
        if isinstance(node, gast.Call) and resolve(node.func, self.ns) is rt.split_like and len(node.args) == 3 \
                and isinstance(node.args[1], (gast.Tuple, gast.List)):
            return self._split(node.args[0], node.args[1].elts)
        if isinstance(node, gast.Call) and not node.keywords and self.expr(node) != BOTTOM:
            from ..assemble import callee_spec
            spec = callee_spec(resolve(node.func, self.ns))
            if spec is not None:
                return _callee_result(spec, [self.argument_kind(a) for a in node.args])[1]
        return None

    def _split(self, joined, parts):
        """Kinds of split_like's pieces: the joined cotangent's dtype in each part's rank."""
        joined = self.expr(joined)
        if not isinstance(joined, tuple):
            return None
        kinds = [self.expr(p) for p in parts]
        return tuple((joined[0], k[1]) if isinstance(k, tuple) else None for k in kinds)

    def argument_kind(self, node):
        """The kind a call passes for the argument `node`: a tuple held in a name is passed as the
        kinds of its elements when all of them are known."""
        if isinstance(node, gast.Name):
            elements = self.elements.get(node.id)
            if elements and all(isinstance(e, tuple) for e in elements):
                return structured(elements)
        return self.expr(node)

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
                elements = self.tuple_elements(s.value)
                if elements is not None:
                    self.set_elements(s.targets[0].id, elements)
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
                return _matmul_kind(a, b)
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
                return (SHAPE, base[1] if base is not None and base != BOTTOM else None)
            return None
        if isinstance(node, gast.Call):
            return self.call(node)
        return None

    def subscript(self, node):
        base, index = node.value, node.slice
        if isinstance(base, gast.Name) and base.id in self.elements and isinstance(index, gast.Constant) \
                and isinstance(index.value, int) and -len(self.elements[base.id]) <= index.value < len(self.elements[base.id]):
            kind = self.elements[base.id][index.value]
            return None if kind == BOTTOM else kind
        return subscript_kind(self.expr(base), index, self.expr)

    def call(self, node):
        fn = resolve(node.func, self.ns)
        args = [self.expr(a) if not isinstance(a, (gast.Tuple, gast.List)) else None
                for a in node.args]
        has_keywords = bool(node.keywords)
        if fn is rt.new_tape:  # reverse mode's typed stacks, seen by a second reverse pass
            return (args[0][0], 1) if args[0] is not None else None
        if fn in (rt.tape_reserve, rt.saved_copy):
            return args[0]
        if fn is rt.fused_empty and node.args and isinstance(node.args[0], gast.Tuple):  # fused code
            return ("f", len(node.args[0].elts))
        if fn in (rt.fused_cast, rt.shaped_like, rt.vector_exp, rt.vector_log, rt.vector_tanh, rt.vector_erf) \
                and args and args[0] is not None:
            return ("f" if args[0][0] in "bif" else args[0][0], args[0][1])
        if fn is rt.grad_seed:
            return ("f", 0)
        if fn is rt.range_length:
            return ("i", 0)
        shaped_by = _SHAPED_BY.get(fn)
        if shaped_by is not None and len(args) > shaped_by and args[shaped_by] is not None:
            letter, ndim = args[shaped_by]
            return ("f" if letter in "bif" else letter, ndim)
        if fn in (np.matmul, np.dot, rt.matmul, rt.matmul_rows_parallel):  # before the ufunc rule: np.matmul is a ufunc
            return _matmul_kind(*args) if len(args) == 2 and not has_keywords and None not in args else None
        if fn in (builtins.len, builtins.int):
            return ("i", 0)
        if fn in COLLECTIVES:
            return _collective_kind(COLLECTIVES[fn], fn, args)
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
        if fn in _AXIS_REDUCTIONS and args and args[0] is not None and args[0][1]:
            reduced = _axis_reduction_rank(node, args[0][1])
            if reduced is not None:
                return ("f" if args[0][0] in "bif" else args[0][0], reduced)
        if fn in _REDUCTIONS and len(node.args) == 1 and not has_keywords and args[0] is not None:
            return ("f" if args[0][0] in "bif" else args[0][0], 0)
        if fn in (np.where, rt.select) and len(args) == 3 and None not in args:
            letter = _promote(args[1][0], args[2][0])
            return ("i" if letter == "b" else letter, _rank(args))
        if fn is np.reshape and len(node.args) == 2 and isinstance(node.args[1], gast.Tuple) and args[0] is not None:
            return (args[0][0], len(node.args[1].elts))
        if fn in _FLOAT_ARRAY_MAKERS and not has_keywords:
            return ("f", self._created_rank(fn, node.args))
        if fn in _JOINERS and node.args and isinstance(node.args[0], (gast.Tuple, gast.List)):
            return self._joined(fn, node)
        if fn in _LIKE_MAKERS and not has_keywords and args and args[0] is not None:
            return args[0] if fn is not np.zeros_like else ("f" if args[0][0] in "bif" else args[0][0], args[0][1])
        from ..assemble import callee_spec
        spec = callee_spec(fn)
        if spec is not None and not has_keywords:
            return _callee_result(spec, [self.argument_kind(a) for a in node.args])[0]
        return None

    def _joined(self, fn, node):
        """np.concatenate and friends of a literal sequence of arrays of one rank."""
        parts = [self.expr(e) for e in node.args[0].elts]
        axis = next((k.value for k in node.keywords if k.arg == "axis"), node.args[1] if len(node.args) > 1 else None)
        if not parts or any(p is None or p == BOTTOM or p[1] is None for p in parts) \
                or len({p[1] for p in parts}) != 1 or any(k.arg != "axis" for k in node.keywords) \
                or isinstance(axis, gast.Constant) and axis.value is None:   # axis=None flattens
            return None
        letter = parts[0][0]
        for p in parts[1:]:
            letter = _promote(letter, p[0])
        rank = parts[0][1]
        if rank == 0 and fn is not np.stack:   # scalars: an error, or shapes these rules leave unknown
            return None
        if fn is np.stack or fn is np.vstack and rank == 1:
            rank += 1
        return letter, rank

    def _created_rank(self, fn, args):
        """The rank of np.zeros(shape)-like arrays where the call shows it, else None."""
        if fn is np.eye:
            return 2
        if fn is np.linspace:
            return 1
        if args and isinstance(args[0], (gast.Tuple, gast.List)):
            return len(args[0].elts)
        if args and self.expr(args[0]) == ("i", 0):
            return 1
        if args and isinstance(self.expr(args[0]), tuple) and self.expr(args[0])[0] == SHAPE:
            return self.expr(args[0])[1]
        return None


def _axis_reduction_rank(call, ndim):
    """Rank of np.sum(x, axis, keepdims=...) (or reduce_sum(x, axis, keepdims)) with constant options."""
    options = dict(zip(("axis", "keepdims"), call.args[1:]))
    options.update({k.arg: k.value for k in call.keywords})
    axis, keepdims = options.get("axis", gast.Constant(value=None, kind=None)), options.get("keepdims")
    if not isinstance(axis, gast.Constant) or not (keepdims is None or isinstance(keepdims, gast.Constant)):
        return None
    if keepdims is not None and keepdims.value:
        return ndim
    if axis.value is None:
        return 0
    return ndim - 1 if isinstance(axis.value, int) else None


def _matmul_kind(a, b):
    """a @ b for operands of rank 1 or 2 (the rank drops by one per vector operand)."""
    if a[1] not in (1, 2) or b[1] not in (1, 2) or a[0] is None or b[0] is None:
        return None
    letter = _promote(a[0], b[0])
    return ("i" if letter == "b" else letter, a[1] + b[1] - 2)


_CALLEE_RESULTS = {}  # spec with argument kinds -> (kind, element kinds); None while being inferred


def _callee_result(spec, arg_kinds):
    """(kind, tuple element kinds or None) of what a call of the user function `spec` returns."""
    from ..pipeline import build_ir
    spec = spec.with_kinds(tuple(arg_kinds))
    if spec in _CALLEE_RESULTS:
        return _CALLEE_RESULTS[spec] or (None, None)  # a recursive call's result is unknown
    _CALLEE_RESULTS[spec] = None
    try:
        ir = build_ir(spec)
    except TranspileError:  # reported where the call is generated; here the result is just unknown
        return None, None
    inference = KindInference(ir.fdef, ir.namespace, spec.kinds)
    result = ir.fdef.body[-1].value
    if isinstance(result, gast.Name):
        found = inference.kinds.get(result.id), inference.elements.get(result.id)
    else:
        found = inference.expr(result), None
    _CALLEE_RESULTS[spec] = found
    return found


def subscript_kind(base, index, kind_of):
    """The kind of `base[index]`; `kind_of` gives the kind of an index node."""
    if base is not None and base != BOTTOM and base[0] == SHAPE:
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
