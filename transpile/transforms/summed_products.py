"""A product's cotangent that is only summed down to a broadcast operand sums before the product.

In `qx = (x - mean) @ L.T` the cotangent of `mean` is unbroadcast(-(g @ L), mean): an (n, d) matrix
product whose n rows are then added up. Adding up g's rows first makes it a matrix-vector product
(`summed_dot_vjp_a`); in the ADBench GMM gradient that is one of three n*d*d products per component.

The rewrite follows `unbroadcast(v, like)` back through copies and negations to `dot_vjp_a(g, a, b)`,
each name assigned once and read once in the same block, and changes only that call, which is
correct where `like` is not rebound in between: negation and copying commute with the summation.
Run on compiled CPU code (after reverse mode, before fusion), where `unbroadcast` of the now
summed value is a reshape.
"""
import copy

import gast

from .. import gastutil as g
from .. import runtime as rt
from ..analysis.activity import blocks
from ..analysis.names import NamePool, all_names, bind_object, resolve


def sum_before_products(fdef, namespace):
    """(fdef, namespace) with summed matrix-product cotangents computed as matrix-vector products;
    `fdef` itself is left as it was (the IR it belongs to is shared)."""
    if not _summed_products(fdef, namespace):
        return fdef, namespace
    fdef = copy.deepcopy(fdef)
    namespace = dict(namespace)
    summed = bind_object(namespace, NamePool(all_names(fdef), namespace), "summed_dot_vjp_a", rt.summed_dot_vjp_a)
    for product_call, like in _summed_products(fdef, namespace):
        product_call.func = g.name(summed)
        product_call.args = product_call.args + [g.name(like)]
    return fdef, namespace


def _summed_products(fdef, namespace):
    """(dot_vjp_a call, name of the operand it is summed to) for every product summed that way."""
    loads, stores = _counts(fdef)
    rewrites = []
    for block in blocks(fdef.body):
        definitions = {}
        for index, stmt in enumerate(block):
            target = _assigned_name(stmt)
            if target is not None:
                definitions[target] = index
            found = _summed_product(stmt, block, index, definitions, namespace, loads, stores)
            if found is not None:
                rewrites.append(found)
    return rewrites


def _summed_product(stmt, block, index, definitions, namespace, loads, stores):
    """(the dot_vjp_a call, the name summed to) where `stmt` is `t = unbroadcast(v, like)` and v comes
    from that call through copies and negations only."""
    value = getattr(stmt, "value", None) if _assigned_name(stmt) is not None else None
    if not (isinstance(value, gast.Call) and resolve(value.func, namespace) is rt.unbroadcast
            and len(value.args) == 2 and not value.keywords
            and all(isinstance(arg, gast.Name) for arg in value.args)):
        return None
    source, like = value.args[0].id, value.args[1].id
    while True:
        if loads.get(source) != 1 or stores.get(source) != 1 or source not in definitions:
            return None
        start = definitions[source]
        defined = block[start].value
        if isinstance(defined, gast.UnaryOp) and isinstance(defined.op, gast.USub) \
                and isinstance(defined.operand, gast.Name):
            source = defined.operand.id
        elif isinstance(defined, gast.Name):
            source = defined.id
        elif isinstance(defined, gast.Call) and resolve(defined.func, namespace) is rt.dot_vjp_a \
                and len(defined.args) == 3 and not defined.keywords:
            break
        else:
            return None
    if any(like in _stored_names(later) for later in block[start:index]):
        return None
    return defined, like


def _assigned_name(stmt):
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def _stored_names(stmt):
    return {node.id for node in gast.walk(stmt) if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store)}


def _counts(fdef):
    loads, stores = {}, {}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Name):
            counts = stores if isinstance(node.ctx, gast.Store) else loads
            counts[node.id] = counts.get(node.id, 0) + 1
    return loads, stores

