"""Forward-mode AD by source transformation: each statement is followed by the statement that
computes its tangent, so the jvp runs once, in program order, with no tape.

`y = f(a, b)` gains `t_y = <sum of the jvp templates of f for its active arguments>`; an in-place
write `y[i] = v` gains `t_y[i] = t_v`; control flow is kept as it is, since tangents follow the
path the primal values take. A call to a user function becomes a call to that function's jvp.
Reverse mode's tapes are values like any other: a tangent tape is pushed and popped beside the
primal one, which is what makes forward-over-reverse (jvp of grad) work.
"""
import copy
import inspect

import gast

from .. import gastutil as g
from .. import rules
from ..analysis.activity import NONDIFF_ATTRIBUTES, Activity, assignments, bind_args, call_rule, names_in
from ..analysis.kinds import infer
from ..analysis.names import LoadRenamer, NamePool, all_names, bind_object, resolve
from ..errors import MissingRuleError, NotDifferentiableError, TranspileError
from ..ir import IRFunction
from ..pipeline import register_transform
from .batch import result_arity
from .custom_rules import refuse_forward_mode
from .simplify import eliminate_dead_code
from .templates import flatten, instantiate, simplify_template


class Forward:
    """Builds the jvp function of one core-form function."""

    def __init__(self, ir, argnums):
        self.ir = ir
        self.fdef = copy.deepcopy(ir.fdef)
        self.ns = dict(ir.namespace)
        self.pool = NamePool(all_names(self.fdef), self.ns)
        groups = ir.groups or [(a.id,) for a in self.fdef.args.args]
        self.argnums = tuple(argnums)
        for k in self.argnums:
            if not 0 <= k < len(groups):
                raise TranspileError(f"jvp argnums {argnums!r} out of range for {len(groups)} arguments",
                                     filename=ir.filename)
        self.wrt = [leaf for k in self.argnums for leaf in groups[k]]
        self.kinds = infer(self.fdef, self.ns, ir.kinds)
        self.tangents = {}

    # ----------------------------------------------------------------- naming
    def tangent(self, name):
        if name not in self.tangents:
            self.tangents[name] = self.pool.fresh("t_" + name)
        return self.tangents[name]

    def helper(self, name):
        from .. import runtime
        return bind_object(self.ns, self.pool, name, getattr(runtime, name))

    def is_active(self, node):
        return isinstance(node, gast.Name) and node.id in self.active

    def zero(self, node):
        """A zero tangent for the value of the atom `node`."""
        if isinstance(node, gast.Constant) or self.kinds.get(getattr(node, "id", None)) == ("f", 0):
            return g.const(0.0)
        return g.call(self.helper("zero_like"), [copy.deepcopy(node)])

    def tangent_or_zero(self, node):
        return g.name(self.tangent(node.id)) if self.is_active(node) else self.zero(node)

    # ----------------------------------------------------------------- entry
    def build(self):
        body, ret = self._atomize_arguments(self.fdef.body[:-1]), self.fdef.body[-1]
        out = ret.value
        outputs = [out.id] if isinstance(out, gast.Name) else []
        self.activity = Activity(gast.FunctionDef(body=body, name="", args=self.fdef.args, decorator_list=[],
                                                  returns=None, type_comment=None, type_params=[]),
                                 self.ns, self.wrt, outputs, self.ir.filename, check_rules=False)
        self.active = self.activity.active
        self.written = {s.targets[0].value.id for s in assignments(body) if isinstance(s.targets[0], gast.Subscript)}
        stmts = []
        for param in self.fdef.args.args:  # a parameter without a tangent that later varies starts at zero
            if param.id in self.active and param.id not in self.wrt:
                stmts.append(g.assign(self.tangent(param.id), self.zero(g.name(param.id)), self.fdef))
        tangent_params = [self.tangent(w) for w in self.wrt]
        stmts += self.block(body)
        stmts += self._result(out, ret)
        self.fdef.body = stmts
        self.fdef.args.args = self.fdef.args.args + [g.name(t) for t in tangent_params]
        for a in self.fdef.args.args:
            a.ctx = gast.Param()
        return self.fdef

    def _atomize_arguments(self, stmts):
        """Call arguments that are not atoms (`saved_copy(y[i])` in reverse mode's output) get a
        name first, so every argument has a tangent to stand for it."""
        out = []
        for s in stmts:
            for field in ("body", "orelse"):
                if getattr(s, field, None):
                    setattr(s, field, self._atomize_arguments(getattr(s, field)))
            value = getattr(s, "value", None)
            if isinstance(s, (gast.Assign, gast.Expr)) and isinstance(value, gast.Call):
                for k, arg in enumerate(value.args):
                    if isinstance(arg, (gast.Subscript, gast.Attribute, gast.BinOp, gast.UnaryOp, gast.Call)):
                        base = getattr(getattr(arg, "value", None), "id", None) or "arg"
                        name = self.pool.fresh(base + "_arg")
                        out.append(g.assign(name, arg, s))
                        value.args[k] = g.name(name)
            out.append(s)
        return out

    def _result(self, out, loc):
        if self.is_active(out):
            t_out = g.name(self.tangent(out.id))
        elif result_arity(self.ir.fdef) is not None:
            parts = [gast.Subscript(value=copy.deepcopy(out), slice=g.const(k), ctx=gast.Load())
                     for k in range(result_arity(self.ir.fdef))]
            t_out = gast.Tuple(elts=[g.call(self.helper("zero_like"), [p]) for p in parts], ctx=gast.Load())
        else:
            t_out = self.zero(out)
        stmts, atom = flatten(t_out, self.pool, loc, hint="t_out")
        result = self.pool.fresh("result")
        stmts.append(g.assign(result, gast.Tuple(elts=[copy.deepcopy(out), atom], ctx=gast.Load()), loc))
        return stmts + [g.located(gast.Return(value=g.name(result)), loc)]

    # ----------------------------------------------------------------- statements
    def block(self, stmts):
        out = []
        for s in stmts:
            out += self.stmt(s)
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            if isinstance(s.targets[0], gast.Subscript):
                return self.write(s)
            return self.assign(s)
        if isinstance(s, gast.If):
            s.body = self.block(s.body) or [gast.Pass()]
            s.orelse = self.block(s.orelse)
            return [s]
        if isinstance(s, (gast.For, gast.While)):
            s.body = self.block(s.body) or [gast.Pass()]
            return [s]
        if isinstance(s, gast.Expr) and self._list_call(s.value, "append"):
            lst, value = s.value.func.value.id, s.value.args[0]
            if lst not in self.active:
                return [s]
            push = g.call(gast.Attribute(value=g.name(self.tangent(lst)), attr="append", ctx=gast.Load()),
                          [self.tangent_or_zero(value)])
            return [s, g.expr_stmt(push, s)]
        if isinstance(s, (gast.Pass, gast.Break)):
            return [s]
        raise TranspileError(f"forward mode cannot handle {type(s).__name__} statements",
                             node=s, filename=self.ir.filename)

    @staticmethod
    def _list_call(value, method):
        return isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
            and value.func.attr == method and isinstance(value.func.value, gast.Name)

    def _tangent_pop(self, value):
        """`t_lst.pop()` for `lst.pop()` on an active list, else None."""
        if self._list_call(value, "pop") and value.func.value.id in self.active:
            return g.call(gast.Attribute(value=g.name(self.tangent(value.func.value.id)), attr="pop",
                                         ctx=gast.Load()))
        return None

    def write(self, s):
        """`y[i] = v`: the tangent array gets the same write with v's tangent."""
        target, value = s.targets[0], s.value
        base = target.value.id
        popped = self._tangent_pop(value)
        if base not in self.active:
            return [s] if popped is None else [s, g.expr_stmt(popped, s)]
        t_target = gast.Subscript(value=g.name(self.tangent(base)), slice=copy.deepcopy(target.slice),
                                  ctx=gast.Store())
        t_value = popped if popped is not None else \
            (g.name(self.tangent(value.id)) if self.is_active(value) else g.const(0.0))
        return [s, g.assign(t_target, t_value, s)]

    def assign(self, s):
        y, value = s.targets[0].id, s.value
        popped = self._tangent_pop(value)
        if popped is not None:
            return [s, g.assign(self.tangent(y), popped, s) if y in self.active else g.expr_stmt(popped, s)]
        carrier = self._carrier(value)
        if carrier is not None and any(self.is_active(a) for a in value.args):
            if y in self.active:
                return [s] + self._assign_tangent(y, carrier, s)
            stmts, _ = flatten(carrier, self.pool, s, hint="t_" + y)  # keep the tangent tape in step
            return [s] + stmts[:-1] + [g.expr_stmt(stmts[-1].value, s)]
        if y not in self.active:
            return [s]
        if isinstance(value, gast.Call) and call_rule(value, self.ns)[0] == "callee":
            return self._callee(s)
        out = [s]
        if y in names_in(value):  # y = f(y, ...): the tangent reads the old y
            old = self.pool.fresh(y + "_old")
            out = [g.assign(old, g.name(y), s), s]
            value = LoadRenamer({y: old}).visit(copy.deepcopy(value))
            self.tangents[old], self.kinds[old] = self.tangent(y), self.kinds.get(y)
            self.active.add(old)  # t_y still holds the old y's tangent until the statement's end
        expr = self.tangent_expr(y, value, s)
        if expr is None:
            expr = self.zero(value if isinstance(value, gast.Constant) else g.name(y))
        elif y in self.written and not isinstance(value, (gast.Name, gast.Subscript)) and self._may_alias(expr):
            expr = g.call(self.helper("saved_copy"), [expr])  # written in place: must own its buffer
        return out + self._assign_tangent(y, expr, s)

    def _may_alias(self, expr):
        """Whether a tangent expression may share memory with another tangent (a name, a view,
        or a helper that can return its argument)."""
        from .. import runtime
        if isinstance(expr, (gast.Name, gast.Subscript)):
            return True
        return isinstance(expr, gast.Call) and resolve(expr.func, self.ns) in (runtime.reshape_as, runtime.unbroadcast)

    def _assign_tangent(self, y, expr, loc):
        t_y = self.tangent(y)
        stmts, atom = flatten(expr, self.pool, loc, hint=t_y)
        if stmts and isinstance(atom, gast.Name) and stmts[-1].targets[0].id == atom.id:
            stmts[-1].targets[0].id = t_y
            return stmts
        return stmts + [g.assign(t_y, atom, loc)]

    def _carrier(self, value):
        """The tangent expression of a call to a value-carrying helper (a tape restore), else None."""
        if not isinstance(value, gast.Call):
            return None
        carrier = rules.lookup_carrier(resolve(value.func, self.ns))
        if carrier is None:
            return None
        bound = carrier.signature.bind(*value.args).arguments
        bindings = dict(bound)
        bindings.update({"t_" + p: self.tangent_or_zero(a) for p, a in bound.items()})
        return instantiate(carrier.jvp, bindings, self.ns, self.pool)

    # ----------------------------------------------------------------- expressions
    def tangent_expr(self, y, value, loc):
        """The tangent of `y = value` as an expression, or None when it is zero."""
        if isinstance(value, gast.Name):
            return g.name(self.tangent(value.id)) if self.is_active(value) else None
        if isinstance(value, (gast.Constant, gast.Compare, gast.BoolOp)):
            return None
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            fn = rules.OPERATOR_FUNCTIONS.get(type(value.op))
            operands = [value.left, value.right] if isinstance(value, gast.BinOp) else [value.operand]
            if fn is None or rules.is_nondifferentiable(fn) or not any(map(self.is_active, operands)):
                return None
            return self.rule_tangent(y, fn, rules.lookup(fn), operands, {}, value)
        if isinstance(value, gast.Subscript):
            if not self.is_active(value.value):
                return None
            return gast.Subscript(value=g.name(self.tangent(value.value.id)), slice=copy.deepcopy(value.slice),
                                  ctx=gast.Load())
        if isinstance(value, gast.Attribute):
            if value.attr in NONDIFF_ATTRIBUTES or not self.is_active(value.value):
                return None
        elif isinstance(value, (gast.Tuple, gast.List)):
            return type(value)(elts=[self.tangent_or_zero(e) for e in value.elts], ctx=gast.Load())
        elif isinstance(value, gast.Call):
            kind, rule = call_rule(value, self.ns)
            if kind == "nondiff":
                return None
            if kind == "rule":
                return self.rule_tangent(y, rule.fn, rule, value.args, {k.arg: k.value for k in value.keywords},
                                         value)
            if not any(n in self.active for n in names_in(value)):
                return None
            label = getattr(rule, "__name__", None) or gast.dump(value.func)
            raise MissingRuleError(f"no derivative rule for {label!r}", node=value, filename=self.ir.filename,
                                   hint="Use a function from the rule table (docs/rules.md), or give this "
                                        "computation a derivative with tp.custom_jvp.")
        raise NotDifferentiableError(f"forward mode cannot differentiate {type(value).__name__} expressions",
                                     node=value, filename=self.ir.filename,
                                     hint="Split the expression, or mark it with tp.stop_gradient.")

    def rule_tangent(self, y, fn, rule, args, keywords, node):
        """Sum of the rule's jvp templates for its active arguments, in the shape of `y`."""
        if rule is None or not any(rule.jvp):
            raise MissingRuleError(f"no forward derivative rule for {getattr(fn, '__name__', fn)!r}",
                                   node=node, filename=self.ir.filename,
                                   hint="Use tp.custom_jvp to give it one.")
        call = gast.Call(func=g.name("_"), args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in keywords.items()])
        bound = bind_args(rule, call)
        bindings = {"ans": g.name(y)}
        for pname, param in rule.signature.parameters.items():
            if pname in bound:
                bindings[pname] = bound[pname]
            elif param.default is not param.empty:
                bindings[pname] = g.const(param.default)
        terms, covered = [], set()
        for pname, template in zip(rule.signature.parameters, rule.jvp):
            arg = bound.get(pname)
            if template is None or arg is None:
                continue
            if pname in rule.sequence_params:
                if isinstance(arg, (gast.Tuple, gast.List)):
                    if not any(map(self.is_active, arg.elts)):
                        continue
                    bindings["t_" + pname] = gast.Tuple(elts=[self.tangent_or_zero(e) for e in arg.elts],
                                                        ctx=gast.Load())
                elif self.is_active(arg):  # np.asarray(x) of an array: the tangent keeps its values
                    terms.append(g.call(self.helper("reshape_as"), [g.name(self.tangent(arg.id)), g.name(y)]))
                    continue
                else:
                    continue
            elif not self.is_active(arg):
                continue
            else:
                bindings["t_" + pname] = g.name(self.tangent(arg.id))
                covered.add(arg.id)  # its term has its shape
            terms.append(self._simplify(instantiate(template, bindings, self.ns, self.pool)))
            covered.update(names_in(terms[-1]))
        if not terms:
            return None
        expr = terms[0]
        for term in terms[1:]:
            expr = gast.BinOp(left=expr, op=gast.Add(), right=term)
        if self._may_be_smaller(y, rule, bound, covered):
            expr = g.call(self.helper("broadcast_like"), [expr, g.name(y)])
        return expr

    def _may_be_smaller(self, y, rule, bound, covered):
        """Whether the tangent terms may miss dimensions that an inactive broadcast operand gives y.

        A parameter is broadcast by the function when its cotangent is unbroadcast; terms that
        mention neither it nor `ans` do not have its shape.
        """
        if (self.kinds.get(y) or (None, None))[1] == 0 or y in covered:
            return False
        for pname, vjp in zip(rule.signature.parameters, rule.vjp):
            arg = bound.get(pname)
            if vjp is None or not vjp.startswith("unbroadcast(") or not isinstance(arg, gast.Name):
                continue
            if arg.id not in covered and (self.kinds.get(arg.id) or (None, None))[1] != 0:
                return True
        return False

    def _simplify(self, expr):
        return simplify_template(expr, self.ns)

    # ----------------------------------------------------------------- calls to user functions
    def _callee(self, s):
        """`y = helper(a, b)` becomes `y_jvp = helper_jvp(a, b, t_a)`, `y = y_jvp[0]`, `t_y = y_jvp[1]`."""
        y, call = s.targets[0].id, s.value
        spec = call_rule(call, self.ns)[1]
        args = list(call.args)
        if not spec.chain:  # a user function: bind keywords and fill in defaults
            bound = inspect.signature(spec.pyfunc).bind(*args, **{k.arg: k.value for k in call.keywords})
            bound.apply_defaults()
            args = [v if isinstance(v, gast.AST) else g.const(v) for v in bound.arguments.values()]
        positions = tuple(k for k, a in enumerate(args) if self.is_active(a))
        if not positions:
            return [s, g.assign(self.tangent(y), self.zero(g.name(y)), s)]
        refuse_forward_mode(spec, call, self.ir.filename)
        jvp_spec = spec.then("jvp", argnums=positions)
        fname = bind_object(self.ns, self.pool, jvp_spec.label, jvp_spec)
        pair = self.pool.fresh(y + "_jvp")
        tangents = [g.name(self.tangent(args[k].id)) for k in positions]
        return [g.assign(pair, g.call(g.name(fname), [copy.deepcopy(a) for a in args] + tangents), s),
                g.assign(y, gast.Subscript(value=g.name(pair), slice=g.const(0), ctx=gast.Load()), s),
                g.assign(self.tangent(y), gast.Subscript(value=g.name(pair), slice=g.const(1), ctx=gast.Load()), s)]


def _primal_kinds(kinds, argnums=(), **options):
    """Kinds of the function being differentiated: the tangent parameters come last (one per
    argument, or more with pytree leaves: the prefix kept then still covers every primal leaf)."""
    return kinds[:len(kinds) - len(argnums)]


@register_transform("jvp", inner_kinds=_primal_kinds)
def jvp_transform(ir, argnums=()):
    """`f(p...) -> out` becomes `f_jvp(p..., t_p for the arguments in argnums) -> (out, t_out)`."""
    from .. import runtime
    fwd = Forward(ir, argnums)
    fdef = fwd.build()
    fdef = eliminate_dead_code(fdef, impure={name for name, obj in fwd.ns.items()
                                             if obj is runtime.tape_restore or obj is runtime.shape_restore})
    fdef.name = f"{ir.fdef.name}_jvp"
    out = IRFunction(fdef=fdef, namespace=fwd.ns, filename=ir.filename, spec=ir.spec)
    out.groups = ir.groups
    return out
