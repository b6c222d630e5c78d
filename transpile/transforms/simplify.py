"""Clean-ups that keep generated code short: dead assignments go."""
import gast

MUTATING_METHODS = {"append", "pop"}


def _has_effects(value, impure):
    for node in gast.walk(value):
        if isinstance(node, gast.Call):
            func = node.func
            if isinstance(func, gast.Attribute) and func.attr in MUTATING_METHODS:
                return True
            if isinstance(func, gast.Name) and func.id in impure:
                return True
    return False


def eliminate_dead_code(fdef, impure=()):
    """Drop assignments to names that nothing reads, until none is left."""
    impure = set(impure)
    while True:
        reads = set()
        for node in gast.walk(fdef):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                reads.add(node.id)
        removed = [False]

        def dead(stmt):
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                    and stmt.targets[0].id not in reads and not _has_effects(stmt.value, impure):
                removed[0] = True
                return True
            return False

        drop_statements(fdef, dead)
        if not removed[0]:
            return fdef


def drop_statements(fdef, drop):
    """Remove the statements `drop(stmt)` selects, in nested blocks too (an emptied body gets `pass`)."""
    def sweep(block):
        out = []
        for stmt in block:
            if drop(stmt):
                continue
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if inner:
                    setattr(stmt, field, sweep(inner) or ([gast.Pass()] if field == "body" else []))
            out.append(stmt)
        return out

    fdef.body = sweep(fdef.body)
