"""Compiled functions keep their typed tapes between calls (the mechanism: runtime/pooled_tape.py).

`tape = new_tape(sample, capacity)` among a function's top-level statements becomes
`tape = take_tape(sample, capacity, "function.tape")`, and `give_back_tape(tape, "function.tape")`
runs just before the function's return. Only functions whose one `return` is their last statement
are rewritten: every tape is then handed back on the way out. For the CPU target only (a GPU thread's
tapes are local arrays already).
"""
import gast

from .. import gastutil as g
from .. import runtime
from ..analysis.names import NamePool, all_names, bind_object
from ..runtime.tape import INITIAL_CAPACITY


def pool_tapes(fdef, namespace, function_name):
    """(fdef, namespace) with the typed tapes taken from and handed back to the function's cells."""
    returns = [node for node in gast.walk(fdef) if isinstance(node, gast.Return)]
    if len(returns) != 1 or fdef.body[-1] is not returns[0]:
        return fdef, namespace
    returned = {node.id for node in gast.walk(returns[0]) if isinstance(node, gast.Name)}
    tapes = [stmt for stmt in fdef.body if _creates_tape(stmt, namespace) and stmt.targets[0].id not in returned]
    if not tapes:
        return fdef, namespace
    namespace = dict(namespace)
    pool = NamePool(all_names(fdef), namespace)
    take = bind_object(namespace, pool, "take_tape", runtime.take_tape)
    give_back = bind_object(namespace, pool, "give_back_tape", runtime.give_back_tape)
    hand_backs = []
    for stmt in tapes:
        tape = stmt.targets[0].id
        slot = g.const(f"{function_name}.{tape}")
        sample, *capacity = stmt.value.args
        stmt.value = g.call(take, [sample, capacity[0] if capacity else g.const(INITIAL_CAPACITY), slot])
        hand_backs.append(g.expr_stmt(g.call(give_back, [g.name(tape), g.const(slot.value)]), returns[0]))
    fdef.body[-1:-1] = hand_backs
    return fdef, namespace


def _creates_tape(stmt, namespace):
    return isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
        and isinstance(stmt.value, gast.Call) and not stmt.value.keywords and 1 <= len(stmt.value.args) <= 2 \
        and isinstance(stmt.value.func, gast.Name) and namespace.get(stmt.value.func.id) is runtime.new_tape
