"""Derivatives of tp.custom_vjp and tp.custom_jvp functions (transpile/custom.py) from their rules.

Only the transformation applied first to such a function consults the rule (pipeline.build_ir):
- vjp, grad, value_and_grad: for custom_vjp, `fwd` then `bwd`; for custom_jvp, the vjp of the
  rule's tangent output with respect to the tangents, taken at zero tangents. That is exact, since a
  jvp rule is linear in its tangents, and it is what JAX's transposition computes.
- jvp: for custom_jvp the rule; for custom_vjp an error, as in JAX.
- vmap: the loop strategy, whose per-example calls keep the rule for derivatives taken later (a
  vectorized body would differentiate the function's own operations).
- checkpoint: a function calling it (a call is a checkpoint already), so that the rule stays.
Every other transformation (jacfwd, jacrev, hessian...) works on the body and reaches derivatives
through calls of the function's jvp or vjp, hence through the rule.

The generated functions call the user's fwd, bwd and rule through adapters registered below:
`flat_residuals` makes fwd return `(out, r1, r2, ...)`, and `spread` turns the residual tuple of bwd
and the `primals`/`tangents` tuples of a jvp rule into separate parameters. Tuples never cross a
call, so the rules can be differentiated again (grad of grad, hessian).
"""
import copy

import gast

from .. import gastutil as g
from .. import pytree
from ..analysis.names import NamePool, all_names, bind_object
from ..custom import custom_vjp
from ..errors import NotDifferentiableError, TranspileError, UnsupportedSyntaxError
from ..ir import FunctionSpec, IRFunction
from ..pipeline import TRANSFORMS, base_ir, register_transform
from .reverse import _normalize_argnums
from .simplify import eliminate_dead_code
from .structure import flatten_arguments


def transform_custom(custom, name, primal, **options):
    """The IR of `name` applied to the custom function `custom` (whose body is `primal`), or None
    where the ordinary transformation of the body serves."""
    if name == "flatten":
        raise UnsupportedSyntaxError(
            f"{custom.__name__} is a {type(custom).__name__} function: its arguments must be arrays and "
            "numbers, not tuples, lists or dicts", node=primal.fdef, filename=primal.filename,
            hint="Pass each leaf as its own argument.")
    if name == "vmap":
        return TRANSFORMS["vmap"](primal, **{**options, "method": "loop"})
    if name == "checkpoint":  # a call is a checkpoint already, and keeps the rule
        return TRANSFORMS["checkpoint"](_calling(primal), **options)
    if name == "jvp":
        if isinstance(custom, custom_vjp):
            raise forward_mode_error(custom, primal.fdef, primal.filename)
        return _Rule(custom, primal).jvp(**options)
    if name in ("vjp", "grad", "value_and_grad"):
        return _Rule(custom, primal).reverse(name, **options)
    return None


def _calling(primal):
    """`def f(x, y): out = f(x, y); return out`: the body replaced by a call of the custom function."""
    pool = NamePool(primal.params)
    ns = {}
    fn = bind_object(ns, pool, primal.spec.label, FunctionSpec(primal.spec.pyfunc))
    out = pool.fresh("out")
    fdef = copy.deepcopy(primal.fdef)
    fdef.body = [g.assign(out, g.call(fn, [g.name(p) for p in primal.params]), primal.fdef),
                 g.located(gast.Return(value=g.name(out)), primal.fdef)]
    return IRFunction(fdef=fdef, namespace=ns, filename=primal.filename, spec=primal.spec)


def forward_mode_error(custom, node, filename):
    return NotDifferentiableError(
        f"can't apply forward-mode autodiff (jvp) to a custom_vjp function ({custom.__name__})",
        node=node, filename=filename,
        hint="Differentiate it in reverse mode (grad, vjp, jacrev), or give it a rule with tp.custom_jvp.")


def refuse_forward_mode(spec, call, filename):
    """At a call being differentiated in forward mode: refuse a custom_vjp callee there."""
    if not spec.chain and isinstance(spec.pyfunc, custom_vjp):
        raise forward_mode_error(spec.pyfunc, call, filename)


class _Rule:
    """Writes one derivative function of a custom function from its rule."""

    def __init__(self, custom, primal):
        self.custom = custom
        self.primal = primal
        self.params = primal.params
        self.nondiff = tuple(k % len(self.params) for k in custom.nondiff_argnums)
        self.diff = [k for k in range(len(self.params)) if k not in self.nondiff]
        self.ns = {}
        self.pool = NamePool(self.params)
        self.stmts = []

    def error(self, message, hint):
        return TranspileError(message, node=self.primal.fdef, filename=self.primal.filename, hint=hint)

    def user_function(self, fn, role, nparams):
        """The base IR of the rule's function `fn`, checked to take `nparams` arguments."""
        if fn is None:
            method = "defvjp(fwd, bwd)" if isinstance(self.custom, custom_vjp) else "defjvp(rule)"
            raise self.error(f"{type(self.custom).__name__} function {self.custom.__name__!r} has no derivative rule",
                             hint=f"Call {self.custom.__name__}.{method} before differentiating it.")
        ir = base_ir(fn)
        if len(ir.params) != nparams:
            raise TranspileError(f"the {role} of {self.custom.__name__!r} must take {nparams} positional arguments, "
                                 f"not {len(ir.params)}", node=ir.fdef, filename=ir.filename)
        return ir

    # ----------------------------------------------------------------- statements
    def emit(self, base, value):
        name = self.pool.fresh(base)
        self.stmts.append(g.assign(name, value, self.primal.fdef))
        return name

    def call(self, base, spec, args):
        fn = bind_object(self.ns, self.pool, spec.label, spec)
        return self.emit(base, g.call(fn, [g.name(a) for a in args]))

    def item(self, base, name, k):
        return self.emit(base, gast.Subscript(value=g.name(name), slice=g.const(k), ctx=gast.Load()))

    def helper(self, base, helper_name, args):
        from .. import runtime
        fn = bind_object(self.ns, self.pool, helper_name, getattr(runtime, helper_name))
        return self.emit(base, g.call(fn, [g.name(a) for a in args]))

    def finish(self, suffix, params, result):
        loc = self.primal.fdef
        self.stmts.append(g.located(gast.Return(value=g.name(result)), loc))
        fdef = gast.FunctionDef(name=f"{loc.name}_{suffix}",
                                args=gast.arguments(args=[g.name(p) for p in params], posonlyargs=[], vararg=None,
                                                    kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
                                body=self.stmts, decorator_list=[], returns=None, type_comment=None, type_params=[])
        for a in fdef.args.args:
            a.ctx = gast.Param()
        gast.copy_location(fdef, loc)
        return IRFunction(fdef=fdef, namespace=self.ns, filename=self.primal.filename, spec=self.primal.spec)

    # ----------------------------------------------------------------- reverse mode
    def reverse(self, mode, argnums=0, has_aux=False):
        """vjp: `(p..., cotangent) -> (ct_p for p in argnums)`; grad and value_and_grad as reverse.py."""
        if has_aux:
            raise self.error(f"has_aux is not supported for the custom function {self.custom.__name__!r}",
                             hint="Differentiate a function that calls it and returns (value, aux).")
        single, nums = _normalize_argnums(argnums, len(self.params), self.primal.filename)
        cotangent = self.pool.fresh("cotangent") if mode == "vjp" else None
        if isinstance(self.custom, custom_vjp):
            out, cotangents = self._fwd_bwd(cotangent, nums)
        else:
            out, cotangents = self._transposed_rule(cotangent, nums, need_out=mode != "vjp")
        if mode == "vjp":
            result = self.emit("result", gast.Tuple(elts=[g.name(c) for c in cotangents], ctx=gast.Load()))
            return self.finish("vjp", self.params + [cotangent], result)
        grads = cotangents[0] if single else self.emit(
            "grads", gast.Tuple(elts=[g.name(c) for c in cotangents], ctx=gast.Load()))
        if mode == "value_and_grad":
            grads = self.emit("result", gast.Tuple(elts=[g.name(out), g.name(grads)], ctx=gast.Load()))
        return self.finish(mode, self.params, grads)

    def _seed(self, cotangent, out):
        return cotangent if cotangent is not None else self.helper("seed", "grad_seed", [out])

    def _fwd_bwd(self, cotangent, nums):
        """`fwd` gives the output and residuals, `bwd` the cotangents."""
        custom = self.custom
        fwd = self.user_function(custom.fwd, "fwd", len(self.params))
        bwd = self.user_function(custom.bwd, "bwd", len(self.nondiff) + 2)
        self.refuse_nondiff(nums)
        structure, _ = _residual_leaves(fwd)
        out_and_residuals = self.call("out_and_residuals", FunctionSpec(custom.fwd, (("flat_residuals", ()),)),
                                      self.params)
        out = self.item("out", out_and_residuals, 0)
        residuals = [self.item("residual", out_and_residuals, 1 + j) for j in range(len(pytree.paths(structure)))]
        bwd_spec = FunctionSpec(custom.bwd)
        if structure != pytree.LEAF:
            treedefs = (pytree.LEAF,) * len(self.nondiff) + (structure, pytree.LEAF)
            bwd_spec = FunctionSpec(custom.bwd, (("spread", (("treedefs", treedefs),)),))
        for node, size in _returned_sizes(bwd.fdef):
            if size != len(self.diff):
                raise TranspileError(
                    f"the bwd of {custom.__name__!r} must return a tuple with one cotangent per differentiable "
                    f"argument ({len(self.diff)}), not {'one value' if size is None else size}",
                    node=node, filename=bwd.filename, hint="Return e.g. `(g * 2.0,)` for one argument.")
        nondiff_args = [self.params[k] for k in self.nondiff]
        cotangents = self.call("cotangents", bwd_spec, nondiff_args + residuals + [self._seed(cotangent, out)])
        return out, [self.item("ct_" + self.params[k], cotangents, self.diff.index(k)) for k in nums]

    def refuse_nondiff(self, nums):
        """As in JAX: an argument in a custom_vjp's nondiff_argnums must not be differentiated."""
        for k in nums:
            if k in self.nondiff:
                raise NotDifferentiableError(
                    f"argument {self.params[k]!r} of {self.custom.__name__!r} is in nondiff_argnums, so it "
                    "cannot be differentiated", node=self.primal.fdef, filename=self.primal.filename,
                    hint="Pass a value that does not depend on the differentiated inputs (or tp.stop_gradient "
                    "of it), or make the argument differentiable.")

    def _transposed_rule(self, cotangent, nums, need_out):
        """The vjp of `tangent_out(primals, tangents)` with respect to the tangents, at zero tangents."""
        self.check_jvp_rule()
        out = self.call("out", FunctionSpec(self.custom), self.params) if need_out else None
        seed = self._seed(cotangent, out)
        wanted = [k for k in nums if k in self.diff]
        if wanted:
            zeros = [self.helper("t_" + self.params[k], "zero_like", [self.params[k]]) for k in self.diff]
            first_tangent = len(self.nondiff) + len(self.diff)
            transposed = self._spread_rule().then("tangent_part").then(
                "vjp", argnums=tuple(first_tangent + self.diff.index(k) for k in wanted))
            args = [self.params[k] for k in self.nondiff] + [self.params[k] for k in self.diff] + zeros
            cotangents = self.call("cotangents", transposed, args + [seed])
        # as in JAX, a nondiff argument of a custom_jvp is a constant: its cotangent is zero
        return out, [self.item("ct_" + self.params[k], cotangents, wanted.index(k)) if k in self.diff
                     else self.helper("ct_" + self.params[k], "zero_like", [self.params[k]]) for k in nums]

    def check_jvp_rule(self):
        rule = self.user_function(self.custom.jvp, "jvp rule", len(self.nondiff) + 2)
        for node, size in _returned_sizes(rule.fdef):
            if size != 2:
                raise TranspileError(f"the jvp rule of {self.custom.__name__!r} must return a pair "
                                     "(primal_out, tangent_out)", node=node, filename=rule.filename)

    def _spread_rule(self):
        """The jvp rule with `primals` and `tangents` as separate parameters."""
        tuple_of_diff = ("tuple", len(self.diff), (pytree.LEAF,) * len(self.diff))
        treedefs = (pytree.LEAF,) * len(self.nondiff) + (tuple_of_diff, tuple_of_diff)
        return FunctionSpec(self.custom.jvp, (("spread", (("treedefs", treedefs),)),))

    # ----------------------------------------------------------------- forward mode
    def jvp(self, argnums=()):
        """`(p..., t_p for p in argnums) -> (out, t_out)` from the rule; other tangents are zero, and
        those of nondiff arguments are not passed to the rule (JAX's semantics)."""
        self.check_jvp_rule()
        tangent_params = {k: self.pool.fresh("t_" + self.params[k]) for k in argnums}
        tangents = [tangent_params[k] if k in tangent_params
                    else self.helper("t_" + self.params[k], "zero_like", [self.params[k]]) for k in self.diff]
        args = [self.params[k] for k in self.nondiff] + [self.params[k] for k in self.diff] + tangents
        result = self.call("out_and_tangent", self._spread_rule(), args)
        return self.finish("jvp", self.params + [tangent_params[k] for k in argnums], result)


# --------------------------------------------------------------------- adapters of the user's rules
def _display_of(fdef, atom):
    """The elements of the tuple display `atom` holds at the return, or None: `atom` is assigned once,
    at the top level, and no element is assigned after it."""
    if not isinstance(atom, gast.Name):
        return None
    stores = [n for n in gast.walk(fdef) if isinstance(n, gast.Name) and n.id == atom.id
              and isinstance(n.ctx, gast.Store)]
    for i, s in enumerate(fdef.body):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and s.targets[0].id == atom.id:
            if len(stores) != 1 or not isinstance(s.value, gast.Tuple):
                return None
            later = {n.id for t in fdef.body[i + 1:] for n in gast.walk(t)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
            if any(isinstance(e, gast.Name) and e.id in later for e in s.value.elts):
                return None
            return s.value.elts
    return None


_NO_TUPLE = (gast.Constant, gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp)


def _returned_sizes(fdef):
    """(statement, length) of the results the function may return whose size the source shows: a
    tuple display's length, None for arithmetic or a constant. Calls and names are left out."""
    ret = fdef.body[-1]
    if isinstance(ret.value, gast.Constant):
        return [(ret, None)]
    assigns = _assignments_of(fdef, ret.value.id) if isinstance(ret.value, gast.Name) else []
    return [(s, len(s.value.elts) if isinstance(s.value, gast.Tuple) else None) for s in assigns
            if isinstance(s.value, (gast.Tuple,) + _NO_TUPLE)]


def _assignments_of(fdef, name):
    return [s for s in gast.walk(fdef) if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
            and s.targets[0].id == name]


def _leaves(fdef, atom, depth=0):
    """(treedef, leaf atoms) of the nested tuple displays that `atom` holds at the return."""
    elements = _display_of(fdef, atom) if depth < 8 else None
    if elements is None:
        return pytree.LEAF, [atom]
    children, leaves = [], []
    for e in elements:
        child, sub = _leaves(fdef, e, depth + 1)
        children.append(child)
        leaves += sub
    return ("tuple", len(children), tuple(children)), leaves


def _residual_leaves(ir):
    """(treedef, leaf atoms) of the residuals that fwd returns; (LEAF, None) when fwd's result is no
    literal pair (then the residuals are one value, read as `result[1]`)."""
    pair = _display_of(ir.fdef, ir.fdef.body[-1].value)
    if pair is None:
        return pytree.LEAF, None
    if len(pair) != 2:
        raise TranspileError("a custom_vjp fwd must return a pair (output, residuals)", node=ir.fdef.body[-1],
                             filename=ir.filename)
    return _leaves(ir.fdef, pair[1])


def _with_return(ir, stmts, value):
    """A copy of `ir` whose final return is replaced by `stmts` and `return value`; dead code goes."""
    fdef = copy.deepcopy(ir.fdef)
    ret = fdef.body[-1]
    fdef.body = fdef.body[:-1] + stmts + [g.located(gast.Return(value=copy.deepcopy(value)), ret)]
    return IRFunction(fdef=eliminate_dead_code(fdef), namespace=dict(ir.namespace), filename=ir.filename,
                      spec=ir.spec)


@register_transform("flat_residuals")
def flat_residuals(ir):
    """fwd returning `(out, residuals)` -> returning `(out, r1, r2, ...)`, the residual leaves."""
    treedef, leaves = _residual_leaves(ir)
    ret = ir.fdef.body[-1]
    if treedef == pytree.LEAF:  # the residuals are one value already
        return _with_return(ir, [], ret.value)
    out = _display_of(ir.fdef, ret.value)[0]
    flat = NamePool(all_names(ir.fdef), ir.namespace).fresh("out_and_residuals")
    elements = [copy.deepcopy(a) for a in [out] + leaves]
    return _with_return(ir, [g.assign(flat, gast.Tuple(elts=elements, ctx=gast.Load()), ret)], g.name(flat))


@register_transform("spread", inner_kinds=lambda kinds, **options: None)
def spread(ir, treedefs):
    """Tuple parameters (bwd's residuals, a jvp rule's primals and tangents) -> one per leaf."""
    try:
        out = flatten_arguments(ir, treedefs)
    except UnsupportedSyntaxError:  # a tuple used whole, e.g. passed to a helper
        return _packed(ir, treedefs)
    out.groups = None  # callers pass leaves, and argnums count leaves
    return out


def _packed(ir, treedefs):
    """Leaf parameters packed back into the tuples the body reads. Runs as Python and under jit;
    reverse mode cannot differentiate such a tuple again (a second derivative is refused there)."""
    fdef = copy.deepcopy(ir.fdef)
    pool = NamePool(all_names(fdef), ir.namespace)
    params, stmts = [], []

    def pack(target, treedef):
        elements = []
        for child in treedef[2]:
            name = pool.fresh(target + "_part")
            if child == pytree.LEAF:
                params.append(name)
            else:
                pack(name, child)
            elements.append(g.name(name))
        display = g.located(gast.Tuple(elts=elements, ctx=gast.Load()), fdef)  # errors point at the def
        stmts.append(g.assign(target, display, fdef))

    for arg, treedef in zip(ir.params, treedefs):
        if treedef == pytree.LEAF:
            params.append(arg)
        else:
            pack(arg, treedef)
    fdef.args.args = [gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in params]
    fdef.body = stmts + fdef.body
    return IRFunction(fdef=fdef, namespace=dict(ir.namespace), filename=ir.filename, spec=ir.spec)


@register_transform("tangent_part")
def tangent_part(ir):
    """A jvp rule returning `(out, t_out)` -> returning `t_out` alone, the part reverse mode transposes.

    Each pair the rule may return (one per `return`) gives its second element; a pair from a call is
    read as `result[1]`.
    """
    fdef = copy.deepcopy(ir.fdef)
    ret = fdef.body[-1]
    pairs = _assignments_of(fdef, ret.value.id) if isinstance(ret.value, gast.Name) else []
    if pairs and all(isinstance(s.value, gast.Tuple) for s in pairs):  # pairs were checked by _Rule.jvp
        for s in pairs:
            s.value = s.value.elts[1]
        return IRFunction(fdef=eliminate_dead_code(fdef), namespace=dict(ir.namespace), filename=ir.filename,
                          spec=ir.spec)
    tangent = NamePool(all_names(fdef), ir.namespace).fresh("tangent_out")
    second = gast.Subscript(value=copy.deepcopy(ret.value), slice=g.const(1), ctx=gast.Load())
    return _with_return(ir, [g.assign(tangent, second, ret)], g.name(tangent))
