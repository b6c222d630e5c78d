"""The statements that push to and pop from reverse mode's stacks.

A variable known to be a float, int or bool scalar gets a typed array stack with a top index
(Numba compiles pushes and pops to a store and a load); anything else gets a list.

Typed stacks are used only through core-form statements (`tape = tape_reserve(tape, top)`,
`tape[top] = value`, `value = tape[top]`), so reverse mode can differentiate its own output:
to a second pass a stack is an array written in place and read by index.
"""
import copy

import gast

from .. import gastutil as g

_SAMPLES = {"f": 0.0, "i": 0, "b": False}


class Stack:
    def __init__(self, name, top, letter):
        self.name = name
        self.top = top          # None for list stacks
        self.letter = letter

    @property
    def typed(self):
        return self.top is not None


class Stacks:
    """Creates stacks on demand and writes the code that uses them."""

    def __init__(self, pool, helper):
        self.pool = pool
        self.helper = helper
        self.stacks = {}

    def get(self, key, kind):
        if key not in self.stacks:
            base = "tape_" + key.lstrip("_")
            letter = kind[0] if kind is not None and kind[1] == 0 and kind[0] in _SAMPLES else None
            top = self.pool.fresh("top_" + key.lstrip("_")) if letter else None
            self.stacks[key] = Stack(self.pool.fresh(base), top, letter)
        return self.stacks[key]

    def push(self, stack, value, loc, reserved=False):
        """Push the atom `value`; `reserved` says room was made before the enclosing loop."""
        if not stack.typed:
            return [g.expr_stmt(g.call(gast.Attribute(value=g.name(stack.name), attr="append",
                                                      ctx=gast.Load()), [value]), loc)]
        out = [g.assign(stack.top, gast.BinOp(left=g.name(stack.top), op=gast.Add(), right=g.const(1)), loc)]
        if not reserved:
            out.append(g.assign(stack.name, g.call(self.helper("tape_reserve"),
                                                   [g.name(stack.name), g.name(stack.top)]), loc))
        store = gast.Subscript(value=g.name(stack.name), slice=g.name(stack.top), ctx=gast.Store())
        return out + [g.assign(store, value, loc)]

    def pop_into(self, stack, target, loc):
        """`target = <popped value>`; target is a name or a subscript node (written from a
        temporary: an in-place write takes an atom)."""
        if not stack.typed:
            return [g.assign(target, g.call(gast.Attribute(value=g.name(stack.name), attr="pop",
                                                           ctx=gast.Load())), loc)]
        if not isinstance(target, gast.Subscript):
            return [g.assign(target, self._top_value(stack), loc), self._decrement(stack, loc)]
        popped = self.pool.fresh("old_" + target.value.id)
        return [g.assign(popped, self._top_value(stack), loc), self._decrement(stack, loc),
                g.assign(target, g.name(popped), loc)]

    def restore(self, stack, name, loc):
        """Drop the latest value of `name`; `name` takes the one pushed before it.

        When the first value is dropped the top index reaches -1 and `name` reads a stale slot;
        nothing reads `name` after its first assignment is undone, so that value is never used.
        """
        if not stack.typed:
            return [g.assign(name, g.call(self.helper("tape_restore"),
                                          [g.name(stack.name), g.name(name)]), loc)]
        return [self._decrement(stack, loc), g.assign(name, self._top_value(stack), loc)]

    @staticmethod
    def _top_value(stack):
        return gast.Subscript(value=g.name(stack.name), slice=g.name(stack.top), ctx=gast.Load())

    def _decrement(self, stack, loc):
        return g.assign(stack.top, gast.BinOp(left=g.name(stack.top), op=gast.Sub(), right=g.const(1)), loc)

    def reserve(self, stacks_and_counts, trip, loc):
        """Grow typed stacks once before a loop whose trip count is known."""
        out = []
        for stack, count in stacks_and_counts:
            if not stack.typed:
                continue
            room = self.pool.fresh("room_" + stack.name)
            size = self.pool.fresh("size_" + stack.name)
            room_expr = trip if count == 1 else gast.BinOp(left=trip, op=gast.Mult(), right=g.const(count))
            out += [g.assign(room, room_expr, loc),
                    g.assign(size, gast.BinOp(left=g.name(stack.top), op=gast.Add(), right=g.name(room)), loc),
                    g.assign(stack.name, g.call(self.helper("tape_reserve"),
                                                [g.name(stack.name), g.name(size)]), loc)]
        return out

    def creations(self, used, loc, capacities=None):
        """Statements creating the stacks that the generated code uses, typed ones with room for
        `capacities[name]` pushes where that count (an int or an expression) is known."""
        capacities = capacities or {}
        out = []
        for stack in self.stacks.values():
            if stack.name not in used:
                continue
            if stack.typed:
                args = [g.const(_SAMPLES[stack.letter])]
                capacity = capacities.get(stack.name)
                if capacity is not None:
                    args.append(g.const(capacity) if isinstance(capacity, int) else capacity)
                out.append(g.assign(stack.name, g.call(self.helper("new_tape"), args), loc))
                out.append(g.assign(stack.top, g.const(-1), loc))
            else:
                out.append(g.assign(stack.name, gast.List(elts=[], ctx=gast.Load()), loc))
        return out


def straight_line_stacks(fdef, stacks, restore, pool):
    """List stacks that only the function's top-level statements use become plain variables:
    each push binds a fresh name and each pop reads the name its push bound (the order of
    straight-line code is known when the function is written), so no list is allocated.

    `stacks` are the list stacks' names, `restore` the name bound to tape_restore.
    """
    uses = {}
    for stmt in fdef.body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and node.id in stacks:
                uses.setdefault(node.id, []).append(stmt)
    local = {name for name, stmts in uses.items() if all(_stack_operation(stmt, name, restore) for stmt in stmts)}
    if not local:
        return fdef
    held = {name: [] for name in local}   # per stack, the names holding its values, oldest first
    body = []
    for stmt in fdef.body:
        found = next((name for name in local if _stack_operation(stmt, name, restore)), None)
        if found is None:
            body.append(stmt)
            continue
        op, value = _stack_operation(stmt, found, restore)
        if op == "push":
            saved = pool.fresh("saved_" + (value.id if isinstance(value, gast.Name) else found))
            held[found].append(saved)
            body.append(gast.copy_location(g.assign(saved, value), stmt))
        elif op == "pop":
            body.append(gast.copy_location(g.assign(value, g.name(held[found].pop())), stmt))
        elif op == "restore":
            held[found].pop()
            if held[found]:
                body.append(gast.copy_location(g.assign(value, g.name(held[found][-1])), stmt))
    fdef.body = body
    return fdef


def _stack_operation(stmt, stack, restore):
    """("create", None), ("push", value), ("pop", target) or ("restore", target) when `stmt` is
    that use of the list `stack`; None otherwise."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        call = stmt.value
        if isinstance(call.func, gast.Attribute) and call.func.attr == "append" and len(call.args) == 1 \
                and isinstance(call.func.value, gast.Name) and call.func.value.id == stack:
            return "push", call.args[0]
        return None
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
        return None
    target, value = stmt.targets[0], stmt.value
    if target.id == stack:
        return ("create", None) if isinstance(value, gast.List) and not value.elts else None
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and value.func.attr == "pop" \
            and not value.args and isinstance(value.func.value, gast.Name) and value.func.value.id == stack:
        return "pop", target.id
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and value.func.id == restore \
            and len(value.args) == 2 and isinstance(value.args[0], gast.Name) and value.args[0].id == stack \
            and isinstance(value.args[1], gast.Name) and value.args[1].id == target.id:
        return "restore", target.id
    return None


def push_counts(block, tapes, trip_count):
    """How many pushes each tape in `tapes` can receive while `block` runs, and the outermost loop
    around a push whose trip count is unknown (None if there is none).

    A push is an in-place write `tape[top] = value`; both branches of an `if` count, so the count
    is a bound. `trip_count(loop)` gives a loop's iterations as an int, an expression, or None;
    counts are ints where every trip count is, expressions otherwise, and None for a tape pushed
    inside a loop of unknown trip count.
    """
    counts = dict.fromkeys(tapes, 0)
    unbounded = []

    def visit(stmts, multiplicity, culprit):
        for stmt in stmts:
            target = stmt.targets[0] if isinstance(stmt, gast.Assign) else None
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) \
                    and target.value.id in counts:
                name = target.value.id
                if culprit is not None:
                    counts[name] = None
                    if culprit not in unbounded:
                        unbounded.append(culprit)
                elif counts[name] is not None:
                    counts[name] = _plus(counts[name], multiplicity)
            if isinstance(stmt, (gast.For, gast.While)):
                trips = None if culprit is not None else trip_count(stmt)
                inner_culprit = culprit if culprit is not None else (stmt if trips is None else None)
                visit(stmt.body, None if inner_culprit is not None else _times(multiplicity, trips), inner_culprit)
            elif isinstance(stmt, gast.If):
                visit(stmt.body, multiplicity, culprit)
                visit(stmt.orelse, multiplicity, culprit)

    visit(block, 1, None)
    return counts, (unbounded[0] if unbounded else None)


def range_arguments(loop):
    """The (start, stop, step) nodes of `for ... in range(start, stop, step)` (core form), or None."""
    call = loop.iter if isinstance(loop, gast.For) else None
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and call.func.id == "range" \
            and len(call.args) == 3 and not call.keywords:
        return call.args
    return None


def constant_trip_count(loop):
    """The number of iterations of `for ... in range(a, b, c)` with constant bounds, or None."""
    args = range_arguments(loop)
    if args is None or not all(isinstance(a, gast.Constant) and type(a.value) is int for a in args):
        return None
    return len(range(*(a.value for a in args)))


def _plus(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return b if a == 0 else gast.BinOp(left=_node(a), op=gast.Add(), right=_node(b))


def _times(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1 or b == 1:
        return b if a == 1 else a
    return gast.BinOp(left=_node(a), op=gast.Mult(), right=_node(b))


def _node(count):
    return g.const(count) if isinstance(count, int) else copy.deepcopy(count)
