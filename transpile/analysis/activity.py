"""Which variables carry derivatives: varied by the inputs AND useful to the output.

The analysis is flow-insensitive (a name is active if any of its assignments is), which is
conservative and keeps adjoint variables type-stable for Numba.
"""
import gast

from .. import rules
from ..errors import MissingRuleError
from .names import resolve

NONDIFF_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}


def assignments(stmts):
    """Every Assign statement in the blocks, depth first, in program order."""
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            yield stmt
        for field in ("body", "orelse"):
            yield from assignments(getattr(stmt, field, []) or [])


def blocks(stmts):
    """Every statement list in `stmts` (nested bodies and else-branches), itself included."""
    yield stmts
    for stmt in stmts:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if inner and isinstance(inner[0], gast.stmt):
                yield from blocks(inner)


def list_operations(stmts):
    """(list name, value node, target node) of `lst.append(v)` and `target = lst.pop()`, the
    list operations reverse mode's tapes use, depth first; v or target is None where absent."""
    for stmt in stmts:
        value = getattr(stmt, "value", None)
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                and isinstance(value.func.value, gast.Name):
            method, lst = value.func.attr, value.func.value.id
            if method == "append" and isinstance(stmt, gast.Expr) and len(value.args) == 1:
                yield lst, value.args[0], None
            elif method == "pop" and isinstance(stmt, gast.Assign) and not value.args:
                yield lst, None, stmt.targets[0]
        for field in ("body", "orelse"):
            yield from list_operations(getattr(stmt, field, []) or [])


def names_in(node):
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def call_rule(call, namespace):
    """('rule', Rule) | ('nondiff', None) | ('callee', spec) | ('unknown', obj) for a Call."""
    from ..assemble import callee_spec
    fn = resolve(call.func, namespace)
    if fn is None:
        return "unknown", None
    spec = callee_spec(fn)
    if spec is not None:
        return "callee", spec
    if rules.is_nondifferentiable(fn):
        return "nondiff", None
    rule = rules.lookup_call(fn, len(call.args))
    if rule is not None:
        return "rule", rule
    return "unknown", fn


def diff_operands(value, namespace):
    """Names whose derivatives flow into the value of the expression `value`."""
    if isinstance(value, gast.Name):
        return [value.id]
    if isinstance(value, gast.BinOp):
        if type(value.op) in (gast.FloorDiv,):
            return []
        return names_in(value.left) + names_in(value.right)
    if isinstance(value, gast.UnaryOp):
        return [] if isinstance(value.op, (gast.Not, gast.Invert)) else names_in(value.operand)
    if isinstance(value, gast.Subscript):
        return names_in(value.value)
    if isinstance(value, gast.Attribute):
        return [] if value.attr in NONDIFF_ATTRIBUTES else names_in(value.value)
    if isinstance(value, gast.Call):
        kind, rule = call_rule(value, namespace)
        if kind == "nondiff":
            return []
        if kind == "callee":
            return [n for a in value.args for n in names_in(a)] + \
                [n for k in value.keywords for n in names_in(k.value)]
        if kind == "rule":
            bound = bind_args(rule, value)
            out = []
            for param, template in zip(rule.signature.parameters, rule.vjp):
                if template is not None and param in bound:
                    out += names_in(bound[param])
            return out
        return [n for a in value.args for n in names_in(a)] + \
            [n for k in value.keywords for n in names_in(k.value)]
    if isinstance(value, (gast.Tuple, gast.List)):
        return [n for e in value.elts for n in names_in(e)]
    return []


def bind_args(rule, call):
    """Rule parameter name -> the call's argument node (defaults not filled in)."""
    kwargs = {k.arg: k.value for k in call.keywords}
    return dict(rule.signature.bind_partial(*call.args, **kwargs).arguments)


class Activity:
    """`varied`, `useful` and `active` name sets for one function."""

    def __init__(self, fdef, namespace, wrt, outputs, filename, check_rules=True):
        self.edges = []  # (target, source) meaning d target / d source may be non-zero
        for stmt in assignments(fdef.body):
            target = stmt.targets[0]
            if isinstance(target, gast.Subscript):
                base = target.value.id
                for src in names_in(stmt.value):
                    self.edges.append((base, src))
                continue
            for src in diff_operands(stmt.value, namespace):
                self.edges.append((target.id, src))
        for lst, value, target in list_operations(fdef.body):
            if value is not None:
                self.edges += [(lst, src) for src in names_in(value)]
            else:
                self.edges.append((target.value.id if isinstance(target, gast.Subscript) else target.id, lst))
        self.varied = self._closure(set(wrt), forward=True)
        self.useful = self._closure(set(outputs), forward=False)
        self.active = self.varied & self.useful
        if check_rules:
            self._check_rules(fdef, namespace, filename)

    def _closure(self, seeds, forward):
        found = set(seeds)
        changed = True
        while changed:
            changed = False
            for target, source in self.edges:
                a, b = (source, target) if forward else (target, source)
                if a in found and b not in found:
                    found.add(b)
                    changed = True
        return found

    def _check_rules(self, fdef, namespace, filename):
        for stmt in assignments(fdef.body):
            value = stmt.value
            if isinstance(value, gast.Call) and any(n in self.active for n in names_in(value)):
                kind, fn = call_rule(value, namespace)
                target = stmt.targets[0]
                target_name = target.value.id if isinstance(target, gast.Subscript) else target.id
                if kind == "unknown" and target_name in self.active:
                    label = getattr(fn, "__name__", None) or gast.dump(value.func)
                    raise MissingRuleError(
                        f"no derivative rule for {label!r}", node=value, filename=filename,
                        hint="Use a function from the rule table (docs/rules.md), or give this "
                             "computation a derivative with tp.custom_vjp.")
