"""Tiny constructors for gast nodes, so passes read as the code they generate."""
import copy

import gast


def name(id_, store=False):
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None,
                     type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def dotted_name(path):
    """`np.linalg.norm` from the string."""
    parts = path.split(".")
    node = name(parts[0])
    for part in parts[1:]:
        node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
    return node


def call(func, args=(), keywords=None):
    func = dotted_name(func) if isinstance(func, str) else func
    kws = [gast.keyword(arg=k, value=v) for k, v in (keywords or {}).items()]
    return gast.Call(func=func, args=list(args), keywords=kws)


def assign(target, value, loc=None):
    target = name(target, store=True) if isinstance(target, str) else target
    node = gast.Assign(targets=[target], value=value, type_comment=None)
    return located(node, loc)


def expr_stmt(value, loc=None):
    return located(gast.Expr(value=value), loc)


def located(node, loc):
    if loc is not None and getattr(loc, "lineno", None) is not None:
        gast.copy_location(node, loc)
    return node


def load(node):
    """A Load-context copy of a Name/Subscript used as a target."""
    node = copy.deepcopy(node)
    for sub in gast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = gast.Load()
    return node


def store(node):
    node = copy.deepcopy(node)
    node.ctx = gast.Store()
    return node


def binop(left, op, right):
    return gast.BinOp(left=left, op=op, right=right)


def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))
