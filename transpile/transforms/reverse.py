"""Reverse-mode AD by source transformation: a forward sweep that records what the backward
sweep needs, then the backward sweep, in one generated function.

State is restored, not stored per statement: each assignment to a variable that the backward
sweep reads and that may be overwritten pushes the new value on a typed stack (a list Numba
compiles); the backward sweep pops it after visiting that assignment, so every adjoint sees
the values that held when its statement ran. Loops are reversed by counting iterations;
branches are reversed by their (restored) condition variables.

The generated function is itself in the core form, stacks included (pushes and pops are in-place
writes and reads by index), so a second reverse pass differentiates it: grad(grad(f)).
"""
import copy

import gast
import numpy as np

from .. import gastutil as g
from .. import pytree, rules
from ..analysis.activity import Activity, assignments, bind_args, blocks, call_rule, names_in
from ..analysis.fixed_shapes import fixed_shapes
from ..analysis.kinds import KindInference, kind_of_value, structured, subscript_kind
from ..analysis.names import NamePool, all_names, bind_object, resolve
from ..errors import NotDifferentiableError, TranspileError
from ..ir import IRFunction
from ..pipeline import build_ir, register_transform
from .batch import result_arity
from .recompute import recompute_cheap_values
from .simplify import eliminate_dead_code
from .tape import Stacks, constant_trip_count, push_counts, range_arguments, straight_line_stacks
from .templates import flatten, instantiate, simplify_template


def _normalize_argnums(argnums, nparams, where):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for k in nums:
        if not isinstance(k, int) or not -nparams <= k < nparams:
            raise TranspileError(f"argnums={argnums!r} is out of range for a function of "
                                 f"{nparams} positional arguments", filename=where)
    return single, tuple(k % nparams for k in nums)


class Reverse:
    """Builds the adjoint function of one core-form function."""

    def __init__(self, ir, argnums, has_aux, mode):
        self.ir = ir
        self.fdef = copy.deepcopy(ir.fdef)
        self.ns = dict(ir.namespace)
        self.pool = NamePool(all_names(self.fdef), self.ns)
        params = [a.id for a in self.fdef.args.args]
        self.groups = ir.groups
        groups = ir.groups or [(p,) for p in params]
        self.single, self.argnums = _normalize_argnums(argnums, len(groups), ir.filename)
        self.wrt = [leaf for k in self.argnums for leaf in groups[k]]
        self.has_aux = has_aux
        self.mode = mode
        self.adjoints = {}
        self.adjoint_of_name = {}
        self.stacks = Stacks(self.pool, self.helper)
        inference = KindInference(self.fdef, self.ns, ir.kinds)
        self.kinds = inference.kinds
        self.element_kinds = inference.elements   # of names holding tuples
        self.restores = []
        self.loop_stack = []
        self.init_nodes = set()
        self.reset_nodes = set()  # adjoints zeroed again where their variable is reassigned
        self.answers = {}  # y -> the name holding y's new value while y is restored
        self._reserved = False
        self.reassigned = set()
        self.emitted = {}  # id of a statement -> its adjoint statements

    # ----------------------------------------------------------------- naming
    def adj(self, name):
        if name not in self.adjoints:
            self.adjoints[name] = self.pool.fresh("d" + name)
            self.adjoint_of_name[self.adjoints[name]] = name
        return self.adjoints[name]

    def helper(self, name):
        from .. import runtime
        return bind_object(self.ns, self.pool, name, getattr(runtime, name))

    # ----------------------------------------------------------------- entry
    def build(self):
        body = self.fdef.body
        ret = body[-1]
        assert isinstance(ret, gast.Return), "normalize guarantees one final return"
        body = body[:-1]
        out_atom = ret.value
        aux_atom = None
        out_parts = None  # a vjp of a function returning a k-tuple: one output per element
        if self.has_aux:
            body, (out_atom, aux_atom) = self._split_tuple(body, out_atom, 2)
        elif self.mode == "vjp" and result_arity(self.fdef) is not None:
            body, out_parts = self._split_tuple(body, out_atom, result_arity(self.fdef))
        outputs = [a.id for a in (out_parts or [out_atom]) if isinstance(a, gast.Name)]
        self._refuse_list_tapes(body)
        self.tuple_results = self._tuple_results(body)
        self.activity = Activity(gast.FunctionDef(body=body, name="", args=self.fdef.args,
                                                  decorator_list=[], returns=None,
                                                  type_comment=None, type_params=[]),
                                 self.ns, self.wrt, outputs, self.ir.filename)
        self.active = self.activity.active
        self.assign_counts = self._count_assignments(body)
        self.fixed_shapes = fixed_shapes(body, self.ns, self.kinds, self.assign_counts,
                                         {a.id for a in self.fdef.args.args})
        self.scopes = self._scopes(body)

        backward = self.bwd_block(body, scope_key=None)
        needed = self._needed(backward)
        recomputed = recompute_cheap_values(self, body, backward, needed)
        if recomputed:
            needed = self._needed(backward) - recomputed
        # read only for a shape that may change: saved, as a stand-in that fusion need not compute
        self.shape_needed = self._needed(backward, shapes=True) - needed - recomputed
        self._restore_stand_ins()
        backward = self._drop_unneeded_restores(backward, needed)
        self.needed = needed | self.shape_needed
        self.written_bases = {st.targets[0].value.id for st in assignments(body)
                              if isinstance(st.targets[0], gast.Subscript)}
        self._refuse_views_that_see_writes(body)
        forward = self.fwd_block(body, in_loop=False)

        loc = ret
        used = all_names(gast.Module(body=forward + backward, type_ignores=[]))
        first_values = []  # a reassigned parameter's first value is on the tape too
        for param in self.fdef.args.args:
            if self.pushed(param.id):
                first_values += self._push(param.id, loc)
        stmts = self.stacks.creations(used, loc, self._tape_capacities(first_values + forward))
        stmts += first_values + forward
        value_name = None
        if self.mode == "value_and_grad" or aux_atom is not None:
            value_name = self.pool.fresh("value")
            stmts.append(g.assign(value_name, copy.deepcopy(out_atom), loc))
        aux_name = None
        if aux_atom is not None:
            aux_name = self.pool.fresh("aux")
            stmts.append(g.assign(aux_name, copy.deepcopy(aux_atom), loc))
        stmts += self._inits(self.scopes.get(None, []), loc)
        for w in self.wrt:
            if w not in self.scopes.get(None, []):
                stmts += self._inits([w], loc)
        if out_parts is not None:
            for k, part in enumerate(out_parts):
                if isinstance(part, gast.Name) and part.id in self.active:
                    ct = self.pool.fresh(f"cotangent_{k}")
                    stmts.append(g.assign(ct, gast.Subscript(value=g.name(self.ct_param), slice=g.const(k),
                                                             ctx=gast.Load()), loc))
                    d = self.adj(part.id)
                    stmts.append(g.assign(d, gast.BinOp(left=g.name(d), op=gast.Add(), right=g.name(ct)), loc))
        elif outputs and outputs[0] in self.active:
            dout = self.adj(outputs[0])
            if self.mode == "vjp":
                seed = g.name(self.ct_param)
            else:
                seed_name = self.pool.fresh("seed")
                stmts.append(g.assign(seed_name, g.call(self.helper("grad_seed"), [copy.deepcopy(out_atom)]), loc))
                seed = g.name(seed_name)
            stmts.append(g.assign(dout, gast.BinOp(left=g.name(dout), op=gast.Add(), right=seed), loc))
        stmts += backward
        grads = []
        for w in self.wrt:
            grad, cast = self._in_argument_dtype(w, loc)
            grads.append(grad)
            stmts += cast
        stmts += self._return(grads, value_name, aux_name, loc)
        self.fdef.body = self._first_contributions_assign(stmts)
        return self.fdef

    def _tape_capacities(self, forward):
        """The pushes each typed stack receives, where the loops around them run a number of
        times known on entry (`range(n)` with `n` a parameter the function never rebinds): such
        tapes are allocated once, at their full size, instead of growing."""
        stored = {n.id for n in gast.walk(gast.Module(body=forward, type_ignores=[]))
                  if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        fixed = {a.id for a in self.fdef.args.args} - stored

        def known_on_entry(node):
            if isinstance(node, gast.Constant):
                return isinstance(node.value, int) and not isinstance(node.value, bool)
            if isinstance(node, gast.Name):
                value = self.ns.get(node.id)
                return node.id in fixed or (node.id not in stored and isinstance(value, int)
                                            and not isinstance(value, bool))
            if isinstance(node, gast.BinOp):
                return isinstance(node.op, (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv)) \
                    and known_on_entry(node.left) and known_on_entry(node.right)
            return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and known_on_entry(node.operand)

        def trip_count(loop):
            args = range_arguments(loop)
            if args is None or not all(map(known_on_entry, args)):
                return None
            constant = constant_trip_count(loop)
            if constant is not None:
                return constant
            return g.call(self.helper("range_length"), [copy.deepcopy(a) for a in args])

        typed = [stack.name for stack in self.stacks.stacks.values() if stack.typed]
        return push_counts(forward, typed, trip_count)[0]

    def _first_contributions_assign(self, block):
        """`dx = 0.0; ...; dx = dx + c` becomes `...; dx = c` when nothing reads dx in between
        (the zero an initialisation, or a reset where the variable is reassigned).

        Adjoints written in place (`dy[i] = ...`) must own their buffers: they keep their zero
        initialisation, and no other adjoint may start as an alias of them (`dx = dy`, or a
        helper such as unbroadcast that can return its argument) while they may still be
        written: at the function's top level, that is when a later statement writes them.
        """
        module = gast.Module(body=block, type_ignores=[])
        written_in_place = {n.value.id for n in gast.walk(module)
                            if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store)
                            and isinstance(n.value, gast.Name) and n.value.id in self.adjoint_of_name}
        passes_through = {}  # name -> the name whose buffer it may share
        for n in gast.walk(module):
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name):
                value = n.value
                if isinstance(value, gast.Name):
                    passes_through[n.targets[0].id] = value.id
                elif isinstance(value, gast.Call) and value.args and isinstance(value.args[0], gast.Name):
                    passes_through[n.targets[0].id] = value.args[0].id

        def owners(name, depth=0):
            """The adjoints written in place whose buffer `name` may share."""
            found = set()
            while name is not None and depth < 50:
                if name in written_in_place:
                    found.add(name)
                name, depth = passes_through.get(name), depth + 1
            return found

        def written_from(stmts, names):
            return any(isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(n.value, gast.Name)
                       and n.value.id in names for s in stmts for n in gast.walk(s))

        def mentions(stmt, name):
            return any(isinstance(n, gast.Name) and n.id == name for n in gast.walk(stmt))

        def visit(stmts, top):
            out = list(stmts)
            for k, stmt in enumerate(stmts):
                for field in ("body", "orelse"):
                    inner = getattr(stmt, field, None)
                    if inner:
                        setattr(stmt, field, visit(inner, False))
            k = 0
            while k < len(out):
                stmt = out[k]
                if id(stmt) in self.init_nodes or id(stmt) in self.reset_nodes:
                    d = stmt.targets[0].id
                    scalar = (self.kinds.get(self.adjoint_of_name.get(d)) or (None, None))[1] == 0
                    if scalar or d not in written_in_place:
                        for j in range(k + 1, len(out)):
                            later = out[j]
                            if not mentions(later, d):
                                continue
                            value = getattr(later, "value", None)
                            if isinstance(later, gast.Assign) and isinstance(later.targets[0], gast.Name) \
                                    and later.targets[0].id == d and isinstance(value, gast.BinOp) \
                                    and isinstance(value.op, gast.Add) and isinstance(value.left, gast.Name) \
                                    and value.left.id == d and not mentions(value.right, d) \
                                    and (scalar or not shares_a_written_buffer(value.right, out[j:], top)):
                                later.value = value.right
                                del out[k]
                                k -= 1
                            break
                k += 1
            return out

        def shares_a_written_buffer(value, rest, top):
            """May `value` share a buffer written in place later (or anywhere, inside a loop)?"""
            shared = owners(getattr(value, "id", None))
            return bool(shared) and (not top or written_from(rest, shared))

        return visit(block, True)

    def _in_argument_dtype(self, w, loc):
        """The gradient of argument `w` (a name, and the statement casting it): for a float array
        (never rebound, so `w` is the argument here), in its dtype, as JAX gives it; the adjoint
        itself may be wider (adjoint_zero)."""
        kind = self.kinds.get(w)
        stored = any(isinstance(n, gast.Name) and n.id == w and isinstance(n.ctx, gast.Store)
                     for n in gast.walk(self.fdef))
        if stored or not (isinstance(kind, tuple) and kind[0] == "f" and kind[1]):
            return g.name(self.adj(w)), []
        grad = self.pool.fresh(f"grad_{w}")
        return g.name(grad), [g.assign(grad, g.call(self.helper("cast_like"), [g.name(self.adj(w)), g.name(w)]), loc)]

    def _return(self, grads, value_name, aux_name, loc):
        out = []
        if self.mode == "vjp":
            result = gast.Tuple(elts=grads, ctx=gast.Load())
        else:
            flat = self.single and self.groups is None
            result = grads[0] if flat else gast.Tuple(elts=grads, ctx=gast.Load())
            if aux_name is not None:
                tmp = self.pool.fresh("grads")
                out.append(g.assign(tmp, result, loc))
                result = gast.Tuple(elts=[g.name(tmp), g.name(aux_name)], ctx=gast.Load())
            if self.mode == "value_and_grad":
                first = g.name(value_name)
                if aux_name is not None:
                    pair = self.pool.fresh("value_aux")
                    out.append(g.assign(pair, gast.Tuple(elts=[g.name(value_name), g.name(aux_name)],
                                                         ctx=gast.Load()), loc))
                    first = g.name(pair)
                    result = result.elts[0]
                tmp = self.pool.fresh("grads")
                out.append(g.assign(tmp, result, loc))
                result = gast.Tuple(elts=[first, g.name(tmp)], ctx=gast.Load())
        res_name = self.pool.fresh("result")
        out.append(g.assign(res_name, result, loc))
        out.append(g.located(gast.Return(value=g.name(res_name)), loc))
        return out

    def _split_tuple(self, body, out_atom, arity):
        """Name each element of the returned tuple: `r = (a, b)` also sets `out_0 = a; out_1 = b`."""
        message = ("has_aux=True needs the function to return a (value, aux) pair" if self.has_aux
                   else f"the function must return a {arity}-tuple on every path")
        if not isinstance(out_atom, gast.Name):
            raise NotDifferentiableError(message, node=out_atom, filename=self.ir.filename)
        ret = out_atom.id
        parts = [self.pool.fresh(f"out_{k}") for k in range(arity)]
        found = []

        def rewrite(stmts):
            out = []
            for s in stmts:
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                        and s.targets[0].id == ret:
                    if not (isinstance(s.value, gast.Tuple) and len(s.value.elts) == arity):
                        raise NotDifferentiableError(message, node=s, filename=self.ir.filename)
                    for part, elt in zip(parts, s.value.elts):
                        out.append(g.assign(part, copy.deepcopy(elt), s))
                    found.append(s)
                for field in ("body", "orelse"):
                    if getattr(s, field, None):
                        setattr(s, field, rewrite(getattr(s, field)))
                out.append(s)
            return out

        body = rewrite(body)
        if not found:
            raise NotDifferentiableError(message, node=out_atom, filename=self.ir.filename)
        return body, [g.name(p) for p in parts]

    def _refuse_list_tapes(self, body):
        """A previous reverse pass kept values of unknown or array type on a list; its pushes and
        pops have no derivative, so a second pass stops at the user's line that saved them."""
        from .. import runtime
        statements = (n for n in gast.walk(gast.Module(body=body, type_ignores=[]))
                      if isinstance(n, (gast.Assign, gast.Expr)))
        for stmt in statements:
            call = stmt.value
            if not isinstance(call, gast.Call):
                continue
            method = call.func.attr if isinstance(call.func, gast.Attribute) else None
            if method in ("append", "pop") or resolve(call.func, self.ns) in (runtime.tape_restore,
                                                                              runtime.shape_restore):
                raise NotDifferentiableError(
                    "cannot differentiate again through the values that reverse mode saved here: they "
                    "are arrays, or values of unknown type, kept on a list", node=stmt, filename=self.ir.filename,
                    hint="Higher derivatives through loops need the values a loop overwrites to be float, int "
                         "or bool scalars of known type: call with example arguments (tp.show(f, x)), or "
                         "write the loop's state into a preallocated array element by element.")

    def _refuse_views_that_see_writes(self, body):
        """The forward sweep keeps a view of an array written in place as a copy of what it read
        (the backward sweep needs those values). That is NumPy's meaning only while the view sees
        no write: refuse a write through a view, and a read of a view after its array is written."""
        views = {}
        for st in assignments(body):
            target, value = st.targets[0], st.value
            if isinstance(target, gast.Name) and isinstance(value, gast.Subscript) \
                    and isinstance(value.value, gast.Name) and (self.kinds.get(target.id) or (None, 0))[1] != 0:
                views[target.id] = value.value.id
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and target.value.id in views:
                self._refuse_view(st, f"`{target.value.id}` is a view of `{views[target.value.id]}`; this line "
                                      "writes through it")
        for block in blocks(body):
            for k, st in enumerate(block):
                if not (isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name)
                        and views.get(st.targets[0].id) in self.written_bases):
                    continue
                view, base = st.targets[0].id, views[st.targets[0].id]
                written = next((j for j in range(k + 1, len(block)) if _writes(block[j], base)), None)
                if written is None:
                    continue
                for later in block[written:]:
                    if any(isinstance(n, gast.Name) and n.id == view and isinstance(n.ctx, gast.Load)
                           for n in gast.walk(later)):
                        self._refuse_view(later, f"`{view}` is a view of `{base}`, which is written in place "
                                                 "before this line reads the view")
                    if isinstance(later, gast.Assign) and isinstance(later.targets[0], gast.Name) \
                            and later.targets[0].id == view:
                        break

    def _refuse_view(self, node, what):
        raise NotDifferentiableError(
            f"reverse mode cannot follow a write through a view: {what}", node=node, filename=self.ir.filename,
            hint="Copy the slice when you take it (`row = s[1].copy()`) or index the array itself "
                 "where you read or write it (`s[1, 0] = ...`, `np.sum(s[1] * w)`).")

    def _tuple_results(self, body):
        """Names holding a callee's tuple result, read only as `t[k]`: name -> arity."""
        calls, reads, other = {}, {}, set()
        for st in assignments(body):
            target, value = st.targets[0], st.value
            if isinstance(target, gast.Name) and isinstance(value, gast.Call) \
                    and call_rule(value, self.ns)[0] == "callee":
                calls[target.id] = call_rule(value, self.ns)[1]
            for node in gast.walk(value):
                if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                        and isinstance(node.slice, gast.Constant) and isinstance(node.slice.value, int):
                    reads.setdefault(node.value.id, set()).add(node.slice.value)
        for node in gast.walk(gast.Module(body=body, type_ignores=[])):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id in calls:
                other.add(node.id)
        results = {}
        for name, spec in calls.items():
            arity = result_arity(build_ir(spec).fdef)
            if arity is not None and name in reads:
                results[name] = arity
        return results

    def element_adjoint(self, name, k):
        key = f"{name}[{k}]"
        if key not in self.adjoints:
            self.adjoints[key] = self.pool.fresh(f"d{name}_{k}")
            self.adjoint_of_name[self.adjoints[key]] = key
        return self.adjoints[key]

    # ----------------------------------------------------------------- analyses
    def _count_assignments(self, body):
        """Most assignments of each name along any one path (2 for anything inside a loop).

        A name assigned once in each branch of an `if` is assigned once on every path, so it
        needs no tape; parameters count their binding on entry.
        """
        def visit(stmts, in_loop):
            counts = {}
            for s in stmts:
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                    n = s.targets[0].id
                    counts[n] = counts.get(n, 0) + (2 if in_loop else 1)
                elif isinstance(s, gast.If):
                    body, orelse = visit(s.body, in_loop), visit(s.orelse, in_loop)
                    for n in set(body) | set(orelse):
                        counts[n] = counts.get(n, 0) + max(body.get(n, 0), orelse.get(n, 0))
                elif isinstance(s, (gast.For, gast.While)):
                    if isinstance(s, gast.For):
                        counts[s.target.id] = counts.get(s.target.id, 0) + 2
                    for n, c in visit(s.body, True).items():
                        counts[n] = counts.get(n, 0) + c
            return counts

        counts = visit(body, False)
        for a in self.fdef.args.args:
            counts[a.id] = counts.get(a.id, 0) + 1
        return counts

    def _scopes(self, body):
        """Block key -> active names whose adjoint is initialised at the start of that block."""
        where = {}

        assigned_at = {a.id: [[]] for a in self.fdef.args.args}  # parameters are bound on entry
        loop_keys = set()

        def visit(stmts, path):
            for s in stmts:
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                    assigned_at.setdefault(s.targets[0].id, []).append(path)
                for n in gast.walk(s) if not isinstance(s, (gast.If, gast.For, gast.While)) else \
                        [s.test] if isinstance(s, (gast.If, gast.While)) else [s.target, s.iter]:
                    if isinstance(n, gast.Name):
                        where.setdefault(n.id, []).append(path)
                if isinstance(s, (gast.For, gast.While)):
                    loop_keys.add((id(s), "body"))
                    visit(s.body, path + [(id(s), "body")])
                elif isinstance(s, gast.If):
                    visit(s.body, path + [(id(s), "body")])
                    visit(s.orelse, path + [(id(s), "orelse")])

        visit(body, [])
        scopes = {}
        for name, paths in where.items():
            if name not in self.active:
                continue
            common = paths[0]
            for p in paths[1:]:
                k = 0
                while k < min(len(common), len(p)) and common[k] == p[k]:
                    k += 1
                common = common[:k]
            if name in [a.id for a in self.fdef.args.args]:
                common = []
            key = common[-1] if common else None
            scopes.setdefault(key, []).append(name)
            paths = assigned_at.get(name, [])
            repeated = len(paths) > 1 or any(k in loop_keys for p in paths for k in p[len(common):])
            if repeated:
                self.reassigned.add(name)
        return scopes

    def _zero_of(self, name):
        """`0.0` for a known float scalar, `adjoint_zero(name)` (at least float64) for a float array,
        else `zero_like(name)`."""
        kind = self.kinds.get(name)
        if kind == ("f", 0):
            return g.const(0.0)
        if isinstance(kind, tuple) and kind[0] == "f" and kind[1]:
            return g.call(self.helper("adjoint_zero"), [g.name(name)])
        return g.call(self.helper("zero_like"), [g.name(name)])

    def _inits(self, names, loc):
        inits = []
        for n in names:
            if n in self.tuple_results:
                for k in range(self.tuple_results[n]):
                    part = self.pool.fresh(f"{n}_{k}")
                    inits.append(g.assign(part, gast.Subscript(value=g.name(n), slice=g.const(k),
                                                               ctx=gast.Load()), loc))
                    inits.append(g.assign(self.element_adjoint(n, k),
                                          g.call(self.helper("zero_like"), [g.name(part)]), loc))
            else:
                inits.append(g.assign(self.adj(n), self._zero_of(n), loc))
        self.init_nodes.update(id(s) for s in inits)
        return inits

    def _needed(self, backward, shapes=False):
        """Names whose values the backward sweep reads; with `shapes`, the names it reads only for
        their shape and whose shape may change between assignments."""
        needed = set()
        restore_nodes = {id(s) for s, _ in self.restores}
        adjoint_names = set(self.adjoints.values())

        def visit(stmts):
            for s in stmts:
                if id(s) in restore_nodes or id(s) in self.init_nodes:
                    continue
                if isinstance(s, gast.If):
                    parts = [s.test]
                elif isinstance(s, gast.For):
                    parts = [s.iter]
                else:
                    parts = [s]
                for part in parts:
                    for n in (self._shape_reads if shapes else self._value_reads)(part):
                        if n not in adjoint_names:
                            needed.add(n)
                for field in ("body", "orelse"):
                    visit(getattr(s, field, []) or [])

        visit(backward)
        return needed

    def _value_reads(self, node):
        """Names whose values (not just shapes) the statement reads."""
        shape_only = self._shape_only_arguments(node)
        return [n.id for n in gast.walk(node) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Load) and id(n) not in shape_only]

    def _shape_reads(self, node):
        """Names the statement reads for their shape whose values may differ in shape
        (analysis/fixed_shapes.py): left stale, a later value's shape could even broadcast silently."""
        shape_only = self._shape_only_arguments(node)
        return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and id(n) in shape_only
                and self.assign_counts.get(n.id, 0) > 1 and n.id not in self.fixed_shapes]

    def _shape_only_arguments(self, node):
        from .. import runtime
        shape_only = set()
        for call in gast.walk(node):
            if isinstance(call, gast.Call) and isinstance(call.func, gast.Name):
                positions = runtime.SHAPE_ONLY_ARGS.get(self.ns.get(call.func.id), ())
                shape_only.update(id(call.args[k]) for k in positions if k < len(call.args))
        return shape_only

    def _restore_stand_ins(self):
        """Restores of names saved only for their shape read the stand-ins as such (shape_restore)."""
        for stmt, (kind, name) in self.restores:
            if kind == "variable" and name in self.shape_needed and isinstance(stmt.value, gast.Call) \
                    and stmt.value.func.id == self.helper("tape_restore"):
                stmt.value.func = g.name(self.helper("shape_restore"))

    def _drop_unneeded_restores(self, stmts, needed):
        def keep(key):
            kind, name = key
            if kind == "element":
                return name in needed
            return (name in needed or name in self.shape_needed) and self.assign_counts.get(name, 0) > 1
        drop = {id(s) for s, key in self.restores if not keep(key)}

        def visit(block):
            out = []
            for s in block:
                if id(s) in drop:
                    continue
                for field in ("body", "orelse"):
                    if getattr(s, field, None):
                        setattr(s, field, visit(getattr(s, field)) or [gast.Pass()])
                out.append(s)
            return out

        return visit(stmts)

    def stack(self, name, kind=None):
        return self.stacks.get(name, kind if kind is not None else self.kinds.get(name))

    def pushed(self, name):
        return name in self.needed and self.assign_counts.get(name, 0) > 1

    def _push(self, name, loc):
        """Push `name`'s value, or for a name read only for its shape a stand-in of that shape."""
        if name not in self.shape_needed:
            return self.stacks.push(self.stack(name), g.name(name), loc, reserved=self._reserved)
        stand_in = self.pool.fresh(name + "_shape")
        return [g.assign(stand_in, g.call(self.helper("shape_stand_in"), [g.name(name)]), loc)] + \
            self.stacks.push(self.stack(name), g.name(stand_in), loc, reserved=self._reserved)

    # ----------------------------------------------------------------- forward sweep
    def fwd_block(self, stmts, in_loop):
        out = []
        for s in stmts:
            out.extend(self.fwd_stmt(s, in_loop))
        return out

    def fwd_stmt(self, s, in_loop):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Subscript):
                base = target.value.id
                if base in self.needed and base not in self.shape_needed:
                    saved = gast.Subscript(value=g.name(base), slice=copy.deepcopy(target.slice),
                                           ctx=gast.Load())
                    stack = self._old_values_stack(target)
                    old = self.pool.fresh("old_" + base)
                    out = [g.assign(old, saved if stack.typed else g.call(self.helper("saved_copy"), [saved]), s)]
                    return out + self.stacks.push(stack, g.name(old), s, reserved=self._reserved) + [s]
                return [s]
            out = [s]
            if target.id in self.needed and target.id not in self.shape_needed and isinstance(s.value, gast.Subscript) \
                    and getattr(s.value.value, "id", None) in self.written_bases \
                    and (self.kinds.get(target.id) or (None, None))[1] != 0:
                # a view of an array written in place later: keep the values this read saw
                view = self.pool.fresh(target.id + "_view")
                out = [g.assign(view, s.value, s), s]
                s.value = g.call(self.helper("saved_copy"), [g.name(view)])
            if self.pushed(target.id):
                out += self._push(target.id, s)
            return out
        if isinstance(s, gast.If):
            s.body = self.fwd_block(s.body, in_loop) or [gast.Pass()]
            s.orelse = self.fwd_block(s.orelse, in_loop)
            return [s]
        if isinstance(s, (gast.For, gast.While)):
            counter = s.tp_counter
            if counter is None:
                s.body = self.fwd_block(s.body, True)
                return [s]
            out = [g.assign(counter, g.const(0), s)]
            if isinstance(s, gast.For):
                out += self._reserve(s)  # counted on the user's statements, before pushes join them
            body = [g.assign(counter, gast.BinOp(left=g.name(counter), op=gast.Add(), right=g.const(1)), s)]
            outer_reserved = self._reserved
            self._reserved = isinstance(s, gast.For)
            body += self.fwd_block(s.body, True)
            self._reserved = outer_reserved
            s.body = body
            out.append(s)
            if in_loop:
                out += self.stacks.push(self.stack(counter, ("i", 0)), g.name(counter), s)
            return out
        return [s]

    def _reserve(self, loop):
        """Room on the typed stacks for every push of a top-level range loop, made once."""
        counts = {}

        def visit(stmts):
            for st in stmts:
                key = None
                if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name) \
                        and self.pushed(st.targets[0].id):
                    key = st.targets[0].id
                elif isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Subscript) \
                        and st.targets[0].value.id in self.needed and st.targets[0].value.id not in self.shape_needed:
                    key = next(k for k, v in self.stacks.stacks.items()
                               if v is self._old_values_stack(st.targets[0]))
                if key is not None:
                    counts[key] = counts.get(key, 0) + 1
                if isinstance(st, gast.If):
                    visit(st.body)
                    visit(st.orelse)

        visit(loop.body)
        if not counts:
            return []
        start, stop, step = loop.iter.args
        trip = self.pool.fresh("trip_count")
        out = [g.assign(trip, g.call(self.helper("range_length"),
                                     [copy.deepcopy(start), copy.deepcopy(stop), copy.deepcopy(step)]), loop)]
        stacks = [(self.stacks.stacks[k], c) for k, c in counts.items() if k in self.stacks.stacks]
        return out + self.stacks.reserve(stacks, g.name(trip), loop)

    def _old_values_stack(self, target):
        """Old values overwritten by `base[index] = ...`: scalars and slices on separate stacks."""
        kind = self._element_kind(target)
        scalar = kind is not None and kind[1] == 0
        return self.stack(f"old_{target.value.id}" + ("" if scalar else "_slices"), kind)

    def _element_kind(self, target):
        """The kind of `base[index]` for an in-place write target."""
        return subscript_kind(self.kinds.get(target.value.id), target.slice,
                              lambda node: self.kinds.get(getattr(node, "id", None)))

    def _restore(self, name, loc):
        stmts = self.stacks.restore(self.stack(name), name, loc)
        self.restores += [(stmt, ("variable", name)) for stmt in stmts]
        return stmts

    # ----------------------------------------------------------------- backward sweep
    def bwd_block(self, stmts, scope_key):
        out = self._inits(self.scopes.get(scope_key, []), stmts[0] if stmts else None) \
            if scope_key is not None else []
        for s in reversed(stmts):
            emitted = self.bwd_stmt(s)
            self.emitted[id(s)] = emitted  # what recompute.py inserts before
            out.extend(emitted)
        return out

    def bwd_stmt(self, s):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Subscript):
                return self.bwd_subscript_write(s)
            return self.bwd_assign(s)
        if isinstance(s, gast.If):
            if len(s.body) == 1 and isinstance(s.body[0], gast.Break):
                return []
            body = self.bwd_block(s.body, (id(s), "body"))
            orelse = self.bwd_block(s.orelse, (id(s), "orelse"))
            if not body and not orelse:
                return []
            return [g.located(gast.If(test=copy.deepcopy(s.test), body=body or [gast.Pass()],
                                      orelse=orelse), s)]
        if isinstance(s, (gast.For, gast.While)):
            return self.bwd_loop(s)
        if isinstance(s, (gast.Pass, gast.Break)):
            return []
        raise TranspileError(f"reverse mode cannot handle {type(s).__name__} statements",
                             node=s, filename=self.ir.filename)

    def bwd_loop(self, s):
        counter = self.pool.fresh("n_iter")
        s.tp_counter = counter
        nested = bool(self.loop_stack)
        self.loop_stack.append(s)
        body = self.bwd_block(s.body, (id(s), "body"))
        self.loop_stack.pop()
        k = self.pool.fresh("k_rev")
        prologue = []
        if isinstance(s, gast.For):
            start, _, step = s.iter.args
            index = g.name(k)
            if not (isinstance(step, gast.Constant) and step.value == 1):
                index = gast.BinOp(left=index, op=gast.Mult(), right=copy.deepcopy(step))
            if not (isinstance(start, gast.Constant) and start.value == 0):
                index = gast.BinOp(left=copy.deepcopy(start), op=gast.Add(), right=index)
            stmts, atom = flatten(index, self.pool, s, hint=s.target.id)
            prologue = stmts + [g.assign(s.target.id, atom, s)]
            rng = g.call("range", [gast.BinOp(left=g.name(counter), op=gast.Sub(), right=g.const(1)),
                                   g.const(-1), g.const(-1)])
            rng_stmts, rng_atom = flatten(rng.args[0], self.pool, s, hint="last")
            rng.args[0] = rng_atom
        else:
            rng = g.call("range", [g.const(0), g.name(counter), g.const(1)])
            rng_stmts = []
        if not body:
            s.tp_counter = None
            return []
        loop = g.located(gast.For(target=g.name(k, store=True), iter=rng,
                                  body=prologue + body or [gast.Pass()], orelse=[], type_comment=None), s)
        out = []
        if nested:
            out += self.stacks.pop_into(self.stack(counter, ("i", 0)), counter, s)
        return out + rng_stmts + [loop]

    def bwd_assign(self, s):
        y = s.targets[0].id
        if y in self.active and self._passes_through(y, s.value):
            return self._restore(y, s)
        if y in self.active and y in names_in(s.value) \
                and self._accumulated_operand(y, s.value) is None:
            # y = f(y, ...): the adjoint reads the old y, so restore it first; `ans` is the new y
            new = self.pool.fresh(y + "_new")
            self.answers[y] = new
            out = [g.assign(new, g.name(y), s)] + self._restore(y, s) + self.adjoint_of(y, s.value, s)
            del self.answers[y]
            return out
        out = []
        if y in self.active:
            out += self.adjoint_of(y, s.value, s)
        out += self._restore(y, s)
        return out

    def _accumulate(self, name, contribution, loc):
        if name not in self.active:
            return []
        d = self.adj(name)
        return [g.assign(d, gast.BinOp(left=g.name(d), op=gast.Add(), right=contribution), loc)]

    def adjoint_of(self, y, value, loc):
        """Statements adding dy's contribution to the adjoints of the operands of `value`."""
        if y in self.tuple_results:
            return self._tuple_result_adjoint(y, value, loc)
        dy = self.adj(y)
        operands = set(names_in(value))
        out = []
        grad = g.name(dy)
        reset = y in self.reassigned
        accumulated = self._accumulated_operand(y, value)
        if accumulated is not None:
            # y = y + e (or y - e): dy carries over to the old y unchanged; only e gets a share
            other, sign = accumulated
            if other is None:
                return []
            contribution = grad if sign > 0 else gast.UnaryOp(op=gast.USub(), operand=grad)
            stmts, atom = flatten(self._simplify_template(
                g.call(self.helper("unbroadcast"), [contribution, g.name(other)]), y), self.pool, loc,
                hint="ct_" + other)
            return stmts + self._accumulate(other, atom, loc)
        if y in operands:
            saved = self.pool.fresh("g_" + y)
            out.append(g.assign(saved, g.name(dy), loc))
            out.append(self._zero(dy, loc))
            grad, reset = g.name(saved), False
        out += self.contributions(y, value, grad, loc)
        if reset:
            out.append(self._zero(dy, loc))
        return out

    def _tuple_result_adjoint(self, y, value, loc):
        """`t = callee(...)` returning a tuple: its cotangent is the tuple of element adjoints."""
        parts = [self.element_adjoint(y, k) for k in range(self.tuple_results[y])]
        grad = self.pool.fresh("ct_" + y)
        out = [g.assign(grad, gast.Tuple(elts=[g.name(p) for p in parts], ctx=gast.Load()), loc)]
        out += self.contributions(y, value, g.name(grad), loc)
        if y in self.reassigned:
            resets = [g.assign(p, g.call(self.helper("zero_like"), [g.name(p)]), loc) for p in parts]
            self.reset_nodes.update(map(id, resets))
            out += resets
        return out

    def _passes_through(self, y, value):
        """True for `y = f(y, ...)` whose rule hands dy on to the old y unchanged (vjp `g`) and whose
        other arguments are inactive, e.g. `tape = tape_reserve(tape, top)`: dy stays as it is."""
        if not isinstance(value, gast.Call):
            return False
        kind, rule = call_rule(value, self.ns)
        if kind != "rule":
            return False
        bound = bind_args(rule, value)
        passes = False
        for pname, template in zip(rule.signature.parameters, rule.vjp):
            arg = bound.get(pname)
            if isinstance(arg, gast.Name) and arg.id == y:
                if template != "g":
                    return False
                passes = True
            elif template is not None and arg is not None and any(n in self.active for n in names_in(arg)):
                return False
        return passes

    def _accumulated_operand(self, y, value):
        """(other operand, sign) when `value` is `y + e`, `e + y` or `y - e`, else None."""
        if not isinstance(value, gast.BinOp) or not isinstance(value.op, (gast.Add, gast.Sub)):
            return None
        left, right = value.left, value.right
        is_y = [isinstance(n, gast.Name) and n.id == y for n in (left, right)]
        if is_y[0] == is_y[1] or (is_y[1] and isinstance(value.op, gast.Sub)):
            return None
        if self.kinds.get(y) is None or self.kinds.get(y)[1] != 0:
            return None  # only scalars are sure to keep their shape
        other = right if is_y[0] else left
        name = other.id if isinstance(other, gast.Name) and other.id in self.active else None
        return name, (-1 if isinstance(value.op, gast.Sub) else 1)

    def _simplify_template(self, expr, y):
        """Also drops unbroadcasts to a scalar when the statement's result is a scalar."""
        if (self.kinds.get(y) or (None, None))[1] != 0:
            return simplify_template(expr, self.ns)
        return simplify_template(expr, self.ns, lambda x: isinstance(x, gast.Name)
                                 and (self.kinds.get(x.id) or (None, None))[1] == 0)

    def _zero(self, d, loc):
        """The reset of an adjoint where its variable is assigned (the value before starts at zero)."""
        if self.kinds.get(self.adjoint_of_name[d]) == ("f", 0):
            reset = g.assign(d, g.const(0.0), loc)
        else:
            reset = g.assign(d, g.call(self.helper("zero_like"), [g.name(d)]), loc)
        self.reset_nodes.add(id(reset))
        return reset

    def contributions(self, y, value, grad, loc):
        if isinstance(value, gast.Name):
            return self._accumulate(value.id, grad, loc)
        if isinstance(value, gast.Constant):
            return []
        if isinstance(value, gast.BinOp):
            fn = rules.OPERATOR_FUNCTIONS.get(type(value.op))
            return self._rule_contributions(y, fn, rules.lookup(fn) if fn is not None else None,
                                            [value.left, value.right], {}, grad, value, loc)
        if isinstance(value, gast.UnaryOp):
            fn = rules.OPERATOR_FUNCTIONS.get(type(value.op))
            if fn is None:
                return []
            return self._rule_contributions(y, fn, rules.lookup(fn), [value.operand], {}, grad, value, loc)
        if isinstance(value, gast.Subscript):
            base = value.value
            if not isinstance(base, gast.Name) or base.id not in self.active:
                return []
            if base.id in self.tuple_results:
                d = self.element_adjoint(base.id, value.slice.value)
                return [g.assign(d, gast.BinOp(left=g.name(d), op=gast.Add(), right=grad), loc)]
            d = self.adj(base.id)
            index = copy.deepcopy(value.slice)
            current = self.pool.fresh(d + "_part")
            updated = self.pool.fresh(d + "_part")
            return [g.assign(current, gast.Subscript(value=g.name(d), slice=index, ctx=gast.Load()), loc),
                    g.assign(updated, gast.BinOp(left=g.name(current), op=gast.Add(), right=grad), loc),
                    g.assign(gast.Subscript(value=g.name(d), slice=copy.deepcopy(index), ctx=gast.Store()),
                             g.name(updated), loc)]
        if isinstance(value, gast.Call):
            kind, rule = call_rule(value, self.ns)
            if kind == "nondiff":
                return []
            if kind == "callee":
                return self._callee_contributions(y, rule, value, grad, loc)
            if kind == "rule":
                return self._rule_contributions(y, rule.fn, rule, value.args,
                                                {k.arg: k.value for k in value.keywords}, grad, value, loc)
        if isinstance(value, gast.Attribute):
            return []
        raise NotDifferentiableError(f"cannot differentiate {type(value).__name__} expressions here",
                                     node=value, filename=self.ir.filename,
                                     hint="Split the expression, or mark it with tp.stop_gradient.")

    def _rule_contributions(self, y, fn, rule, args, keywords, grad, node, loc):
        if rule is None:
            raise NotDifferentiableError(f"no derivative rule for {getattr(fn, '__name__', fn)!r}",
                                         node=node, filename=self.ir.filename,
                                         hint="Use tp.custom_vjp to give it one.")
        call = gast.Call(func=g.name("_"), args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in keywords.items()])
        bound = bind_args(rule, call)
        bindings = {"g": grad, "ans": g.name(self.answers.get(y, y))}
        for pname, param in rule.signature.parameters.items():
            if pname in bound:
                bindings[pname] = bound[pname]
            elif param.default is not param.empty:
                bindings[pname] = g.const(param.default)
        out = []
        for pname, template in zip(rule.signature.parameters, rule.vjp):
            if template is None or pname not in bound:
                continue
            arg = bound[pname]
            if pname in rule.sequence_params and not isinstance(arg, (gast.Tuple, gast.List)):
                # np.asarray(x) of an array: the cotangent passes through in x's shape
                if isinstance(arg, gast.Name) and arg.id in self.active:
                    stmts, atom = flatten(g.call(self.helper("reshape_as"), [grad, g.name(arg.id)]),
                                          self.pool, loc, hint="ct_" + arg.id)
                    out += stmts + self._accumulate(arg.id, atom, loc)
                continue
            if pname in rule.sequence_params:
                elems = [e for e in arg.elts]
                if not any(isinstance(e, gast.Name) and e.id in self.active for e in elems):
                    continue
                expr = self._simplify_template(instantiate(template, bindings, self.ns, self.pool), y)
                stmts, atom = flatten(expr, self.pool, loc, hint="ct")
                out += stmts
                for k, e in enumerate(elems):
                    if isinstance(e, gast.Name) and e.id in self.active:
                        part = self.pool.fresh("ct_" + e.id)
                        out.append(g.assign(part, gast.Subscript(value=copy.deepcopy(atom), slice=g.const(k),
                                                                 ctx=gast.Load()), loc))
                        out += self._accumulate(e.id, g.name(part), loc)
                continue
            if not (isinstance(arg, gast.Name) and arg.id in self.active):
                continue
            expr = self._simplify_template(instantiate(template, bindings, self.ns, self.pool), y)
            stmts, atom = flatten(expr, self.pool, loc, hint="ct_" + arg.id)
            out += stmts + self._accumulate(arg.id, atom, loc)
        return out

    def _callee_contributions(self, y, spec, call, grad, loc):
        import inspect
        args = list(call.args)
        if not spec.chain:  # a user function: bind keywords and fill in defaults
            sig = inspect.signature(spec.pyfunc)
            bound = sig.bind(*args, **{k.arg: k.value for k in call.keywords})
            bound.apply_defaults()
            args = [v if isinstance(v, gast.AST) else g.const(v) for v in bound.arguments.values()]
        positions = tuple(k for k, a in enumerate(args) if isinstance(a, gast.Name) and a.id in self.active)
        if not positions:
            return []
        vjp_spec = spec.then("vjp", argnums=positions).with_kinds(self._call_kinds(args, y))
        fname = bind_object(self.ns, self.pool, vjp_spec.label, vjp_spec)
        cts = self.pool.fresh("ct_" + spec.label)
        out = [g.assign(cts, g.call(g.name(fname), [copy.deepcopy(a) for a in args] + [grad]), loc)]
        for j, k in enumerate(positions):
            part = self.pool.fresh("ct_" + args[k].id)
            out.append(g.assign(part, gast.Subscript(value=g.name(cts), slice=g.const(j), ctx=gast.Load()), loc))
            out += self._accumulate(args[k].id, g.name(part), loc)
        return out

    def _call_kinds(self, args, y):
        """Kinds of the arguments of a callee's vjp, its cotangent (shaped as `y`) last: the callee's
        tapes are typed where they are known."""
        kinds = [kind_of_value(a.value) if isinstance(a, gast.Constant) else self.kinds.get(getattr(a, "id", None))
                 for a in args]
        if y in self.tuple_results:
            elements = [_as_float(k) for k in self.element_kinds.get(y, ())]
            out = structured(elements) if elements and None not in elements else None
        else:
            out = _as_float(self.kinds.get(y))
        return tuple(kinds + [out])

    def bwd_subscript_write(self, s):
        target = s.targets[0]
        base = target.value.id
        out = []
        if base in self.active:
            d = self.adj(base)
            index = copy.deepcopy(target.slice)
            if isinstance(s.value, gast.Name) and s.value.id in self.active:
                view = self.pool.fresh(d + "_view")
                part = self.pool.fresh(d + "_part")
                out.append(g.assign(view, gast.Subscript(value=g.name(d), slice=index, ctx=gast.Load()), s))
                # a copy: the slice of the adjoint is zeroed in place just below
                out.append(g.assign(part, g.call(self.helper("saved_copy"), [g.name(view)]), s))
                ct = self.pool.fresh("ct_" + s.value.id)
                out.append(g.assign(ct, g.call(self.helper("unbroadcast"), [g.name(part), g.name(s.value.id)]), s))
                out += self._accumulate(s.value.id, g.name(ct), s)
            out.append(g.assign(gast.Subscript(value=g.name(d), slice=copy.deepcopy(target.slice),
                                               ctx=gast.Store()), g.const(0.0), s))
        stack = self._old_values_stack(target)
        restores = self.stacks.pop_into(stack, gast.Subscript(value=g.name(base), slice=copy.deepcopy(target.slice),
                                                              ctx=gast.Store()), s)
        self.restores += [(r, ("element", base)) for r in restores]
        out += restores
        return out


def _as_float(kind):
    """The kind of a cotangent of a value of `kind` (floats where it holds ints or bools); None if unknown."""
    if not (isinstance(kind, tuple) and len(kind) == 2 and kind[0] in ("b", "i", "f", "c")):
        return None
    return ("f", kind[1]) if kind[0] in "bi" else kind


def _check_float_arguments(args, name, argnums=0, has_aux=False):
    """As in JAX: derivatives are taken only with respect to floating-point inputs."""
    for k in (argnums,) if isinstance(argnums, int) else argnums:
        if k >= len(args) or k < -len(args):
            raise TypeError(f"{name}: argnums={argnums!r} but only {len(args)} arguments were given")
        for leaf in pytree.flatten(args[k])[0]:
            dtype = getattr(leaf, "dtype", None)
            if isinstance(leaf, (bool, int, np.integer, np.bool_)) or (
                    dtype is not None and not np.issubdtype(dtype, np.inexact)):
                kind = type(leaf).__name__ if dtype is None else f"an array of {dtype}"
                raise NotDifferentiableError(
                    f"{name}: argument {k} is {kind}; derivatives are defined only for "
                    "floating-point inputs",
                    hint="Pass floats (1.0, x.astype(float)), or leave the argument out of argnums.")


def _rebuild_gradients(grads, treedefs, argnums):
    """Flat leaf gradients -> one structure per differentiated argument."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    leaves = iter(grads)
    out = []
    for k in nums:
        tree = treedefs[k]
        out.append(pytree.unflatten(tree, [next(leaves) for _ in range(pytree.num_leaves(tree))]))
    return out[0] if isinstance(argnums, int) else tuple(out)


def _rebuild_grad(result, treedefs, argnums=0, has_aux=False):
    if has_aux:
        grads, aux = result
        return _rebuild_gradients(grads, treedefs, argnums), aux
    return _rebuild_gradients(result, treedefs, argnums)


def _rebuild_value_and_grad(result, treedefs, argnums=0, has_aux=False):
    value, grads = result
    return value, _rebuild_gradients(grads, treedefs, argnums)


def _writes(stmt, base):
    """Does `stmt` (or a statement nested in it) write `base[...]` in place?"""
    return any(isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Subscript)
               and isinstance(n.targets[0].value, gast.Name) and n.targets[0].value.id == base
               for n in gast.walk(stmt))


def _make(mode):
    def transform(ir, argnums=0, has_aux=False):
        rev = Reverse(ir, argnums, has_aux, mode)
        if mode == "vjp":
            rev.ct_param = rev.pool.fresh("cotangent")
        fdef = rev.build()
        restore = rev.helper("tape_restore")
        lists = [stack.name for stack in rev.stacks.stacks.values() if not stack.typed]
        impure = {restore, rev.helper("shape_restore")}
        fdef = eliminate_dead_code(straight_line_stacks(fdef, lists, restore, rev.pool), impure=impure)
        suffix = {"grad": "grad", "value_and_grad": "value_and_grad", "vjp": "vjp"}[mode]
        fdef.name = f"{ir.fdef.name}_{suffix}"
        if mode == "vjp":
            fdef.args.args = fdef.args.args + [g.name(rev.ct_param)]
            for a in fdef.args.args:
                a.ctx = gast.Param()
        out = IRFunction(fdef=fdef, namespace=rev.ns, filename=ir.filename, spec=ir.spec)
        out.groups = ir.groups
        return out
    return transform


register_transform("grad", _check_float_arguments, _rebuild_grad)(_make("grad"))
register_transform("value_and_grad", _check_float_arguments, _rebuild_value_and_grad)(
    _make("value_and_grad"))
register_transform("vjp", _check_float_arguments,
                   inner_kinds=lambda kinds, **options: kinds[:-1])(_make("vjp"))
