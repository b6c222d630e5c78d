"""Desugar a captured function into the core form of docs/architecture.md.

Two passes run over a copy of the user's tree. `_Flow` makes control flow regular: loops become
range loops, `while` tests become names, and `break`, `continue` and returns inside loops become
flags; other early returns become if/else nesting, so that every path assigns the result (Numba
mistypes a variable that some paths leave undefined when it can prune a branch). Expressions are
left as the user wrote them. `_Flatten` then splits every expression into one operation per
statement, turning short-circuit operators and conditional expressions into ifs so that what
Python would not evaluate is still not evaluated.
"""
import builtins
import copy
from dataclasses import dataclass

import gast
import numpy

from ..errors import UnsupportedSyntaxError
from .names import Namer, describe

# Array methods that are the NumPy function of the same meaning with the array as first argument.
_METHODS = {name: name for name in (
    "all", "any", "argmax", "argmin", "argsort", "clip", "copy", "cumprod", "cumsum", "diagonal",
    "dot", "max", "mean", "min", "nonzero", "prod", "ravel", "repeat", "reshape", "round",
    "squeeze", "std", "sum", "swapaxes", "take", "trace", "transpose", "var")}
_METHODS.update(conj="conj", conjugate="conj")
# Methods taking the shape as separate arguments (`x.reshape(n, 2)`) where NumPy wants one tuple.
_SHAPE_METHODS = {"reshape", "transpose"}
# Attributes that are functions of the array rather than data stored with it.
_ATTRIBUTE_FUNCTIONS = {"T": "transpose", "real": "real", "imag": "imag"}


def _name(name, ctx=gast.Load):
    return gast.Name(name, ctx(), None, None)


def _constant(value):
    return gast.Constant(value, None)


def _at(node, src):
    """`node`, located at the user's node `src`."""
    return gast.copy_location(node, src)


def _assign(name, value, src):
    return _at(gast.Assign([_name(name, gast.Store)], value, None), src)


def _not(expr, src):
    return _at(gast.UnaryOp(gast.Not(), expr), src)


def _if(test, body, orelse, src):
    return _at(gast.If(test, body, orelse), src)


def _is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


def _fold(node):
    """`-1` is a UnaryOp in the AST; as a constant it can stay inline."""
    if (isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd))
            and isinstance(node.operand, gast.Constant)
            and isinstance(node.operand.value, (int, float, complex))
            and not isinstance(node.operand.value, bool)):
        value = node.operand.value
        return _at(_constant(-value if isinstance(node.op, gast.USub) else value), node)
    return node


def _walk(nodes):
    return (n for node in nodes for n in gast.walk(node))


def _stored(nodes):
    return {n.id for n in _walk(nodes) if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}


def _loaded(nodes):
    return {n.id for n in _walk(nodes) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _jumps(stmts):
    """Exits that may leave `stmts`: break/continue of the enclosing loop, or return (live code only)."""
    found = set()
    for s in stmts[:next((k + 1 for k, s in enumerate(stmts) if _jumps_always(s)), len(stmts))]:
        if isinstance(s, gast.Return):
            found.add("return")
        elif isinstance(s, gast.Break):
            found.add("break")
        elif isinstance(s, gast.Continue):
            found.add("continue")
        elif isinstance(s, gast.If):
            found |= _jumps(s.body) | _jumps(s.orelse)
        elif isinstance(s, (gast.For, gast.While)):
            found |= _jumps(s.body) & {"return"}
    return found


def _always_jumps(stmts):
    """Whether control never reaches the statement after `stmts`."""
    return any(_jumps_always(s) for s in stmts)


def _runs_once(body):
    """Whether every iteration of a loop with this body leaves the loop (by break or return)."""
    return _always_jumps(body) and "continue" not in _jumps(body)


def _jumps_always(s):
    if isinstance(s, (gast.Return, gast.Break, gast.Continue)):
        return True
    if isinstance(s, gast.If):
        return _always_jumps(s.body) and _always_jumps(s.orelse)
    if isinstance(s, gast.While):  # `while True` without break only ever leaves by returning
        return isinstance(s.test, gast.Constant) and bool(s.test.value) and "break" not in _jumps(s.body)
    return False


class _Scope:
    """Names of one function: its locals, its namespace, and fresh names for what we add."""

    def __init__(self, sf, fdef):
        self.sf = sf
        self.namespace = dict(sf.namespace)
        self.locals = _stored([fdef.args]) | _stored(fdef.body)
        every = {n.id for n in gast.walk(fdef) if isinstance(n, gast.Name)}
        self.namer = Namer(every | set(self.namespace) | {fdef.name})
        self._numpy = None

    def fresh(self, hint):
        return self.namer.fresh(hint)

    def refers_to(self, name, obj):
        return name not in self.locals and self.namespace.get(name, getattr(builtins, name, None)) is obj

    def bind(self, name, obj):
        """A global name for `obj` in the generated code; the user's own binding when there is one."""
        for candidate in (name, name + "_"):
            if self.refers_to(candidate, obj) or candidate not in self.namer.taken:
                self.namer.taken.add(candidate)
                self.namespace[candidate] = obj
                return candidate
        name = self.fresh(name)
        self.namespace[name] = obj
        return name

    @property
    def numpy(self):
        if self._numpy is None:
            aliases = [k for k, v in self.namespace.items() if v is numpy and k not in self.locals]
            self._numpy = "np" if "np" in aliases else aliases[0] if aliases else self.bind("np", numpy)
        return self._numpy

    def is_builtin_call(self, node, fn):
        return (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and self.refers_to(node.func.id, fn))

    def is_path(self, node):
        """Whether `node` names a module-level object (`np.linalg`) rather than a value (`x.T`)."""
        while isinstance(node, gast.Attribute):
            node = node.value
        return (isinstance(node, gast.Name) and node.id not in self.locals
                and not isinstance(self.namespace.get(node.id), (numpy.ndarray, numpy.generic, int, float)))

    def unsupported(self, message, node, hint=None):
        return self.sf.error(UnsupportedSyntaxError, message, node=node, hint=hint)


@dataclass
class _Loop:
    """Flags of the loop being lowered: `brk` ends the loop, `cont` skips the rest of an iteration."""

    brk: str | None
    cont: str | None

    @property
    def guard(self):
        return self.cont or self.brk


class _Flow:
    """Control flow to the core form; expressions stay as the user wrote them."""

    def __init__(self, scope):
        self.scope = scope
        self.result = None  # the return-value name, when returns are not just one final return
        self.returned = None
        self.flags = []

    def function(self, fdef):
        body = list(fdef.body)
        if not _always_jumps(body):
            body.append(_at(gast.Return(None), fdef))
        returns = [n for s in body for n in gast.walk(s) if isinstance(n, gast.Return)]
        if returns == [body[-1]]:
            body = self._block(body, None)
        else:
            self.result = self.scope.fresh("result")
            self.returned = self._flag("returned")
            body = ([_assign(self.returned, _constant(False), fdef)] + self._block(body, None)
                    + [_at(gast.Return(_name(self.result)), body[-1])])
        return self._prune(body)

    def _flag(self, hint):
        name = self.scope.fresh(hint)
        self.flags.append(name)
        return name

    def _block(self, stmts, loop):
        """Lower `stmts`; what follows a statement that may jump runs only where it did not."""
        out = []
        for k, s in enumerate(stmts):
            rest = stmts[k + 1:]
            if not rest or not _jumps([s]) or _jumps_always(s):
                out += self._stmt(s, loop)
                if rest and _jumps_always(s):
                    break
                continue
            copyable = loop is None and not any(isinstance(n, (gast.For, gast.While)) for n in _walk(rest))
            if isinstance(s, gast.If) and (copyable or _always_jumps(s.body) or _always_jumps(s.orelse)):
                # The rest goes where control falls through (copied at function level, loops aside).
                body = s.body if _always_jumps(s.body) else s.body + rest
                orelse = s.orelse if _always_jumps(s.orelse) else s.orelse + copy.deepcopy(rest)
                out.append(_if(s.test, self._block(body, loop), self._block(orelse, loop), s))
                break
            out += self._stmt(s, loop)
            flag = loop.guard if loop else self.returned
            out.append(_if(_not(_name(flag), rest[0]), self._block(rest, loop), [], rest[0]))
            break
        return out

    def _stmt(self, s, loop):
        if isinstance(s, gast.Return):
            if self.result is None:
                return [s]
            value = s.value if s.value is not None else _at(_constant(None), s)
            return ([_assign(self.result, value, s), _assign(self.returned, _constant(True), s)]
                    + self._exit(loop, s))
        if isinstance(s, gast.Break):
            return self._exit(loop, s)
        if isinstance(s, gast.Continue):
            return [_assign(loop.cont, _constant(True), s)]
        if isinstance(s, gast.If):
            return [_if(s.test, self._block(s.body, loop), self._block(s.orelse, loop), s)]
        if isinstance(s, gast.For):
            return self._for(s, loop)
        if isinstance(s, gast.While):
            return self._while(s, loop)
        if isinstance(s, gast.Pass) or (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant)):
            return []  # docstrings and `pass`
        return [s]

    def _exit(self, loop, src):
        """Statements that leave `loop` (nothing at function level: the rest is guarded)."""
        if loop is None:
            return []
        out = [_assign(loop.brk, _constant(True), src)]
        if loop.cont:
            out.append(_assign(loop.cont, _constant(True), src))
        return out

    def _new_loop(self, body):
        jumps = _jumps(body)
        return _Loop(self._flag("brk") if jumps & {"break", "return"} else None,
                     self._flag("cont") if "continue" in jumps else None)

    def _loop_body(self, s, loop, prologue, epilogue):
        body = list(prologue)
        if loop.cont:
            body.append(_assign(loop.cont, _constant(False), s))
        body += self._block(s.body, loop)
        if _runs_once(s.body):
            return body
        body += epilogue
        if loop.brk:
            body.append(_if(_name(loop.brk), [_at(gast.Break(), s)], [], s))
        return body

    def _around(self, s, loop, outer, node):
        """`node` with its break flag set up, and a return inside it passed on to `outer`."""
        out = [_assign(loop.brk, _constant(False), s)] if loop.brk else []
        out.append(node)
        if outer is not None and "return" in _jumps(s.body):
            out.append(_if(_name(self.returned), self._exit(outer, s), [], s))
        return out

    def _while(self, s, outer):
        hint = "cond" if isinstance(s.test, gast.Constant) else describe(s.test)
        cond = self.scope.fresh(hint)
        loop = self._new_loop(s.body)
        recompute = [_assign(cond, copy.deepcopy(s.test), s.test)]
        if loop.brk:
            recompute = [_if(_not(_name(loop.brk), s.test), recompute, [], s.test)]
        body = self._loop_body(s, loop, [], recompute)
        node = _if(_name(cond), body, [], s) if _runs_once(s.body) else _at(gast.While(_name(cond), body, []), s)
        return [_assign(cond, s.test, s.test)] + self._around(s, loop, outer, node)

    def _for(self, s, outer):
        pre, target, it = [], s.target, s.iter
        if self._is_range(it):
            bounds = self._range_bounds(it, s, pre)
            index = target.id if isinstance(target, gast.Name) else None
            prologue = []
        else:
            index, bounds, prologue = self._sequence_loop(s, pre)
        if index is None:
            index = self.scope.fresh("i")
            prologue = [_at(gast.Assign([target], _name(index), None), target)]
        loop = self._new_loop(s.body)
        body = self._loop_body(s, loop, prologue, [])
        if _runs_once(s.body):  # Numba mistypes a loop whose `if brk: break` always breaks: an if
            size = gast.Call(_name(self.scope.bind("len", len)), [self._range(bounds, it)], [])
            test = _at(gast.Compare(_at(size, it), [gast.Gt()], [_at(_constant(0), it)]), it)
            start = _at(gast.Assign([_name(index, gast.Store)], copy.deepcopy(bounds[0]), None), s.target)
            node = _if(test, [start] + body, [], s)
        else:
            node = _at(gast.For(_name(index, gast.Store), self._range(bounds, it), body, [], None), s)
        return pre + self._around(s, loop, outer, node)

    def _is_range(self, it):
        return self.scope.is_builtin_call(it, range) and not it.keywords and 1 <= len(it.args) <= 3

    def _range(self, bounds, src):
        return _at(gast.Call(_name(self.scope.bind("range", range)), bounds, []), src)

    def _range_bounds(self, it, stmt, pre):
        """Start, stop and step of `range(...)` as atoms computed before the loop."""
        args = list(it.args) if len(it.args) > 1 else [_at(_constant(0), it)] + it.args
        if len(args) == 2:
            args.append(_at(_constant(1), it))
        return [self._once(a, stmt, hint, pre) for a, hint in zip(args, ("start", "stop", "step"))]

    def _once(self, expr, stmt, hint, pre):
        """`expr` as an atom whose value stays what it was before the loop `stmt`."""
        expr = _fold(expr)
        if isinstance(expr, gast.Constant):
            return expr
        if isinstance(expr, gast.Name) and expr.id not in _stored(stmt.body + [stmt.target]):
            return _at(_name(expr.id), expr)
        name = self.scope.fresh(hint if isinstance(expr, gast.Name) else describe(expr))
        pre.append(_assign(name, expr, expr))
        return _at(_name(name), expr)

    def _sequence_loop(self, s, pre):
        """`for target in seq` as a range loop over indexes whose first statement reads the item."""
        target, it = s.target, s.iter
        index = None
        if (self.scope.is_builtin_call(it, enumerate) and len(it.args) == 1 and not it.keywords
                and isinstance(target, gast.Tuple) and len(target.elts) == 2
                and isinstance(target.elts[0], gast.Name)):
            index, target, it = target.elts[0].id, target.elts[1], it.args[0]
        length, item = self._iterable(it, s, pre)
        if index is None:
            index = self.scope.fresh("i")
        prologue = [_at(gast.Assign([target], item(_name(index)), None), target)]
        return index, [_at(_constant(0), it), _name(length), _at(_constant(1), it)], prologue

    def _iterable(self, it, stmt, pre):
        """(length name, index -> item expression) for a range, sequence, enumerate or zip."""
        if self.scope.is_builtin_call(it, enumerate) and 1 <= len(it.args) + len(it.keywords) <= 2:
            length, item = self._iterable(it.args[0], stmt, pre)
            start = it.args[1] if len(it.args) == 2 else it.keywords[0].value if it.keywords else None
            start = None if start is None else self._once(start, stmt, "start", pre)

            def numbered(i):
                count = i if start is None else _at(gast.BinOp(i, gast.Add(), copy.deepcopy(start)), it)
                return _at(gast.Tuple([count, item(copy.deepcopy(i))], gast.Load()), it)
            return length, numbered
        if self.scope.is_builtin_call(it, zip) and it.args and not it.keywords:
            parts = [self._iterable(a, stmt, pre) for a in it.args]
            length = parts[0][0]
            if len(parts) > 1:
                length = self.scope.fresh("n_zip")
                shortest = gast.Call(_name(self.scope.bind("min", min)), [_name(n) for n, _ in parts], [])
                pre.append(_assign(length, _at(shortest, it), it))
            return length, lambda i: _at(gast.Tuple([f(copy.deepcopy(i)) for _, f in parts], gast.Load()), it)
        if self._is_range(it):  # Numba has len() of a range but no indexing into one
            start, stop, step = self._range_bounds(it, stmt, pre)
            seq = self.scope.fresh(describe(it))
            pre.append(_assign(seq, self._range([start, stop, step], it), it))

            def item(i):
                if not (isinstance(step, gast.Constant) and step.value == 1):
                    i = _at(gast.BinOp(i, gast.Mult(), copy.deepcopy(step)), it)
                if isinstance(start, gast.Constant) and start.value == 0:
                    return i
                return _at(gast.BinOp(copy.deepcopy(start), gast.Add(), i), it)
        else:
            if isinstance(it, gast.Name) and it.id not in _stored(stmt.body):
                seq = it.id
            else:
                seq = self.scope.fresh(describe(it))
                pre.append(_assign(seq, it, it))

            def item(i):
                return _at(gast.Subscript(_name(seq), i, gast.Load()), it)
        length = self.scope.fresh(f"len_{seq}")
        pre.append(_assign(length, _at(gast.Call(_name(self.scope.bind("len", len)), [_name(seq)], []), it), it))
        return length, item

    def _prune(self, body):
        """Drop flags nothing reads (a continue placed structurally needs none), to a fixed point."""
        while True:
            dead = set(self.flags) - _loaded(body)
            if not dead & _stored(body):
                return body
            body = _without(body, dead)


def _without(stmts, dead):
    """`stmts` without assignments to `dead`; ifs left empty are dropped or inverted."""
    out = []
    for s in stmts:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and s.targets[0].id in dead:
            continue
        if isinstance(s, gast.If):
            s.body, s.orelse = _without(s.body, dead), _without(s.orelse, dead)
            if not s.body and not s.orelse:
                continue
            if not s.body:
                s.test, s.body, s.orelse = _not(s.test, s.test), s.orelse, []
        elif isinstance(s, (gast.For, gast.While)):
            s.body = _without(s.body, dead)
        out.append(s)
    return out


class _Flatten:
    """Expressions to A-normal form: one operation per statement, operands atoms."""

    def __init__(self, scope):
        self.scope = scope
        self.where = None  # the statement being lowered, for nodes with no user node of their own

    def block(self, stmts, src):
        out, outer = [], self.where
        for s in stmts:
            self.where = s
            self._stmt(s, out)
        self.where = outer
        return out or [_at(gast.Pass(), src)]

    def _emit(self, out, stmt, src):
        out.append(_at(stmt, src if getattr(src, "lineno", None) is not None else self.where))

    def _stmt(self, s, out):
        if isinstance(s, gast.Assign):
            value = s.value
            if len(s.targets) > 1:
                value = self.atom(value, out)
            for target in s.targets:
                self._assign(target, value, out)
        elif isinstance(s, gast.AnnAssign) and s.value is not None:
            self._assign(s.target, s.value, out)
        elif isinstance(s, gast.AugAssign):
            self._augassign(s, out)
        elif isinstance(s, gast.If):
            test = self._test(s.test, out)
            orelse = self.block(s.orelse, s) if s.orelse else []
            self._emit(out, gast.If(test, self.block(s.body, s), orelse), s)
        elif isinstance(s, gast.For):
            self._emit(out, gast.For(s.target, s.iter, self.block(s.body, s), [], None), s)
        elif isinstance(s, gast.While):
            self._emit(out, gast.While(s.test, self.block(s.body, s), []), s)
        elif isinstance(s, gast.Return):
            value = s.value if s.value is not None else _at(_constant(None), s)
            self._emit(out, gast.Return(self.atom(value, out)), s)
        elif isinstance(s, gast.Break):
            out.append(s)
        elif isinstance(s, gast.Expr):
            self.atom(s.value, out)
        else:
            raise self.scope.unsupported(f"`{type(s).__name__}` statements cannot be transformed", s)

    def _test(self, expr, out):
        """An if test as a name (a constant test gets one too, as the core form asks)."""
        test = self.atom(expr, out)
        if isinstance(test, gast.Constant):
            name = self.scope.fresh("cond")
            self._emit(out, _assign(name, test, expr), expr)
            test = _name(name)
        return test

    def _assign(self, target, value, out):
        if isinstance(target, gast.Name):
            self._into(value, target.id, out)
        elif isinstance(target, gast.Subscript):
            value = self.atom(value, out)
            base = self.atom(target.value, out)
            store = gast.Subscript(base, self.index(target.slice, out), gast.Store())
            self._emit(out, gast.Assign([_at(store, target)], value, None), target)
        elif isinstance(target, (gast.Tuple, gast.List)):
            self._unpack(target, value, out)
        else:
            raise self.scope.unsupported("only names, subscripts and tuples can be assigned to", target,
                                         hint="Assign to a new variable instead.")

    def _unpack(self, target, value, out):
        """`a, b = ...` one target at a time; a value that an earlier target overwrites is read first."""
        elts = target.elts
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(elts):
            values = list(value.elts)
        else:
            whole = self.atom(value, out)
            values = [_at(gast.Subscript(copy.deepcopy(whole), _constant(k), gast.Load()), value)
                      for k in range(len(elts))]
        if any(isinstance(n, (gast.Subscript, gast.Attribute)) for n in gast.walk(target)):
            values = [self.atom(v, out) for v in values]  # a write may change a value through a view
        written = set()  # every name in the targets so far
        for k, target_k in enumerate(elts):
            if _loaded([values[k]]) & written:
                if isinstance(values[k], gast.Name):
                    old = self.scope.fresh(f"{values[k].id}_old")
                    self._emit(out, _assign(old, values[k], values[k]), values[k])
                    values[k] = _name(old)
                else:
                    values[k] = self.atom(values[k], out)
            written |= {n.id for n in gast.walk(target_k) if isinstance(n, gast.Name)}
        for target_k, value_k in zip(elts, values):
            self._assign(target_k, value_k, out)

    def _augassign(self, s, out):
        target = s.target
        if isinstance(target, gast.Name):
            self._into(_at(gast.BinOp(_name(target.id), s.op, s.value), s), target.id, out)
        elif isinstance(target, gast.Subscript):
            base = self.atom(target.value, out)
            index = self.index(target.slice, out)
            current = self.atom(_at(gast.Subscript(base, index, gast.Load()), target), out)
            updated = self.atom(_at(gast.BinOp(current, s.op, s.value), s), out)
            store = gast.Subscript(copy.deepcopy(base), copy.deepcopy(index), gast.Store())
            self._emit(out, gast.Assign([_at(store, target)], updated, None), s)
        else:
            raise self.scope.unsupported("only names and subscripts can be updated in place", target)

    # -- expressions -------------------------------------------------------------------------

    def atom(self, expr, out):
        """`expr` evaluated into a Name or Constant, its operations appended to `out`."""
        op = self.op(expr, out)
        if _is_atom(op):
            return op
        name = self.scope.namer.temp(op)
        self._emit(out, _assign(name, op, expr), expr)
        return _name(name)

    def _into(self, expr, name, out):
        """Evaluate `expr` into the variable `name`."""
        if self._lazy(expr):
            if not isinstance(expr, gast.IfExp) and name in _loaded([expr]):
                self._emit(out, _assign(name, self.op(expr, out), expr), expr)
            else:
                self._lazy_into(expr, name, out)
        else:
            self._emit(out, _assign(name, self.op(expr, out), expr), expr)

    def _lazy(self, expr):
        """Whether evaluating `expr` needs branches: some part may have to stay unevaluated."""
        if isinstance(expr, gast.IfExp):
            return True
        if isinstance(expr, gast.BoolOp):
            return not all(_is_atom(_fold(v)) for v in expr.values)
        if isinstance(expr, gast.Compare):
            return not all(_is_atom(_fold(c)) for c in expr.comparators[1:])
        return False

    def _lazy_into(self, expr, name, out):
        if isinstance(expr, gast.IfExp):
            test = self._test(expr.test, out)
            body, orelse = [], []
            self._into(expr.body, name, body)
            self._into(expr.orelse, name, orelse)
            self._emit(out, gast.If(test, body, orelse), expr)
        elif isinstance(expr, gast.BoolOp):
            self._boolop_into(expr, self._groups(expr), name, out)
        else:
            self._chain_into(expr, self.atom(expr.left, out), expr.ops, expr.comparators, name, out)

    def _groups(self, expr):
        """Operands of a BoolOp, runs of atoms kept together as one operand."""
        groups = []
        for v in map(_fold, expr.values):
            if _is_atom(v) and groups and isinstance(groups[-1], list):
                groups[-1].append(v)
            else:
                groups.append([v] if _is_atom(v) else v)
        return [(_at(gast.BoolOp(expr.op, g), expr) if len(g) > 1 else g[0]) if isinstance(g, list) else g
                for g in groups]

    def _boolop_into(self, expr, groups, name, out):
        self._into(groups[0], name, out)
        if len(groups) > 1:
            inner = []
            self._boolop_into(expr, groups[1:], name, inner)
            test = _name(name) if isinstance(expr.op, gast.And) else self.atom(_not(_name(name), expr), out)
            self._emit(out, gast.If(test, inner, []), expr)

    def _chain_into(self, expr, left, ops, comparators, name, out):
        right = self.atom(comparators[0], out)
        self._emit(out, _assign(name, gast.Compare(left, [ops[0]], [right]), expr), expr)
        if len(ops) > 1:
            inner = []
            self._chain_into(expr, copy.deepcopy(right), ops[1:], comparators[1:], name, inner)
            self._emit(out, gast.If(_name(name), inner, []), expr)

    def op(self, expr, out):
        """`expr` as one operation on atoms, its operands' operations appended to `out`."""
        expr = _fold(expr)
        if isinstance(expr, gast.Name):
            return _at(_name(expr.id), expr)
        if isinstance(expr, gast.Constant):
            return copy.deepcopy(expr)
        if self._lazy(expr):
            name = self.scope.fresh(describe(expr))
            self._lazy_into(expr, name, out)
            return _name(name)
        if isinstance(expr, gast.UnaryOp):
            return gast.UnaryOp(expr.op, self.atom(expr.operand, out))
        if isinstance(expr, gast.BinOp):
            return gast.BinOp(self.atom(expr.left, out), expr.op, self.atom(expr.right, out))
        if isinstance(expr, gast.Compare):
            return self._compare(expr, out)
        if isinstance(expr, gast.BoolOp):
            return gast.BoolOp(expr.op, [self.atom(v, out) for v in expr.values])
        if isinstance(expr, gast.Call):
            return self._call(expr, out)
        if isinstance(expr, gast.Attribute):
            return self._attribute(expr, out)
        if isinstance(expr, gast.Subscript):
            return gast.Subscript(self.atom(expr.value, out), self.index(expr.slice, out), gast.Load())
        if isinstance(expr, (gast.Tuple, gast.List)):
            return type(expr)([self.atom(e, out) for e in expr.elts], gast.Load())
        raise self.scope.unsupported(f"`{type(expr).__name__}` expressions cannot be transformed", expr)

    def _compare(self, expr, out):
        """`a < b < c` with atom operands: each comparison once, joined by `and`."""
        left = self.atom(expr.left, out)
        if len(expr.ops) == 1:
            return gast.Compare(left, expr.ops, [self.atom(expr.comparators[0], out)])
        parts = []
        for op, comparator in zip(expr.ops, expr.comparators):
            right = self.atom(comparator, out)
            parts.append(self.atom(_at(gast.Compare(left, [op], [right]), expr), out))
            left = copy.deepcopy(right)
        return gast.BoolOp(gast.And(), parts)

    def arg(self, expr, out):
        """A call argument: an atom, or a tuple/list literal of arguments kept inline."""
        if isinstance(expr, (gast.Tuple, gast.List)):
            return _at(type(expr)([self.arg(e, out) for e in expr.elts], gast.Load()), expr)
        return self.atom(expr, out)

    def index(self, expr, out):
        if isinstance(expr, gast.Slice):
            parts = [None if p is None else self.atom(p, out) for p in (expr.lower, expr.upper, expr.step)]
            return _at(gast.Slice(*parts), expr)
        if isinstance(expr, gast.Tuple):
            return _at(gast.Tuple([self.index(e, out) for e in expr.elts], gast.Load()), expr)
        return self.atom(expr, out)

    def _call(self, expr, out):
        func = expr.func
        if isinstance(func, gast.Attribute) and not self.scope.is_path(func.value):
            return self._method(expr, out)
        func = copy.deepcopy(func) if self.scope.is_path(func) else self.atom(func, out)
        args = [self.arg(a, out) for a in expr.args]
        keywords = [gast.keyword(k.arg, self.arg(k.value, out)) for k in expr.keywords]
        return gast.Call(func, args, keywords)

    def _numpy_call(self, name, args, keywords, src):
        func = _at(gast.Attribute(_name(self.scope.numpy), name, gast.Load()), src)
        return _at(gast.Call(func, args, keywords), src)

    def _method(self, expr, out):
        """`x.sum(axis=0)` -> `np.sum(x, axis=0)`."""
        method = expr.func.attr
        receiver = self.atom(expr.func.value, out)
        args = [self.arg(a, out) for a in expr.args]
        keywords = [gast.keyword(k.arg, self.arg(k.value, out)) for k in expr.keywords]
        if method == "flatten":  # always a copy, where np.ravel may return a view
            copied = self.atom(self._numpy_call("copy", [receiver], [], expr), out)
            return self._numpy_call("ravel", [copied] + args, keywords, expr)
        if method == "astype":  # Numba has np.asarray(x, dtype) but no np.astype; astype copies
            converted = self.atom(self._numpy_call("asarray", [receiver] + args, keywords, expr), out)
            return self._numpy_call("copy", [converted], [], expr)
        if method not in _METHODS:
            raise self.scope.unsupported(
                f"the array method `.{method}()` is not supported", expr,
                hint=f"Call the NumPy function instead, e.g. `np.{method}(x, ...)`.")
        if method in _SHAPE_METHODS and len(args) > 1:
            args = [_at(gast.Tuple(args, gast.Load()), expr)]
        return self._numpy_call(_METHODS[method], [receiver] + args, keywords, expr)

    def _attribute(self, expr, out):
        if self.scope.is_path(expr):
            return copy.deepcopy(expr)
        value = self.atom(expr.value, out)
        if expr.attr in _ATTRIBUTE_FUNCTIONS:
            return self._numpy_call(_ATTRIBUTE_FUNCTIONS[expr.attr], [value], [], expr)
        return gast.Attribute(value, expr.attr, gast.Load())


def _locate_all(node, where):
    """Give nodes made without a user node of their own the location of their statement."""
    if "lineno" in node._attributes:
        if getattr(node, "lineno", None) is None:
            gast.copy_location(node, where)
        else:
            where = node
    for child in gast.iter_child_nodes(node):
        _locate_all(child, where)


def normalize(sf):
    """The core form of `sf` (a SourceFunction) and the namespace it runs in.

    Returns `(fdef, namespace)`: a new gast FunctionDef, and a copy of `sf.namespace` with the names
    the core form adds (NumPy for array methods, builtins such as `len` and `range`).
    """
    fdef = copy.deepcopy(sf.tree)
    scope = _Scope(sf, fdef)
    args = fdef.args
    if args.vararg is not None or args.kwarg is not None:
        raise scope.unsupported("`*args` and `**kwargs` parameters cannot be transformed",
                                args.vararg or args.kwarg, hint="Name each parameter.")
    params = args.posonlyargs + args.args + args.kwonlyargs
    for param in params:  # annotations name objects the generated module may not have
        param.annotation = param.type_comment = None
    fdef.args = gast.arguments(args=params, posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                               kwarg=None, defaults=[])
    body = _Flow(scope).function(fdef)
    fdef.body = _Flatten(scope).block(body, fdef)
    fdef.decorator_list, fdef.returns = [], None
    _locate_all(fdef, fdef)
    return fdef, scope.namespace
