"""Jacobians as one generated function: a loop over basis vectors calling the function's jvp
(jacfwd, one column per input element) or vjp (jacrev, one row per output element), filling a
(out.size, x.size) matrix that is finally shaped `out.shape + x.shape`.

The loops are ordinary core-form code, so Jacobians compose with every other pass: hessian is
jacfwd of jacrev, and the whole thing compiles as one Numba module.
"""
import gast
import numpy as np

from .. import gastutil as g
from ..analysis.names import NamePool, bind_object
from ..ir import IRFunction
from ..pipeline import register_transform
from .reverse import _normalize_argnums, _rebuild_gradients


def rebuild_jacobians(result, treedefs, argnums=0):
    """Leaf Jacobians -> one structure per differentiated argument, as JAX returns them."""
    return _rebuild_gradients(result, treedefs, argnums)


class _Writer:
    """Names and statements of the generated Jacobian function."""

    def __init__(self, ir):
        from .. import runtime
        self.ir = ir
        self.params = [a.id for a in ir.fdef.args.args]
        self.ns = {}
        self.pool = NamePool(self.params)
        self.loc = ir.fdef
        self.runtime = runtime

    def bind(self, name, obj):
        return bind_object(self.ns, self.pool, name, obj)

    def helper(self, name):
        return self.bind(name, getattr(self.runtime, name))

    def assign(self, target, value):
        return g.assign(target, value, self.loc)

    def call(self, fn, args):
        return g.call(fn, [a if isinstance(a, gast.AST) else g.name(a) for a in args])

    def item(self, name, k):
        return gast.Subscript(value=g.name(name), slice=g.const(k), ctx=gast.Load())

    def loop(self, index, stop, body):
        return g.located(gast.For(target=g.name(index, store=True),
                                  iter=g.call("range", [g.const(1), g.name(stop), g.const(1)]),
                                  body=body, orelse=[], type_comment=None), self.loc)

    def matrix(self, rows, cols):
        """`matrix = np.zeros((rows, cols))`."""
        shape, matrix = self.pool.fresh("shape"), self.pool.fresh("jacobian_matrix")
        np_name = self.bind("np", np)
        return [self.assign(shape, gast.Tuple(elts=[g.name(rows), g.name(cols)], ctx=gast.Load())),
                self.assign(matrix, g.call(f"{np_name}.zeros", [g.name(shape)]))], matrix

    def write(self, matrix, index, value, column):
        """`matrix[:, index] = flat_values(value)` (a column) or `matrix[index] = ...` (a row)."""
        flat = self.pool.fresh("flat_" + value)
        full = gast.Slice(lower=None, upper=None, step=None)
        where = gast.Tuple(elts=[full, g.name(index)], ctx=gast.Load()) if column else g.name(index)
        return [self.assign(flat, self.call(self.helper("flat_values"), [value])),
                self.assign(gast.Subscript(value=g.name(matrix), slice=where, ctx=gast.Store()), g.name(flat))]

    def finish(self, suffix, stmts, results, single):
        loc = self.loc
        if single:
            ret = results[0]
        else:
            ret = self.pool.fresh("jacobians")
            stmts.append(self.assign(ret, gast.Tuple(elts=[g.name(r) for r in results], ctx=gast.Load())))
        stmts.append(g.located(gast.Return(value=g.name(ret)), loc))
        fdef = gast.FunctionDef(name=f"{self.ir.fdef.name}_{suffix}",
                                args=gast.arguments(args=[g.name(p) for p in self.params], posonlyargs=[],
                                                    vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                                    defaults=[]),
                                body=stmts, decorator_list=[], returns=None, type_comment=None, type_params=[])
        for a in fdef.args.args:
            a.ctx = gast.Param()
        gast.copy_location(fdef, loc)
        out = IRFunction(fdef=fdef, namespace=self.ns, filename=self.ir.filename, spec=self.ir.spec)
        out.groups = self.ir.groups
        return out


def _argnums(ir, argnums):
    """(single, argument numbers, their leaf parameters): pytree arguments were flattened, and
    each of their leaves gets its own Jacobian (rebuilt into the argument's structure)."""
    groups = ir.groups or [(p,) for p in ir.params]
    single, nums = _normalize_argnums(argnums, len(groups), ir.filename)
    return single and ir.groups is None, nums, [leaf for k in nums for leaf in groups[k]]


@register_transform("jacfwd", rebuild_result=rebuild_jacobians)
def jacfwd_transform(ir, argnums=0):
    """Column j of d out / d x is the jvp along the j-th basis vector of x."""
    single, nums, _ = _argnums(ir, argnums)
    groups = ir.groups or [(p,) for p in ir.params]
    w = _Writer(ir)
    stmts, results = [], []
    for k, x in ((k, leaf) for k in nums for leaf in groups[k]):
        jvp = w.bind(ir.spec.label + "_jvp", ir.spec.then("jvp", argnums=(k,)))
        size, first, j = w.pool.fresh("size_" + x), w.pool.fresh("first"), w.pool.fresh("j")

        def column(index, x=x, jvp=jvp, group=groups[k]):
            """The jvp along basis vector `index` of leaf x (zero tangents for its group's others)."""
            e, pair, col = w.pool.fresh("e_" + x), w.pool.fresh("out_and_column"), w.pool.fresh("column")
            stmts = [w.assign(e, w.call(w.helper("basis_vector"), [x, index]))]
            tangents = []
            for leaf in group:
                if leaf == x:
                    tangents.append(g.name(e))
                    continue
                zero = w.pool.fresh("zero_" + leaf)
                stmts.append(w.assign(zero, w.call(w.helper("zero_like"), [leaf])))
                tangents.append(g.name(zero))
            args = [g.name(p) for p in w.params] + tangents
            return stmts + [w.assign(pair, g.call(g.name(jvp), args)),
                            w.assign(col, w.item(pair, 1))], col, pair

        stmts += [w.assign(size, w.call(w.helper("flat_size"), [x])), w.assign(first, g.const(0))]
        first_stmts, col, pair = column(first)
        stmts += first_stmts
        out, rows = w.pool.fresh("out"), w.pool.fresh("size_out")
        stmts += [w.assign(out, w.item(pair, 0)), w.assign(rows, w.call(w.helper("flat_size"), [col]))]
        alloc, matrix = w.matrix(rows, size)
        stmts += alloc + w.write(matrix, first, col, column=True)
        body, col_j, _ = column(j)
        stmts.append(w.loop(j, size, body + w.write(matrix, j, col_j, column=True)))
        jac = w.pool.fresh("jacobian_" + x)
        stmts.append(w.assign(jac, w.call(w.helper("jacobian_shaped"), [matrix, out, x])))
        results.append(jac)
    return w.finish("jacfwd", stmts, results, single)


@register_transform("jacrev", rebuild_result=rebuild_jacobians)
def jacrev_transform(ir, argnums=0):
    """Row i of d out / d x is the vjp of the i-th basis vector of out."""
    single, nums, leaves = _argnums(ir, argnums)
    w = _Writer(ir)
    primal = w.bind(ir.spec.label, ir.spec)
    vjp = w.bind(ir.spec.label + "_vjp", ir.spec.then("vjp", argnums=nums))
    out, size, first, i = w.pool.fresh("out"), w.pool.fresh("size_out"), w.pool.fresh("first"), w.pool.fresh("i")
    stmts = [w.assign(out, g.call(g.name(primal), [g.name(p) for p in w.params])),
             w.assign(size, w.call(w.helper("flat_size"), [out])), w.assign(first, g.const(0))]

    def rows(index):
        e, cts = w.pool.fresh("e_out"), w.pool.fresh("cotangents")
        stmts = [w.assign(e, w.call(w.helper("basis_vector"), [out, index])),
                 w.assign(cts, g.call(g.name(vjp), [g.name(p) for p in w.params] + [g.name(e)]))]
        names = []
        for slot, leaf in enumerate(leaves):
            row = w.pool.fresh("row_" + leaf)
            stmts.append(w.assign(row, w.item(cts, slot)))
            names.append(row)
        return stmts, names

    first_stmts, first_rows = rows(first)
    stmts += first_stmts
    matrices = []
    for leaf, row in zip(leaves, first_rows):
        cols = w.pool.fresh("size_" + leaf)
        stmts.append(w.assign(cols, w.call(w.helper("flat_size"), [leaf])))
        alloc, matrix = w.matrix(size, cols)
        stmts += alloc + w.write(matrix, first, row, column=False)
        matrices.append(matrix)
    body, body_rows = rows(i)
    for matrix, row in zip(matrices, body_rows):
        body += w.write(matrix, i, row, column=False)
    stmts.append(w.loop(i, size, body))
    results = []
    for leaf, matrix in zip(leaves, matrices):
        jac = w.pool.fresh("jacobian_" + leaf)
        stmts.append(w.assign(jac, w.call(w.helper("jacobian_shaped"), [matrix, out, leaf])))
        results.append(jac)
    return w.finish("jacrev", stmts, results, single)
