"""Fusion: a run of elementwise array statements and its trailing reductions become one loop nest.

NumPy evaluates `np.sum(np.exp(-(x - m) ** 2 / s) * w)` one operation at a time, allocating a
temporary and sweeping memory for each; the fused loop reads x, m and w once and keeps every
intermediate in a scalar. The pass runs on core form after the derivative and batching passes
(gradients are mostly such chains), and only for compiled targets: run as Python, the loop would
be far slower than NumPy.

Ranks come from kind inference, shapes only at run time, so each fused loop is guarded: array
operands must have exactly the loop's extents along their (right-aligned) axes, except axes the
code itself makes length 1 (`np.reshape(m, (n, 1))`, `np.expand_dims`, keepdims=True), which the
loop reads at index 0 and whose cotangents (`unbroadcast` to such an array) it sums along that
axis. Otherwise the original NumPy statements run; they broadcast and raise NumPy's shape errors.
Matmul, shape ops, in-place writes and calls without an elementwise form end a group: they stay
library calls.
"""
import copy
import math
from collections import Counter
from dataclasses import dataclass, field

import gast
import numpy as np

from .. import gastutil as g
from .. import runtime
from ..analysis.kinds import SHAPE, infer
from ..analysis.names import NamePool, all_names, bind_object, resolve
from .accumulate import accumulate_in_place
from .rematerialize import operations, rematerialize

# ufuncs with a scalar form under Numba, by the dtype letter of their array operands' result
_ARITHMETIC_UFUNCS = {
    np.negative, np.positive, np.abs, np.absolute, np.fabs, np.sqrt, np.cbrt, np.square, np.exp,
    np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p, np.sin, np.cos, np.tan, np.arcsin,
    np.arccos, np.arctan, np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh,
    np.reciprocal, np.sign, np.floor, np.ceil, np.add, np.subtract, np.multiply, np.divide,
    np.power, np.maximum, np.minimum, np.fmax, np.fmin, np.arctan2, np.hypot, np.logaddexp,
    np.logaddexp2,
}
_PREDICATE_UFUNCS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                     np.isnan, np.isinf, np.isfinite}
_LOGICAL_UFUNCS = {np.logical_and, np.logical_or, np.logical_not}
_ARITHMETIC_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_COMPARISONS = (gast.Lt, gast.LtE, gast.Gt, gast.GtE, gast.Eq, gast.NotEq)

_REDUCTIONS = {np.sum: "sum", np.mean: "mean", np.prod: "prod", np.max: "max", np.amax: "max",
               np.min: "min", np.amin: "min"}
_KEEPDIMS_REDUCTIONS = {runtime.reduce_sum, runtime.reduce_mean, runtime.reduce_max, runtime.reduce_min,
                        runtime.reduce_prod}
# matrix-vector products whose rows a rank-1 loop computes one at a time (runtime.row_dot)
_MATRIX_VECTOR = {np.dot, np.matmul, runtime.matmul, runtime.matmul_rows_parallel}
_ROW_SCALERS = {runtime.scale_rows, runtime.scale_rows_parallel}
_IDENTITY = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf}


@dataclass
class LoopNest:
    """A fused group's loops before they are written out: `body` runs once per element of the
    index space `index` (loop variables) over `extents` (names of the sizes); `row_init` and
    `post_row` run around the innermost loop, `pre` and `post` before and after the nest."""

    index: list
    extents: list
    pre: list
    row_init: list
    body: list
    post_row: list
    post: list
    reductions: list


@dataclass
class Member:
    """One statement of a fused group, in the form the loop body needs."""

    stmt: gast.Assign
    target: str
    role: str                       # "elementwise", "reduction", "copy", "row_dot" or "scaled_rows"
    value: gast.AST = None          # elementwise: the expression, operands still plain names
    source: str = None              # reduction/copy: the name read
    op: str = None                  # reduction: sum, mean, prod, max, min
    axis: int = None                # reduction: None (all axes) or the reduced axis
    broadcast: tuple = None         # sum_vjp/mean_vjp: (cotangent, shape-giving array, axis, mean?);
                                    # unbroadcast: (None, the array whose shape the result takes, ...)
    keeps_shape_of: str = None      # reduction: the array with a unit axis whose shape the sum takes
    rank: int = None                # rank of the loop it needs
    letter: str = "f"               # dtype letter of its result: 'f' or 'b'
    deps: frozenset = field(default_factory=frozenset)  # float array operands it derives from
    operands: tuple = None          # row_dot: (matrix, vector); scaled_rows: (scales, matrix)


class Fuser:
    """Finds and rewrites the fusible groups of one function.

    The CUDA target's subclass (fuse_kernels.py) keeps the grouping and the loop body and
    replaces the hooks below: which groups form, what becomes of the loop nest (a kernel and
    its launch instead of loops), of the NumPy fallback, and of statements left out of groups.
    """

    min_members = 2                 # array operations (not copies) that make a group worth a loop
    shares_shape_carriers = True    # a result read only for its shape may be an operand (store)
    group_starts = ("elementwise", "row_dot")  # roles of a group's first member
    fuses_rows = True               # rank-1 loops take matrix rows: `a @ v` and scale_rows(v, a)
    reads_unit_axes = True          # arrays with literal length-1 axes join groups (read at index 0)

    def __init__(self, fdef, namespace, param_kinds, parallel):
        self.fdef = fdef
        self.ns = namespace
        self.kinds = infer(fdef, namespace, param_kinds)
        self.pool = NamePool(all_names(fdef), namespace)
        self.parallel = parallel
        self.reads = _read_counts(fdef)
        self.value_reads = _value_read_counts(fdef, namespace)
        self.value_reads_in = lambda node: _value_read_counts(node, namespace)
        self.unit_axes = _unit_axes(fdef, namespace, self.kinds) if self.reads_unit_axes else {}
        self.fused = 0

    # --------------------------------------------------------------- kinds of operands
    def rank(self, node):
        """Rank of a leaf operand (0 for constants), or None when unknown or not numeric."""
        if isinstance(node, gast.Constant):
            return 0 if isinstance(node.value, (bool, int, float)) else None
        if isinstance(node, gast.Name):
            kind = self.kinds.get(node.id)
            if kind is None and node.id in self.ns:
                value = self.ns[node.id]
                return 0 if isinstance(value, (bool, int, float)) and not isinstance(value, type) else None
            if not isinstance(kind, tuple) or kind[1] is None or kind[0] not in ("b", "i", "f"):
                return None
            return kind[1]
        return None

    def letter(self, name):
        kind = self.kinds.get(name)
        return kind[0] if isinstance(kind, tuple) else None

    # --------------------------------------------------------------- recognizing members
    def elementwise(self, node, want):
        """Is `node` an elementwise expression over leaves whose arrays have letters `want`?"""
        if isinstance(node, (gast.Name, gast.Constant)):
            r = self.rank(node)
            return r is not None and (r == 0 or self.letter(node.id) in want)
        if isinstance(node, gast.BinOp):
            return isinstance(node.op, _ARITHMETIC_OPS) and \
                self.elementwise(node.left, "f") and self.elementwise(node.right, "f")
        if isinstance(node, gast.UnaryOp):
            return isinstance(node.op, (gast.USub, gast.UAdd)) and self.elementwise(node.operand, "f")
        if isinstance(node, gast.Compare):
            return len(node.ops) == 1 and isinstance(node.ops[0], _COMPARISONS) and \
                self.elementwise(node.left, "f") and self.elementwise(node.comparators[0], "f")
        if isinstance(node, gast.Call) and not node.keywords:
            fn = resolve(node.func, self.ns)
            if fn is runtime.erf_elementwise:
                return len(node.args) == 1 and self.elementwise(node.args[0], "f")
            if fn in _ARITHMETIC_UFUNCS or fn in _PREDICATE_UFUNCS:
                return len(node.args) == fn.nin and all(self.elementwise(a, "f") for a in node.args)
            if fn in _LOGICAL_UFUNCS:
                return len(node.args) == fn.nin and all(self.elementwise(a, "bf") for a in node.args)
            if fn in (np.where, runtime.select) and len(node.args) == 3:
                return self.elementwise(node.args[0], "bf") and \
                    all(self.elementwise(a, "f") for a in node.args[1:])
        return False

    def member(self, stmt, rank):
        """The Member for `stmt` if it can join a group of loop rank `rank` (None: any rank)."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            return None
        target, value = stmt.targets[0].id, stmt.value
        if self.fuses_rows and rank in (None, 1):
            rows = self.row_member(stmt, target)
            if rows is not None:
                return rows
        if isinstance(value, gast.Call):
            special = self.special_member(stmt, target, rank)
            if special is not None:
                return special
        kind = self.kinds.get(target)
        if not isinstance(kind, tuple) or kind[1] is None:
            return None
        leaves = [n for n in gast.walk(value) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]
        if kind[0] not in "fb" or kind[1] < 1 or (rank is not None and kind[1] != rank):
            return None
        if isinstance(value, gast.Name):
            if self.rank(value) != kind[1]:
                return None
            return Member(stmt, target, "copy", source=value.id, rank=kind[1], letter=kind[0])
        if not self.elementwise(value, "f"):
            return None
        if not any(self.rank(n) for n in leaves):
            return None
        return Member(stmt, target, "elementwise", value=value, rank=kind[1], letter=kind[0])

    def row_member(self, stmt, target):
        """`a @ v` (a matrix by a vector), whose element i a rank-1 loop computes from row i of `a`;
        or scale_rows(v, a), whose row i it writes beside v's element i (vmap's per-example
        gradients of `x @ w`): either way row i is read while it is in cache, not in a pass of its own."""
        value = stmt.value
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult):
            role, operands = "row_dot", (value.left, value.right)
        elif isinstance(value, gast.Call) and not value.keywords and len(value.args) == 2:
            fn = resolve(value.func, self.ns)
            role = "row_dot" if fn in _MATRIX_VECTOR else "scaled_rows" if fn in _ROW_SCALERS else None
            operands = tuple(value.args)
        else:
            return None
        if role is None or not all(isinstance(a, gast.Name) and self.letter(a.id) == "f" for a in operands):
            return None
        ranks = tuple(self.rank(a) for a in operands)
        if ranks != ((2, 1) if role == "row_dot" else (1, 2)):
            return None
        return Member(stmt, target, role, rank=1, operands=tuple(a.id for a in operands))

    def special_member(self, stmt, target, rank):
        """Reductions, and the runtime helpers of gradients that act elementwise."""
        call = stmt.value
        fn = resolve(call.func, self.ns)
        keywords = {k.arg: k.value for k in call.keywords}
        if fn in _REDUCTIONS and len(call.args) <= 2 and set(keywords) <= {"axis", "keepdims"}:
            axis = call.args[1] if len(call.args) == 2 else keywords.get("axis", g.const(None))
            keepdims = keywords.get("keepdims", g.const(False))
            source = call.args[0]
            if not (isinstance(axis, gast.Constant) and isinstance(keepdims, gast.Constant)
                    and keepdims.value is False and isinstance(source, gast.Name)):
                return None
            r = self.rank(source)
            if not r or self.letter(source.id) != "f" or (rank is not None and r != rank):
                return None
            axis = _normalize_axis(axis.value, r)
            if axis == _UNSUPPORTED:
                return None
            return Member(stmt, target, "reduction", source=source.id, op=_REDUCTIONS[fn], axis=axis, rank=r)
        if fn is runtime.unbroadcast and len(call.args) == 2 and all(isinstance(a, gast.Name) for a in call.args):
            v, x = call.args
            rv, rx = self.rank(v), self.rank(x)
            if not rv or self.letter(v.id) != "f" or (rank is not None and rv != rank):
                return None
            units = self.unit_axes.get(x.id, ())
            if rx == rv and len(units) == 1:  # summed along the axis that x has of length 1
                return Member(stmt, target, "reduction", source=v.id, op="sum",
                              axis=_normalize_axis(next(iter(units)), rv), rank=rv, keeps_shape_of=x.id)
            if rx == rv and not units:  # the identity where x has the loop's extents (guarded)
                return Member(stmt, target, "copy", source=v.id, rank=rv, broadcast=(None, x.id, None, False))
            if rx == 0:
                return Member(stmt, target, "reduction", source=v.id, op="sum", axis=None, rank=rv)
            if rx == rv - 1 and rv > 1:  # a row operand's cotangent: the sum over the leading axis
                return Member(stmt, target, "reduction", source=v.id, op="sum", axis=0, rank=rv,
                              broadcast=(None, x.id, None, False))
            return None
        if fn in (runtime.sum_vjp, runtime.mean_vjp) and len(call.args) == 4:
            v, x, axis, keepdims = call.args
            if not (isinstance(v, gast.Name) and isinstance(x, gast.Name) and isinstance(axis, gast.Constant)
                    and isinstance(keepdims, gast.Constant) and keepdims.value is False):
                return None
            r = self.rank(x)
            if not r or self.letter(x.id) != "f" or (rank is not None and r != rank):
                return None
            axis = _normalize_axis(axis.value, r)
            expected = 0 if axis is None else r - 1
            if axis == _UNSUPPORTED or self.rank(v) != expected or (expected and self.letter(v.id) != "f"):
                return None
            return Member(stmt, target, "elementwise", value=None, rank=r,
                          broadcast=(v.id, x.id, axis, fn is runtime.mean_vjp))
        return None

    def hoistable(self, stmt):
        """A pure scalar statement that may move before the loop."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            return False
        kind = self.kinds.get(stmt.targets[0].id)
        if not (isinstance(kind, tuple) and kind[1] == 0):
            return False
        for node in gast.walk(stmt.value):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                fn = self.ns.get(node.id)
                if fn is math or fn is runtime.unbroadcast or fn is runtime.reshape_as:
                    continue
                if self.rank(node) != 0:
                    return False
            elif isinstance(node, gast.Call):
                fn = resolve(node.func, self.ns)
                if not (getattr(fn, "__module__", None) == "math" or fn in (runtime.unbroadcast, runtime.reshape_as)):
                    return False
            elif not isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant, gast.Attribute,
                                       gast.expr_context, gast.operator, gast.unaryop, gast.cmpop)):
                return False
        return True

    # --------------------------------------------------------------- grouping
    def rewrite_block(self, block):
        out = []
        i = 0
        while i < len(block):
            members, hoisted, deferred, end = self.grow(block, i)
            if _unshared_row_dots(members):
                members, hoisted, deferred, end = self.grow(block, i, row_dots=False)
            if members and sum(map(_member_operations, members)) >= self.min_members:
                out.extend(self.emit(members, hoisted, deferred + block[end:]) + deferred)
                i = end
                continue
            stmt = block[i]
            for name in ("body", "orelse"):
                inner = getattr(stmt, name, None)
                if inner and isinstance(inner[0], gast.stmt):
                    setattr(stmt, name, self.rewrite_block(inner))
            out.extend(self.ungrouped(stmt))
            i += 1
        return out

    def ungrouped(self, stmt):
        """A statement left out of every group, as it runs (its nested blocks already rewritten)."""
        return [stmt]

    def joins(self, members, member):
        """May `member` extend the group `members` (already known to fit its rank)?"""
        return True

    def grow(self, block, start, row_dots=True):
        """The longest group starting at block[start]: (members, statements hoisted before it,
        statements deferred after it, end index); with `row_dots` False, `a @ v` ends it."""
        members, hoisted, pending, deferred, waiting = [], [], [], [], []
        rank = None
        defined, reduced, read_by_members = set(), set(), set()
        later = _Deferred()   # what the statements moved after the group bind, read and write
        end = start
        for k in range(start, len(block)):
            stmt = block[k]
            member = self.member(stmt, rank)
            if member is not None and member.role == "row_dot" and not row_dots:
                member = None
            if member is not None:
                reads = _reads(stmt.value)
                if reads & reduced or (not members and (member.role not in self.group_starts
                                                        or self.reference_operand([member], member.rank) is None)) \
                        or not self.joins(members, member) or not later.allows_member(reads, member.target):
                    break
                if member.role == "row_dot" and member.operands[1] in defined:
                    break   # the product needs the whole vector, which the loop computes element by element
                if member.role == "copy" and member.source not in defined:
                    # an alias of an outside array: materializing it would copy; binding the name
                    # before the group costs nothing, when no member so far reads or writes it
                    if members and isinstance(stmt.value, gast.Name) \
                            and member.target not in read_by_members | defined | reduced \
                            and later.allows_hoisting(reads, member.target):
                        pending.append(stmt)
                        continue
                    break
                rank = rank or member.rank
                members.append(member)
                hoisted.extend(pending)
                deferred.extend(waiting)
                pending, waiting = [], []
                read_by_members |= reads
                (reduced if member.role in ("reduction", "scaled_rows") else defined).add(member.target)
                end = k + 1
                continue
            if members and self.hoistable(stmt):
                target = stmt.targets[0].id
                if not (_reads(stmt.value) & (defined | reduced)) and target not in read_by_members \
                        and target not in defined | reduced and later.allows_hoisting(_reads(stmt.value), target):
                    pending.append(stmt)
                    continue
            if members and self.deferrable(stmt, defined | reduced | read_by_members):
                waiting.append(stmt)
                later.add(stmt, self.ns)
                continue
            break
        return members, hoisted, deferred, end

    def deferrable(self, stmt, group_names):
        """A statement that may run after the group: it reads only shapes (`x.shape`, then its
        entries) and scalars, and checks them (a vmapped helper's batch-size checks, inlined); it
        pushes a value (or a stand-in for its shape) on reverse mode's list stack; or it adds a
        result into a slice of an adjoint (`part = d[a:b]`, then `add_into(part, v)`); or it
        restores a saved value or shape stand-in from such a stack (`x = tape_restore(tape_x, x)`,
        which the backward sweep puts between the statements of one forward line). Later members
        must not read what these bind or write, nor rebind what they read (_Deferred)."""
        if _list_push(stmt) is not None or _added_into(stmt, self.ns) is not None:
            return True
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id not in group_names):
            return False
        value = stmt.value
        if isinstance(value, gast.Call) and resolve(value.func, self.ns) in (runtime.shape_stand_in, runtime.shape_restore,
                                                                             runtime.tape_restore):
            return True
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) \
                and value.value.id not in group_names and _view_index(value.slice, self.rank):
            return True
        if isinstance(value, gast.Attribute) and value.attr == "shape" and isinstance(value.value, gast.Name):
            return True
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) \
                and (self.kinds.get(value.value.id) or (None,))[0] == SHAPE:
            return True
        return isinstance(value, gast.Call) and resolve(value.func, self.ns) is runtime.check_batch_size \
            and all(isinstance(a, gast.Constant) or self.rank(a) == 0 for a in value.args)

    # --------------------------------------------------------------- emission
    def emit(self, members, hoisted, after=()):
        """The group's code; `after` are the statements that follow it in its block."""
        self.fused += 1
        rank = members[0].rank
        group_reads = _read_counts_of([m.stmt for m in members])
        defined_before_read = _defined_before_read(members)
        materialized = set()
        for m in members:
            if m.role in ("reduction", "scaled_rows"):
                continue
            outside = self.reads.get(m.target, 0) - group_reads.get(m.target, 0)
            if (outside > 0 or m.target in defined_before_read) and not _rebound_before_read(m.target, after):
                materialized.add(m.target)
        last_def = {m.target: m for m in members}
        value_reads = _read_counts_of([m.stmt for m in members], self.value_reads_in)
        shape_only = {name for name in materialized if name not in defined_before_read
                      and self.value_reads.get(name, 0) == value_reads.get(name, 0)}

        extents = [self.pool.fresh(f"n{k}") for k in range(rank)]
        index = [self.pool.fresh("ijklmn"[k] if k < 6 else f"i{k}") for k in range(rank)]
        ref = self.reference_operand(members, rank)
        carrier = ref if self.rank(g.name(ref)) == rank else None   # not a matrix whose rows the loop walks
        setup = [g.assign(n, _subscript(_attr(ref, "shape"), [g.const(k)])) for k, n in enumerate(extents)]

        guards, deps = [], {}
        scalar_of = {}   # group-defined name -> its scalar in the loop
        body = []        # statements of the innermost loop
        pre, post_row, post = [], [], []   # before the loops / after the innermost / after all
        row_init = []    # at the start of the innermost loop's parent iteration
        outputs = {}     # materialized name -> array written in the loop
        aliases = []

        def read(name_node):
            if isinstance(name_node, gast.Constant):
                return copy.deepcopy(name_node)
            name = name_node.id
            if name in scalar_of:
                return g.name(scalar_of[name])
            r = self.rank(name_node)
            if r == 0:
                return g.name(name)
            units = self.unit_axes.get(name, ())
            self.guard_shape(guards, name, r, extents, ref, units)
            return _subscript(g.name(name), [g.const(0) if k in units else g.name(i)
                                             for k, i in enumerate(index[rank - r:])])

        def dependencies(node):
            out = set()
            for n in gast.walk(node):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                    if n.id in deps:
                        out |= deps[n.id]
                    elif self.rank(n) and self.letter(n.id) == "f":
                        out.add(n.id)
            return frozenset(out)

        for position, m in enumerate(members):
            loc = m.stmt
            if m.role == "reduction":
                if m.broadcast is not None and m.broadcast[1] not in scalar_of:
                    self.guard_shape(guards, m.broadcast[1], rank - 1, extents, ref)
                if m.keeps_shape_of is not None:
                    self.guard_shape(guards, m.keeps_shape_of, rank, extents, ref, self.unit_axes[m.keeps_shape_of])
                deps[m.target] = deps.get(m.source) or dependencies(g.name(m.source))
                self.emit_reduction(m, read(g.name(m.source)), deps[m.target], rank, extents, index, pre, row_init, body,
                                    post_row, post, loc)
                if m.keeps_shape_of is not None:
                    helper = bind_object(self.ns, self.pool, "reshape_as", runtime.reshape_as)
                    post.append(g.assign(m.target, g.call(g.name(helper), [g.name(m.target), g.name(m.keeps_shape_of)])))
                continue
            if m.role == "copy":
                if m.broadcast is not None and m.broadcast[1] not in scalar_of:
                    self.guard_shape(guards, m.broadcast[1], rank, extents, ref)
                scalar_of[m.target] = scalar_of[m.source]
                deps[m.target] = deps[m.source]
                if m.target in materialized and last_def[m.target] is m:
                    rebound = any(later.target == m.source for later in members[position + 1:])
                    if m.source in materialized and not rebound:   # the source's array holds these values
                        aliases.append(g.assign(m.target, g.name(m.source), loc))
                    else:
                        self.store(m, scalar_of[m.source], extents, index, deps, defined_before_read,
                                   outputs, pre, body, carrier if m.target in shape_only else None)
                continue
            if m.role == "scaled_rows":
                self.emit_scaled_rows(m, read(g.name(m.operands[0])), deps, extents, index, ref, guards, pre, body,
                                      post, loc)
                continue
            if m.role == "row_dot":
                matrix, vector = m.operands
                self.guard_shape(guards, matrix, 1, extents, ref)
                guards.append(gast.Compare(left=_subscript(_attr(matrix, "shape"), [g.const(1)]), ops=[gast.Eq()],
                                           comparators=[_subscript(_attr(vector, "shape"), [g.const(0)])]))
                deps[m.target] = frozenset(m.operands)
                helper = bind_object(self.ns, self.pool, "row_dot", runtime.row_dot)
                value = g.call(g.name(helper), [g.name(matrix), g.name(index[0]), g.name(vector)])
            elif m.broadcast is not None:
                v, x, axis, is_mean = m.broadcast
                if x not in scalar_of:
                    self.guard_shape(guards, x, rank, extents, ref)
                if axis is None:
                    value = g.name(v)
                else:
                    kept = [e for k, e in enumerate(extents) if k != axis]
                    guards.extend(_shape_equals(v, kept))
                    value = _subscript(g.name(v), [g.name(i) for k, i in enumerate(index) if k != axis])
                if is_mean:
                    count = _product([extents[k] for k in range(rank) if axis is None or k == axis])
                    value = gast.BinOp(left=value, op=gast.Div(), right=count)
                shaped = deps[x] if x in deps else frozenset({x})
                deps[m.target] = frozenset({v}) if self.letter(v) == "f" and axis is not None else shaped
            else:
                deps[m.target] = dependencies(m.value)
                value = _substitute(m.value, read, self.ns)
            scalar = self.pool.fresh(f"{m.target}_i")
            body.append(g.assign(scalar, value, loc))
            scalar_of[m.target] = scalar
            if m.target in materialized and last_def[m.target] is m:
                self.store(m, scalar, extents, index, deps, defined_before_read, outputs, pre, body,
                           carrier if m.target in shape_only else None)
        for target, array in outputs.items():
            if array != target:
                post.append(g.assign(target, g.name(array)))
        post.extend(aliases)

        body = _without_unread_scalars(body, pre + row_init + post_row + post)
        reductions = [m for m in members if m.role == "reduction"]
        needs_elements = any(m.op in ("max", "min") for m in reductions)
        if needs_elements:
            guards.append(gast.Compare(left=_product(extents), ops=[gast.Gt()], comparators=[g.const(0)]))
        if body or reductions:
            fused = self.fused_code(members, nest=LoopNest(index, extents, pre, row_init, body, post_row, post,
                                                           reductions))
            note = _note(self.note_text(members, guards) + (REASSOCIATED if any(
                m.op in ("sum", "mean", "prod") and (m.axis is None or m.axis == rank - 1) for m in reductions)
                else ""))
        else:   # each value is recomputed where it is read, or read only for its shape: no loop
            fused = pre + post
            note = _note(f"{FUSED_MARK} {len(members)} array statements, each recomputed where it is read"
                         " or read only for its shape: no loop")
            kept = fused + [gast.Expr(value=guard) for guard in guards]   # the guards read the extents too
            setup = [s for s in setup if s.targets[0].id in _reads(gast.Module(body=kept, type_ignores=[]))]
        fallback = self.fallback_code(members, [copy.deepcopy(m.stmt) for m in members]
                                      + self.fallback_casts(members, materialized, deps, rank))
        if not guards:  # every operand is the reference array or a scalar: shapes cannot disagree
            return hoisted + [note] + setup + fused
        return hoisted + [note] + setup + [gast.If(test=_conjunction(guards), body=fused, orelse=fallback)]

    def fused_code(self, members, nest):
        """The statements that compute the group from its loop nest: here, the loops themselves,
        with exp, log and erf in their vectorizable forms (runtime/vector_math.py)."""
        rank = len(nest.index)
        parallel = self.parallel and all(_parallel_reduction(m, rank) for m in nest.reductions)
        body = [_VectorForms(self).visit(stmt) for stmt in nest.body]
        return nest.pre + self.loop_nest(nest.index, nest.extents, nest.row_init, body, nest.post_row,
                                         parallel=parallel) + nest.post

    def fallback_code(self, members, statements):
        """The group's NumPy statements, for shapes the fused code does not cover."""
        return statements

    def note_text(self, members, guards):
        return (f"{FUSED_MARK} {len(members)} array statement{'s' if len(members) > 1 else ''} in one pass over memory"
                + (" (the NumPy statements after `else` run where shapes broadcast)" if guards else ""))

    def store(self, m, scalar, extents, index, deps, defined_before_read, outputs, pre, body, shape_of=None):
        """Write a materialized name's elements into its own array (a new one if its old value flows in).

        A name read later only for its shape (`x.shape`, shape arguments of runtime helpers) is
        not written: `shape_of` names the array giving the loop its extents, and the name gets
        that array itself where the dtypes agree (`shaped_like`), or an array never written.
        """
        target = m.target
        array = target if target not in defined_before_read else self.pool.fresh(f"{target}_new")
        outputs[target] = array
        if shape_of is not None and m.letter == "f" and self.shares_shape_carriers:
            helper = bind_object(self.ns, self.pool, "shaped_like", runtime.shaped_like)
            pre.append(g.assign(array, g.call(g.name(helper), [g.name(shape_of)] + [g.name(d) for d in sorted(deps[target])])))
            return
        pre.append(g.assign(array, self.allocation(extents, m.letter, deps[target])))
        if shape_of is None:
            body.append(gast.Assign(targets=[_subscript(g.name(array), [g.name(i) for i in index], store=True)],
                                    value=g.name(scalar), type_comment=None))

    def reference_operand(self, members, rank):
        """An array operand of full rank read by the first member, with no axis of length 1 by
        construction: it gives the loop's extents (None if the member reads none). A first
        member `a @ v` gives the matrix, whose rows the loop walks."""
        if members[0].role == "row_dot":
            return members[0].operands[0]
        for n in gast.walk(members[0].stmt.value):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and self.rank(n) == rank \
                    and n.id not in self.unit_axes:
                return n.id
        return None

    def emit_scaled_rows(self, m, scale, deps, extents, index, ref, guards, pre, body, post, loc):
        """Row i of scale_rows(v, a) written in iteration i, from v's element i."""
        scales, matrix = m.operands
        self.guard_shape(guards, matrix, 1, extents, ref)
        deps[m.target] = deps.get(scales, frozenset({scales})) | {matrix}
        if not isinstance(scale, gast.Name):   # read once: stores to the rows might alias it as far as LLVM knows
            scalar = self.pool.fresh(f"{scales}_i")
            body.append(g.assign(scalar, scale))
            scale = g.name(scalar)
        array = self.pool.fresh(f"{m.target}_rows")
        width = _subscript(_attr(matrix, "shape"), [g.const(1)])
        helper = bind_object(self.ns, self.pool, "fused_empty", runtime.fused_empty)
        pre.append(g.assign(array, g.call(g.name(helper), [_tuple([g.name(extents[0]), width])]
                                          + [g.name(d) for d in sorted(deps[m.target])])))
        column = self.pool.fresh("j")
        element = [g.name(index[0]), g.name(column)]
        store = g.assign(_subscript(g.name(array), element, store=True),
                         gast.BinOp(left=scale, op=gast.Mult(), right=_subscript(g.name(matrix), element)))
        body.append(g.located(gast.For(target=g.name(column, store=True), iter=g.call(g.name("range"), [copy.deepcopy(width)]),
                                       body=[store], orelse=[], type_comment=None), loc))
        post.append(g.assign(m.target, g.name(array)))

    def guard_shape(self, guards, name, r, extents, ref, units=()):
        if name == ref:
            return
        test = _shape_equals(name, extents[len(extents) - r:], units)
        for t in test:
            if not any(_same(t, existing) for existing in guards):
                guards.append(t)

    def allocation(self, extents, letter, deps):
        shape = _tuple([g.name(e) for e in extents])
        if letter == "b":
            np_name = bind_object(self.ns, self.pool, "np", np)
            return g.call(g.dotted_name(f"{np_name}.empty"),
                          [shape, g.dotted_name(f"{np_name}.bool_")])
        helper = bind_object(self.ns, self.pool, "fused_empty", runtime.fused_empty)
        return g.call(g.name(helper), [shape] + [g.name(d) for d in sorted(deps)])

    def fallback_casts(self, members, materialized, deps, rank):
        """Give the NumPy path's results the fused path's dtypes, so both branches type alike."""
        helper = bind_object(self.ns, self.pool, "fused_cast", runtime.fused_cast)
        out = []
        for m in members:
            if m.target in materialized and m.role != "reduction" and m.letter == "f":
                if any(o.target == m.target for o in members[members.index(m) + 1:]):
                    continue
                if m.role == "copy" and m.source in materialized:
                    continue
                args = [g.name(m.target)] + [g.name(d) for d in sorted(deps[m.target])]
                out.append(g.assign(m.target, g.call(g.name(helper), args)))
            elif m.role == "reduction" and m.axis is not None and rank > 1:
                args = [g.name(m.target)] + [g.name(d) for d in sorted(deps[m.target])]
                out.append(g.assign(m.target, g.call(g.name(helper), args)))
        return out

    def emit_reduction(self, m, element, deps, rank, extents, index, pre, row_init, body, post_row, post, loc):
        identity = g.const(_IDENTITY[m.op])
        if m.axis is None or rank == 1:
            acc = self.pool.fresh(f"{m.target}_acc")
            pre.append(g.assign(acc, identity))
            body.append(g.assign(acc, _combine(m.op, g.name(acc), element, self), loc))
            result = g.name(acc)
            if m.op == "mean":
                result = gast.BinOp(left=result, op=gast.Div(), right=_product(extents))
            post.append(g.assign(m.target, result))
            return
        kept = [e for k, e in enumerate(extents) if k != m.axis]
        array = self.pool.fresh(f"{m.target}_out")
        helper = bind_object(self.ns, self.pool, "fused_empty", runtime.fused_empty)
        pre.append(g.assign(array, g.call(g.name(helper), [_tuple([g.name(e) for e in kept])]
                                          + [g.name(d) for d in sorted(deps)])))
        slot = [g.name(i) for k, i in enumerate(index) if k != m.axis]
        scale = None if m.op != "mean" else g.name(extents[m.axis])
        if m.axis == rank - 1:
            acc = self.pool.fresh(f"{m.target}_acc")
            row_init.append(g.assign(acc, identity))
            body.append(g.assign(acc, _combine(m.op, g.name(acc), element, self), loc))
            value = g.name(acc) if scale is None else gast.BinOp(left=g.name(acc), op=gast.Div(), right=scale)
            post_row.append(gast.Assign(targets=[_subscript(g.name(array), slot, store=True)], value=value,
                                        type_comment=None))
        else:
            pre.append(g.expr_stmt(g.call(gast.Attribute(value=g.name(array), attr="fill", ctx=gast.Load()),
                                          [identity])))
            current = _subscript(g.name(array), slot)
            body.append(gast.Assign(targets=[_subscript(g.name(array), slot, store=True)],
                                    value=_combine(m.op, current, element, self), type_comment=None))
            if scale is not None:
                post.append(g.assign(array, gast.BinOp(left=g.name(array), op=gast.Div(), right=scale)))
        post.append(g.assign(m.target, g.name(array)))

    def loop_nest(self, index, extents, row_init, body, post_row, parallel):
        prange = bind_object(self.ns, self.pool, "prange", runtime.prange) if parallel else None
        inner = body
        for depth in range(len(index) - 1, -1, -1):
            loop_range = g.call(g.name(prange) if (parallel and depth == 0) else g.name("range"),
                                [g.name(extents[depth])])
            loop = gast.For(target=g.name(index[depth], store=True), iter=loop_range, body=inner, orelse=[],
                            type_comment=None)
            if depth == len(index) - 1 and len(index) > 1:
                inner = row_init + [loop] + post_row
            else:
                inner = [loop]
        return inner


class _VectorForms(gast.NodeTransformer):
    """exp, log and erf of an element call runtime/vector_math.py: branch-free arithmetic, so the
    fused loop vectorizes (a libm call would keep it scalar). Only in fused loops: outside a
    vectorized loop the polynomial is slower than libm."""

    _FORMS = {np.exp: "vector_exp", np.log: "vector_log", np.tanh: "vector_tanh", runtime.erf_elementwise: "vector_erf"}

    def __init__(self, fuser):
        self.fuser = fuser

    def visit_Call(self, node):
        self.generic_visit(node)
        helper = self._FORMS.get(resolve(node.func, self.fuser.ns))
        if helper is not None:
            node.func = g.name(bind_object(self.fuser.ns, self.fuser.pool, helper, getattr(runtime, helper)))
        return node


# ------------------------------------------------------------------- small AST helpers
_UNSUPPORTED = -1


def _normalize_axis(axis, rank):
    """The axis in range; None for a full reduction (as is axis 0 of a vector); -1 when unsupported."""
    if axis is None:
        return None
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
        return _UNSUPPORTED
    return None if rank == 1 else axis % rank


def _parallel_reduction(m, rank):
    """Whether a prange over the outer index can carry reduction `m`: one row's accumulator per
    iteration, or a sum or product over a single loop, which Numba's parfors split per thread
    and combine (it recognizes `acc = acc + x` and `acc = acc * x`, not np.maximum)."""
    if rank > 1:
        return m.axis == rank - 1
    return m.op in ("sum", "mean", "prod")


def _combine(op, acc, element, fuser):
    if op in ("sum", "mean"):
        return gast.BinOp(left=acc, op=gast.Add(), right=element)
    if op == "prod":
        return gast.BinOp(left=acc, op=gast.Mult(), right=element)
    np_name = bind_object(fuser.ns, fuser.pool, "np", np)
    return g.call(g.dotted_name(f"{np_name}.{'maximum' if op == 'max' else 'minimum'}"), [acc, element])


def _substitute(expr, read, namespace):
    """`expr` with each operand replaced by its element read; np.where/select become `a if c else b`."""
    if isinstance(expr, (gast.Name, gast.Constant)):
        return read(expr)
    if isinstance(expr, gast.Call):
        fn = resolve(expr.func, namespace)
        args = [_substitute(a, read, namespace) for a in expr.args]
        if fn in (np.where, runtime.select):
            return gast.IfExp(test=args[0], body=args[1], orelse=args[2])
        return gast.Call(func=copy.deepcopy(expr.func), args=args, keywords=[])
    node = copy.copy(expr)
    if isinstance(expr, gast.BinOp):
        node.left, node.right = _substitute(expr.left, read, namespace), _substitute(expr.right, read, namespace)
    elif isinstance(expr, gast.UnaryOp):
        node.operand = _substitute(expr.operand, read, namespace)
    elif isinstance(expr, gast.Compare):
        node.left = _substitute(expr.left, read, namespace)
        node.comparators = [_substitute(c, read, namespace) for c in expr.comparators]
    return node


def _without_unread_scalars(body, around):
    """The loop body less the element computations nothing stores or reads (a result another
    statement recomputes, or one read only for its shape); their calls to exp and tanh would stay."""
    while True:
        reads = _read_counts(gast.Module(body=body + around, type_ignores=[]))
        kept = [s for s in body if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                                        and s.targets[0].id not in reads)]
        if len(kept) == len(body):
            return body
        body = kept


class _Deferred:
    """What the statements a group defers past its later members bind, read and write in place."""

    def __init__(self):
        self.bound, self.read, self.written = set(), set(), set()
        self.views = {}   # a view bound by a deferred statement -> the array it views

    def add(self, stmt, namespace):
        self.read |= _reads(stmt.value)
        if isinstance(stmt, gast.Assign):
            target = stmt.targets[0].id
            self.bound.add(target)
            if isinstance(stmt.value, gast.Subscript):
                self.views[target] = stmt.value.value.id
        part = _added_into(stmt, namespace)
        if part is not None:
            self.written |= {part, self.views.get(part, part)}

    def allows_member(self, reads, target):
        """May a member reading `reads` and binding `target` run before the deferred statements?"""
        return not reads & (self.bound | self.written) and target not in self.read | self.written

    def allows_hoisting(self, reads, target):
        """May a statement move before the group (and so before the deferred statements)?"""
        return not reads & (self.bound | self.written) and target not in self.read | self.bound


def _member_operations(member):
    """The array operations a member performs: one statement may hold several where
    rematerialization has written a recomputed expression into it."""
    if member.role == "copy":
        return 0
    return 1 if member.value is None else max(1, operations(member.value))


def _unshared_row_dots(members):
    """Does the group compute `a @ v` a row at a time without also writing rows of `a` scaled
    (scale_rows)? Then it reads each row of `a` once either way, and BLAS's product before the
    loop is better: the loop over rows, holding a dot product, would not vectorize the rest of the
    chain across rows (exp and log run one element at a time)."""
    scaled = {m.operands[1] for m in members if m.role == "scaled_rows"}
    return any(m.role == "row_dot" and m.operands[0] not in scaled for m in members)


def _added_into(stmt, namespace):
    """The part that `stmt` adds into (`add_into(part, v)`, both names), or None."""
    call = stmt.value if isinstance(stmt, gast.Expr) else None
    if isinstance(call, gast.Call) and resolve(call.func, namespace) is runtime.add_into and len(call.args) == 2 \
            and all(isinstance(a, gast.Name) for a in call.args) and not call.keywords:
        return call.args[0].id
    return None


def _view_index(index, rank):
    """An index made of constants, scalar names and slices of them: `d[a:b]` is a view of d."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    for part in parts:
        bounds = [part.lower, part.upper, part.step] if isinstance(part, gast.Slice) else [part]
        if not all(b is None or isinstance(b, gast.Constant) or isinstance(b, gast.Name) and rank(b) == 0
                   for b in bounds):
            return False
    return True


def _list_push(stmt):
    """The name that `stmt` appends to a list (`stack.append(name)`), or None."""
    call = stmt.value if isinstance(stmt, gast.Expr) else None
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) and call.func.attr == "append" \
            and len(call.args) == 1 and isinstance(call.args[0], gast.Name) and not call.keywords:
        return call.args[0].id
    return None


def _reads(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _read_counts(tree):
    counts = {}
    for n in gast.walk(tree):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _read_counts_of(stmts, count=None):
    counts = {}
    for s in stmts:
        for name, c in (count or _read_counts)(s.value).items():
            counts[name] = counts.get(name, 0) + c
    return counts


def _value_read_counts(tree, namespace):
    """Reads of each name that need its values: not `x.shape`, not a helper's shape-only argument."""
    shape_only = set()
    for node in gast.walk(tree):
        if isinstance(node, gast.Attribute) and node.attr in ("shape", "ndim") and isinstance(node.value, gast.Name):
            shape_only.add(id(node.value))
        elif isinstance(node, gast.Call):
            positions = runtime.SHAPE_ONLY_ARGS.get(resolve(node.func, namespace), ())
            for k in positions:
                if k < len(node.args) and isinstance(node.args[k], gast.Name):
                    shape_only.add(id(node.args[k]))
    counts = {}
    for n in gast.walk(tree):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and id(n) not in shape_only:
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _rebound_before_read(name, stmts):
    """Do `stmts` bind `name` anew (or return) before anything reads it, and before any jump
    could skip the binding? Then the value a group gives `name` is never read."""
    for stmt in stmts:
        if isinstance(stmt, gast.Return):   # the function ends here
            return name not in _reads(stmt)
        if name in _reads(stmt) or any(isinstance(n, (gast.Break, gast.Continue, gast.Return)) for n in gast.walk(stmt)):
            return False
        if isinstance(stmt, gast.Assign) and any(isinstance(t, gast.Name) and t.id == name for t in stmt.targets):
            return True
    return False


def _defined_before_read(members):
    """Names some member reads before the group defines them: their old value flows in."""
    defined, flows_in = set(), set()
    for m in members:
        flows_in |= _reads(m.stmt.value) - defined
        defined.add(m.target)
    return flows_in & defined


def _attr(name, attr):
    return gast.Attribute(value=g.name(name), attr=attr, ctx=gast.Load())


def _subscript(value, parts, store=False):
    index = parts[0] if len(parts) == 1 else gast.Tuple(elts=parts, ctx=gast.Load())
    return gast.Subscript(value=value, slice=index, ctx=gast.Store() if store else gast.Load())


def _tuple(elts):
    return gast.Tuple(elts=elts, ctx=gast.Load())


def _shape_equals(name, extents, units=()):
    """Tests that `name` has the loop's `extents`, or length 1 on its axes `units`."""
    return [gast.Compare(left=_subscript(_attr(name, "shape"), [g.const(k)]), ops=[gast.Eq()],
                         comparators=[g.const(1) if k in units else g.name(e)]) for k, e in enumerate(extents)]


def _unit_axes(fdef, namespace, kinds):
    """Arrays whose code gives them axes of length 1: {name: axes} for names bound once, by
    np.reshape to a tuple with a literal 1, np.expand_dims, or a reduction with keepdims=True."""
    bindings = Counter(n.id for n in gast.walk(fdef) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store))
    found = {}
    for node in gast.walk(fdef):
        if not (isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name)
                and isinstance(node.value, gast.Call) and bindings.get(node.targets[0].id) == 1):
            continue
        kind = kinds.get(node.targets[0].id)
        rank = kind[1] if isinstance(kind, tuple) and isinstance(kind[1], int) else None
        axes = _literal_unit_axes(node.value, namespace, rank) if rank else None
        if axes:
            found[node.targets[0].id] = frozenset(axes)
    return found


def _literal_unit_axes(call, namespace, rank):
    """The axes of length 1 that `call` gives its result of rank `rank`, read from literals."""
    fn = resolve(call.func, namespace)
    keywords = {k.arg: k.value for k in call.keywords}
    args = list(call.args)
    if fn is np.reshape and len(args) == 2 and not keywords and isinstance(args[1], gast.Tuple):
        return {k for k, e in enumerate(args[1].elts) if isinstance(e, gast.Constant) and type(e.value) is int
                and e.value == 1}
    if fn is np.expand_dims and len(args) == 2 and not keywords:
        axis = args[1]
    elif fn in _KEEPDIMS_REDUCTIONS and len(args) == 3 and not keywords:
        axis, keepdims = args[1], args[2]        # the runtime's reduce_*(x, axis, keepdims)
        if not (isinstance(keepdims, gast.Constant) and keepdims.value is True):
            return None
    elif fn in _REDUCTIONS and len(args) == 1 and set(keywords) == {"axis", "keepdims"}:
        axis, keepdims = keywords["axis"], keywords["keepdims"]
        if not (isinstance(keepdims, gast.Constant) and keepdims.value is True):
            return None
    else:
        return None
    elements = axis.elts if isinstance(axis, gast.Tuple) else [axis]
    if not all(isinstance(e, gast.Constant) and type(e.value) is int and -rank <= e.value < rank for e in elements):
        return None
    return {e.value % rank for e in elements}


def _same(a, b):
    return gast.dump(a) == gast.dump(b)


def _product(names):
    if not names:
        return g.const(1)
    node = g.name(names[0])
    for n in names[1:]:
        node = gast.BinOp(left=node, op=gast.Mult(), right=g.name(n))
    return node


def _conjunction(tests):
    return tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.And(), values=tests)


NOTE = "__transpile_note__"
FUSED_MARK = "fused:"  # starts the comment above each fused loop
# ends it where a sum accumulates in a scalar: the CPU backend then lets LLVM reassociate the
# function's float arithmetic (fastmath 'reassoc'), so the accumulation runs in SIMD lanes. The
# order of a sum is unspecified in NumPy too (pairwise summation); results move by rounding only.
REASSOCIATED = "; summed in SIMD lanes (reassociated)"


def _note(text):
    return g.expr_stmt(g.call(g.name(NOTE), [g.const(text)]))


def fuse_loops(fdef, namespace, param_kinds, parallel=False):
    """A copy of `fdef` with its elementwise chains fused (namespace extended with helpers)."""
    if not param_kinds or not any(isinstance(k, tuple) and k[1] for k in param_kinds):
        return fdef, namespace
    fdef = copy.deepcopy(fdef)
    namespace = dict(namespace)
    fuser = Fuser(fdef, namespace, param_kinds, parallel)   # kinds only: add_into binds no new name
    fdef.body = accumulate_in_place(fdef.body, fuser, fuser.pool)
    fdef.body = rematerialize(fdef.body, fuser, [a.id for a in fdef.args.args])
    fuser = Fuser(fdef, namespace, param_kinds, parallel)   # read counts of the rewritten body
    fdef.body = fuser.rewrite_block(fdef.body)
    return fdef, namespace
