"""Reverse mode's list stacks of float arrays become flat float tapes (compiled CPU code).

A list stack keeps a reference to each array pushed; reverse mode copies an array first where a later
in-place write would change it (`saved_copy`). Under Numba each push and restore then costs an
allocation, list growth and reference counting, which for the small arrays of a recurrent loop is
more than the arithmetic. Two kinds of stacks become flat float tapes (runtime/array_tape.py):
- stacks of float arrays whose every push saves a copy made just for it (`v = saved_copy(w)`, then
  `tape.append(v)`): the push copies w onto the tape and v is bound to that copy, so the array is
  copied once, with no list; `v = tape_restore(tape, v)` reads the entry before as a view of the tape.
  A stack of arrays pushed without a copy stays a list: a reference costs less than copying a large
  array.
- stacks of stand-ins saved only for their shape (`shape_stand_in`, `shape_restore`): the tape keeps
  only the shapes.

A tape holds copies where the list held references, so the rewrite is made only where that cannot
differ: no value pushed may be written in place later. A stack is left a list when a pushed or
restored name may share memory (by assignment, view or call) with a name that is written in place,
other than by the loop filling a fused result that `fused_empty` has just allocated. Runs last, on
the lowered function, after differentiation: a second reverse pass never sees these tapes.
"""
import copy

import gast
import numpy as np

from .. import gastutil as g
from .. import runtime
from ..analysis.activity import blocks
from ..analysis.kinds import infer
from ..analysis.names import NamePool, all_names, bind_object, resolve

# calls whose array result is new memory: it shares nothing with the call's arguments
_FRESH = {runtime.saved_copy, runtime.zero_like, runtime.adjoint_zero, runtime.fused_empty, runtime.new_tape}
_READ_ONLY_METHODS = {"copy", "reshape", "ravel", "flatten", "transpose", "swapaxes", "squeeze", "astype", "view",
                      "sum", "mean", "prod", "max", "min", "std", "var", "cumsum", "cumprod", "dot", "item", "all",
                      "any", "argmax", "argmin", "conj", "conjugate", "round", "clip", "nonzero", "tolist", "pop"}


def array_tapes(fdef, namespace, param_kinds):
    """(fdef, namespace) with list stacks of float arrays on flat float tapes."""
    stacks = _list_stacks(fdef, namespace)
    if not stacks:
        return fdef, namespace
    kinds = infer(fdef, namespace, param_kinds)
    shared = _may_share_memory_with_written(fdef, namespace, kinds)
    chosen = {}
    for stack, (names, shapes_only) in stacks.items():
        ranks = {(kinds.get(name) or (None, None))[1] for name in names}
        floats = all((kinds.get(name) or (None,))[0] == "f" for name in names)
        if len(ranks) == 1 and None not in ranks and 0 not in ranks \
                and (shapes_only or floats and not names & shared and _copied_before_each_push(fdef, stack, namespace)):
            chosen[stack] = shapes_only
    if not chosen:
        return fdef, namespace
    namespace = dict(namespace)
    pool = NamePool(all_names(fdef), namespace)
    helpers = {name: bind_object(namespace, pool, name, getattr(runtime, name))
               for name in ("new_tape", "lacks_room", "grown_for", "push_array", "restore_array", "latest_array",
                            "push_shape", "restore_shape")}
    tapes = {stack: _Tape(pool.fresh("top_" + stack.lstrip("_").removeprefix("tape_")), shapes_only)
             for stack, shapes_only in chosen.items()}
    _rewrite(fdef.body, tapes, helpers, namespace)
    return fdef, namespace


class _Tape:
    """A list stack's flat tape: the name of its top index, and whether it keeps only shapes."""

    def __init__(self, top, shapes_only):
        self.top = top
        self.shapes_only = shapes_only


def _list_stacks(fdef, namespace):
    """stack name -> (the names it saves, whether it saves only stand-ins for shapes), for lists
    created at the top level and used only by `stack.append(name)` and `name = tape_restore(stack,
    name)` (or `shape_restore`, in every restore)."""
    created = {stmt.targets[0].id for stmt in fdef.body
               if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
               and isinstance(stmt.value, gast.List) and not stmt.value.elts}
    names = {stack: set() for stack in created}
    value_restores = set()
    uses = {stack: 0 for stack in created}
    understood = {stack: 0 for stack in created}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Name) and node.id in created:
            uses[node.id] += 1
        if isinstance(node, gast.stmt):
            found = _stack_use(node, created, namespace)
            if found is not None:
                stack, name, operation = found
                names[stack].add(name)
                understood[stack] += 1
                if operation == "restore":
                    value_restores.add(stack)
    # each understood use names the stack once; its creation names it once more
    return {stack: (names[stack], stack not in value_restores) for stack in created
            if names[stack] and uses[stack] == understood[stack] + 1}


def _stack_use(stmt, stacks, namespace):
    """(stack, name, "push" | "restore" | "shape_restore") when `stmt` is `stack.append(name)`,
    `name = tape_restore(stack, name)` or `name = shape_restore(stack, name)`."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        call = stmt.value
        if isinstance(call.func, gast.Attribute) and call.func.attr == "append" \
                and isinstance(call.func.value, gast.Name) and call.func.value.id in stacks \
                and len(call.args) == 1 and not call.keywords and isinstance(call.args[0], gast.Name):
            return call.func.value.id, call.args[0].id, "push"
        return None
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
            and isinstance(stmt.value, gast.Call) \
            and resolve(stmt.value.func, namespace) in (runtime.tape_restore, runtime.shape_restore):
        stack, current = stmt.value.args
        if isinstance(stack, gast.Name) and stack.id in stacks and isinstance(current, gast.Name) \
                and current.id == stmt.targets[0].id:
            shapes = resolve(stmt.value.func, namespace) is runtime.shape_restore
            return stack.id, current.id, "shape_restore" if shapes else "restore"
    return None


def _may_share_memory_with_written(fdef, namespace, kinds):
    """Names that may share memory with a name written in place (flow-insensitive; a scalar shares
    nothing)."""
    parent = {}

    def find(name):
        parent.setdefault(name, name)
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def union(a, b):
        parent[find(a)] = find(b)

    written = set()
    for node in gast.walk(fdef):
        if isinstance(node, gast.Assign):
            for target in node.targets:
                for name in _assigned_names(target):
                    if _is_scalar(kinds.get(name)):
                        continue
                    for source in _shared_sources(node.value, namespace):
                        if not _is_scalar(kinds.get(source)):
                            union(name, source)
        if isinstance(node, gast.Call):
            if _is_method(node, "append"):  # a list shares memory with what it holds
                for name in _names_in(node.args[0]) if node.args else []:
                    union(node.func.value.id, name)
                continue
            written.update(_written_by_call(node, namespace))
    written |= _written_in_place(fdef.body, namespace)
    roots = {find(name) for name in written}
    return {name for name in list(parent) if find(name) in roots} | written


def _callee(call, namespace):
    """The function a call resolves to, when it is one these tables can hold (hashable)."""
    fn = resolve(call.func, namespace)
    try:
        hash(fn)
    except TypeError:
        return None
    return fn


def _is_method(call, method):
    return isinstance(call.func, gast.Attribute) and call.func.attr == method and isinstance(call.func.value, gast.Name)


def _written_by_call(call, namespace):
    """Names a call may write into: add_into's and np.copyto's first argument, an `out=` array, and
    the object of any method call on a local variable other than the read-only ones."""
    fn = _callee(call, namespace)
    names = []
    if fn in (runtime.add_into, np.copyto) and call.args:
        names += _base_names(call.args[0])
    for keyword in call.keywords:
        if keyword.arg == "out":
            names += _names_in(keyword.value)
    if isinstance(call.func, gast.Attribute) and fn is None and call.func.attr not in _READ_ONLY_METHODS:
        names += _base_names(call.func.value)
    return names


def _is_scalar(kind):
    return kind is not None and kind[1] == 0


def _assigned_names(target):
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, (gast.Tuple, gast.List)):
        return [name for elt in target.elts for name in _assigned_names(elt)]
    return []


def _shared_sources(value, namespace):
    """The names whose memory `value` may share: none for arithmetic and fresh allocations, nor the
    arguments a runtime helper reads only for their shape or dtype."""
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp, gast.Constant)):
        return []
    if isinstance(value, gast.Call):
        fn = _callee(value, namespace)
        if fn in _FRESH or isinstance(fn, np.ufunc) and not value.keywords:
            return []
        if fn in (runtime.fused_cast, runtime.shaped_like):  # the rest give only their dtypes
            operands = value.args[:1]
        else:
            shape_only = runtime.SHAPE_ONLY_ARGS.get(fn, ())
            operands = [arg for k, arg in enumerate(value.args) if k not in shape_only]
        operands += [k.value for k in value.keywords]
        if isinstance(value.func, gast.Attribute) and fn is None:  # a method: `a.reshape(...)` is a view of a
            operands.append(value.func.value)
        return [name for operand in operands for name in _names_in(operand)]
    return _names_in(value)


def _names_in(node):
    return [inner.id for inner in gast.walk(node) if isinstance(inner, gast.Name)]


def _base_names(node):
    while isinstance(node, (gast.Subscript, gast.Attribute)):
        node = node.value
    return [node.id] if isinstance(node, gast.Name) else []


def _written_in_place(stmts, namespace, filling=frozenset()):
    """Names written by subscript in `stmts`, except the fill of a fused result: a loop of plain
    assignments after `name = fused_empty(...)` writes into new memory that nothing has saved yet."""
    written, filling = set(), set(filling)
    for stmt in stmts:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
            if isinstance(stmt.value, gast.Call) and resolve(stmt.value.func, namespace) is runtime.fused_empty:
                filling.add(stmt.targets[0].id)
            else:
                filling.discard(stmt.targets[0].id)
        targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target] \
            if isinstance(stmt, gast.AugAssign) else []
        for target in targets:
            if isinstance(target, gast.Subscript):
                written.update(set(_base_names(target)) - filling)
        inherited = filling if isinstance(stmt, gast.For) and _only_assignments(stmt.body) else frozenset()
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                written |= _written_in_place(block, namespace, inherited if field == "body" else frozenset())
    return written


def _only_assignments(stmts):
    return all(isinstance(stmt, gast.Assign) or isinstance(stmt, gast.For) and _only_assignments(stmt.body)
               and not stmt.orelse for stmt in stmts)


def _rewrite(stmts, tapes, helpers, namespace):
    """Rewrite in place the uses of the stacks in `tapes` (stack -> _Tape)."""
    out = []
    for stmt in stmts:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                _rewrite(block, tapes, helpers, namespace)
        use = _stack_use(stmt, tapes, namespace)
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.List) and not stmt.value.elts \
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in tapes:
            stack = stmt.targets[0].id
            out += [g.assign(stack, g.call(g.name(helpers["new_tape"]), [g.const(0.0)]), stmt),
                    g.assign(tapes[stack].top, g.const(-1), stmt)]
        elif use is not None and use[2] == "push":
            stack, name, _ = use
            tape = tapes[stack]
            # a value stack's every push follows its saved copy (_copied_before_each_push): push what was copied
            pushed = g.name(name) if tape.shapes_only else out.pop().value.args[0]
            operands = [g.name(stack), g.name(tape.top), pushed]
            grow = g.assign(stack, g.call(g.name(helpers["grown_for"]), [copy.deepcopy(a) for a in operands]), stmt)
            push = helpers["push_shape" if tape.shapes_only else "push_array"]
            out += [gast.copy_location(gast.If(test=g.call(g.name(helpers["lacks_room"]), operands),
                                               body=[grow], orelse=[]), stmt),
                    g.assign(tape.top, g.call(g.name(push), [copy.deepcopy(a) for a in operands]), stmt)]
            if not tape.shapes_only:  # name: the copy on the tape, not a second one
                out.append(g.assign(name, g.call(g.name(helpers["latest_array"]),
                                                 [g.name(stack), g.name(tape.top), pushed]), stmt))
        elif use is not None:
            stack, name, _ = use
            tape = tapes[stack]
            restore = helpers["restore_shape" if tape.shapes_only else "restore_array"]
            pair = gast.Tuple(elts=[g.name(tape.top, store=True), g.name(name, store=True)], ctx=gast.Store())
            out.append(g.assign(pair, g.call(g.name(restore), [g.name(stack), g.name(tape.top), g.name(name)]), stmt))
        else:
            out.append(stmt)
    stmts[:] = out


def _copied_before_each_push(fdef, stack, namespace):
    """Is every push of `stack` the push of a `saved_copy` made just before it? A list then holds
    one copy per push anyway, and the tape's copy replaces it; an array pushed without one is
    cheaper on the list (a reference) once it is larger than a few dozen elements."""
    for block in blocks(fdef.body):
        for k, stmt in enumerate(block):
            use = _stack_use(stmt, {stack}, namespace)
            if use is not None and use[2] == "push":
                before = block[k - 1] if k else None
                if not (isinstance(before, gast.Assign) and isinstance(before.targets[0], gast.Name)
                        and before.targets[0].id == use[1] and isinstance(before.value, gast.Call)
                        and resolve(before.value.func, namespace) is runtime.saved_copy
                        and len(before.value.args) == 1):
                    return False
    return True
