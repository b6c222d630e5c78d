"""Splice rule templates (small Python expressions) into generated code, in core form."""
import copy
import functools
import math

import gast
import numpy as np

from .. import gastutil as g
from ..analysis.names import bind_object, resolve

_MODULES = {"np": np, "math": math}


@functools.lru_cache(maxsize=None)
def parse_template(text):
    return gast.parse(text, mode="eval").body


class _Substitute(gast.NodeTransformer):
    def __init__(self, bindings, rename):
        self.bindings = bindings
        self.rename = rename

    def visit_Name(self, node):
        if node.id in self.bindings:
            return copy.deepcopy(self.bindings[node.id])
        if node.id in self.rename:
            node.id = self.rename[node.id]
        return node


def substitute(expr, bindings):
    """A copy of `expr` with each name in `bindings` replaced by (a copy of) its expression."""
    return _Substitute(bindings, {}).visit(copy.deepcopy(expr))


def instantiate(text, bindings, namespace, pool):
    """The template's expression with `bindings` substituted and its globals bound in namespace."""
    from .. import collectives, runtime
    expr = copy.deepcopy(parse_template(text))
    rename = {}
    for node in gast.walk(expr):
        if isinstance(node, gast.Name) and node.id not in bindings and node.id not in rename:
            if node.id in _MODULES:
                obj = _MODULES[node.id]
            elif hasattr(runtime, node.id):
                obj = getattr(runtime, node.id)
            elif getattr(collectives, node.id, None) in collectives.COLLECTIVES:
                obj = getattr(collectives, node.id)
            else:
                raise KeyError(f"template name {node.id!r} is neither bound nor a known global")
            rename[node.id] = bind_object(namespace, pool, node.id, obj)
    return _Substitute(bindings, rename).visit(expr)


def flatten(expr, pool, loc, hint="t"):
    """(statements, atom): `expr` evaluated one operation per statement, core form."""
    stmts = []

    def atomize(node, base):
        if g.is_atom(node):
            return node
        node = fold(visit(node))
        if g.is_atom(node):
            return node
        tmp = pool.fresh(base)
        stmts.append(g.assign(tmp, node, loc))
        return g.name(tmp)

    def visit(node):
        if isinstance(node, gast.BinOp):
            node.left = atomize(node.left, hint)
            node.right = atomize(node.right, hint)
        elif isinstance(node, gast.UnaryOp):
            node.operand = atomize(node.operand, hint)
        elif isinstance(node, gast.Compare):
            node.left = atomize(node.left, hint)
            node.comparators = [atomize(c, hint) for c in node.comparators]
        elif isinstance(node, gast.Call):
            node.args = [visit_arg(a) for a in node.args]
            for kw in node.keywords:
                kw.value = visit_arg(kw.value)
        elif isinstance(node, gast.Subscript):
            node.value = atomize(node.value, hint)
            node.slice = visit_index(node.slice)
        elif isinstance(node, gast.Attribute):
            if not _is_dotted(node):
                node.value = atomize(node.value, hint)
        elif isinstance(node, (gast.Tuple, gast.List)):
            node.elts = [atomize(e, hint) for e in node.elts]
        elif isinstance(node, gast.IfExp):
            raise ValueError("conditional expressions are not allowed in templates")
        return node

    def visit_arg(node):
        if isinstance(node, (gast.Tuple, gast.List)):
            node.elts = [atomize(e, hint) for e in node.elts]
            return node
        return atomize(node, hint)

    def visit_index(node):
        if isinstance(node, gast.Slice):
            for part in ("lower", "upper", "step"):
                value = getattr(node, part)
                if value is not None:
                    setattr(node, part, atomize(value, hint))
            return node
        if isinstance(node, gast.Tuple):
            node.elts = [visit_index(e) for e in node.elts]
            return node
        return atomize(node, hint)

    if g.is_atom(expr):
        return stmts, expr
    return stmts, atomize(expr, hint)


_FOLDABLE = (int, float, bool)


def fold(node):
    """A Constant for an operation on constants (`2 - 1` -> `1`), else the node itself."""
    if isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare)):
        operands = [n for n in gast.iter_child_nodes(node) if isinstance(n, gast.expr)]
        if all(isinstance(n, gast.Constant) and type(n.value) in _FOLDABLE for n in operands):
            try:
                value = eval(compile(gast.gast_to_ast(gast.Expression(body=node)), "<fold>", "eval"))
            except Exception:  # e.g. 1 / 0: leave it for run time, where NumPy decides
                return node
            if type(value) in _FOLDABLE:
                return g.const(value)
    return node


def _is_dotted(node):
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name)


def simplify_template(expr, namespace, is_scalar=None):
    """An instantiated rule with what constants decide folded: `select(False, a, b)` -> b,
    `np.power(x, 1)` -> x, `2 - 1` -> 1; and `unbroadcast(v, x)` -> v where `is_scalar(x)`."""
    from .. import runtime

    class Simplify(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            fn, args = resolve(node.func, namespace), node.args
            if fn is runtime.unbroadcast and is_scalar is not None and is_scalar(args[1]):
                return args[0]
            if fn is runtime.select and isinstance(args[0], gast.Constant):
                return args[1] if args[0].value else args[2]
            if fn is np.power and isinstance(args[1], gast.Constant) and args[1].value == 1:
                return args[0]
            return node

        def visit_BinOp(self, node):
            self.generic_visit(node)
            return fold(node)

        def visit_Compare(self, node):
            self.generic_visit(node)
            return fold(node)

    return Simplify().visit(expr)
