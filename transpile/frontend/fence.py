"""The fence: refuse, with a located error and a hint, anything outside the supported subset.

It runs right after capture and before normalize, so that every later pass may assume the subset
of the public contract (API.md, "What may appear in a transformed function"; the refusals are
tabled in docs/errors.md) and never has to explain a user's construct itself: the user sees
`file:line:col`, the line, a caret and what to write instead, not an obscure failure deep in a
transform or in Numba.

It looks at syntax only, plus one question of data flow: which arrays an in-place write may reach.
Writes are allowed only into arrays the function created, because reverse mode must be able to
keep what an overwrite destroys, and because a transformed function must not change its caller's
arrays. Whether a callee has a derivative or batching rule is for the transforms to say, not here.
"""
import builtins
import linecache
import re
import types

import gast

from ..errors import SideEffectError, UnsupportedSyntaxError

_SYNTAX, _EFFECT = UnsupportedSyntaxError, SideEffectError

_ASYNC = (_SYNTAX, "async code (`async`/`await`) cannot be transformed",
          "Use plain `def` functions and call them directly.")
_YIELD = (_SYNTAX, "generators (`yield`) cannot be transformed",
          "Collect the values in an array (or a tuple) and return it.")
_TRY = (_SYNTAX, "`try` statements are not supported",
        "Remove the try/except; check inputs outside the function, before calling it.")
_SCOPE = (_SYNTAX, "`global`/`nonlocal` declarations are not supported",
          "Pass the value in as an argument and return the new value.")
_COMPREHENSION = (_SYNTAX, "comprehensions and generator expressions are not supported",
                  "Write a `for` loop, e.g. fill `out = np.empty(n)` with `out[i] = ...`.")

# What each refused construct is called and what to do instead. Keys are gast node types, or names
# for refusals that depend on more than a node's type.
REFUSED = {
    gast.Try: _TRY,
    gast.TryStar: _TRY,
    gast.With: (_SYNTAX, "`with` statements are not supported",
                "Move the `with` block outside the function, around the call."),
    gast.AsyncWith: _ASYNC,
    gast.AsyncFor: _ASYNC,
    gast.AsyncFunctionDef: _ASYNC,
    gast.Await: _ASYNC,
    gast.Yield: _YIELD,
    gast.YieldFrom: _YIELD,
    gast.Lambda: (_SYNTAX, "`lambda` is not supported inside a transformed function",
                  "Define a named function at module level and call it (or pass it) instead."),
    gast.Global: _SCOPE,
    gast.Nonlocal: _SCOPE,
    gast.ClassDef: (_SYNTAX, "class definitions are not supported inside a transformed function",
                    "Define the class at module level."),
    gast.FunctionDef: (_SYNTAX, "a `def` inside a transformed function is not supported",
                       "Move the definition to module level (or outside this function); it may "
                       "still be called from here."),
    gast.Match: (_SYNTAX, "`match` statements are not supported", "Use if/elif/else."),
    gast.Delete: (_SYNTAX, "`del` is not supported",
                  "Remove it; local names are released when the function returns."),
    gast.Import: (_SYNTAX, "`import` inside a transformed function is not supported",
                  "Import at module level."),
    gast.ImportFrom: (_SYNTAX, "`import` inside a transformed function is not supported",
                      "Import at module level."),
    gast.Raise: (_SYNTAX, "`raise` is not supported",
                 "Check the arguments outside the function, before calling it."),
    gast.Assert: (_SYNTAX, "`assert` is not supported",
                  "Remove it, or check the condition outside the function."),
    gast.ListComp: _COMPREHENSION,
    gast.SetComp: _COMPREHENSION,
    gast.DictComp: _COMPREHENSION,
    gast.GeneratorExp: _COMPREHENSION,
    gast.Set: (_SYNTAX, "set displays (`{{a, b}}`) are not supported", "Use a tuple or a list."),
    gast.Dict: (_SYNTAX, "dict displays (`{{k: v}}`) are not supported",
                "Use a tuple, or separate variables."),
    gast.JoinedStr: (_SYNTAX, "f-strings are not supported",
                     "Remove it; transformed code cannot compute strings."),
    gast.NamedExpr: (_SYNTAX, "assignment expressions (`:=`) are not supported",
                     "Assign the value on its own line first."),
    gast.Starred: (_SYNTAX, "starred expressions (`*x`) are not supported",
                   "Index explicitly: `a, b = x[0], x[1:]`, and pass arguments one by one."),
    gast.AnnAssign: (_SYNTAX, "annotated assignments are not supported",
                     "Drop the annotation: `x = ...`."),
    "vararg": (_SYNTAX, "`*args` parameters are not supported",
               "Name each parameter, or take one tuple argument."),
    "kwarg": (_SYNTAX, "`**kwargs` parameters are not supported",
              "Name each keyword parameter and give it a default."),
    "kwargs_call": (_SYNTAX, "`**` arguments in a call are not supported",
                    "Pass each keyword argument by name: `f(x, axis=0)`."),
    "loop_else": (_SYNTAX, "`else:` on a `for`/`while` loop is not supported",
                  "Set a flag before `break` and test it after the loop."),
    "compare": (_SYNTAX, "`{op}` comparisons are not supported",
                "Compare values with ==, !=, <, <=, >, >=; identity and membership are not kept "
                "by compiled code (test an optional argument outside the function)."),
    "print": (_EFFECT, "`print` is not supported inside a transformed function",
              "Return the value and print it outside the function."),
    "bare_call": (_EFFECT, "the result of this call is dropped; calls for side effects are not "
                  "supported", "Assign the result (`y = f(x)`) and use it."),
    "bare_expr": (_SYNTAX, "this expression statement has no effect",
                  "Remove it, or assign its value to a name."),
    "param_write": (_EFFECT, "in-place write into {what}: the caller's array would change",
                    "Copy it first: `{copy} = {name}.copy()`, then write into the copy."),
    "outer_write": (_EFFECT, "in-place write into {what}, which this function did not create",
                    "Copy it first: `{copy} = {name}.copy()`, then write into the copy."),
    "attr_write": (_SYNTAX, "assignment to an attribute is not supported",
                   "Keep the value in a local variable (and return it)."),
    "target": (_SYNTAX, "cannot assign to this target",
               "Assign to a name, a tuple of names, or `array[index]`."),
    "other": (_SYNTAX, "`{name}` is not supported in a transformed function",
              "See docs/errors.md for the supported subset."),
}

_CMP_OK = (gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE)
_CMP_TEXT = {gast.Is: "is", gast.IsNot: "is not", gast.In: "in", gast.NotIn: "not in"}

# Nodes accepted as they are (Call and Compare after their own checks); their children are checked
# in turn. Every binary operator is accepted: which ones an operand type supports is for the
# transforms and the backend to say, like a callee's rules.
_ALLOWED = (gast.BoolOp, gast.BinOp, gast.UnaryOp, gast.IfExp, gast.Compare, gast.Call,
            gast.Constant, gast.Attribute, gast.Subscript, gast.Slice, gast.Name, gast.Tuple,
            gast.List, gast.keyword, gast.Pass, gast.expr_context, gast.operator, gast.unaryop, gast.boolop, gast.cmpop)

# Calls whose result may share memory with an argument (or, for methods, with the object), so a
# write into the result may reach it. Everything else is taken to return a fresh value.
VIEW_CALLS = {"reshape", "view", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
              "expand_dims", "asarray", "asanyarray", "atleast_1d", "atleast_2d", "atleast_3d",
              "broadcast_to", "diagonal", "real", "imag", "enumerate", "zip", "reversed", "iter"}


def check(sf):
    """Return None if `sf` (a captured SourceFunction) is in the supported subset, else raise
    the TranspileError subclass of REFUSED for the first offending construct found."""
    _Fence(sf).check_function()


def _union(*states):
    merged = {}
    for state in states:
        for name, origins in state.items():
            merged[name] = merged.get(name, frozenset()) | origins
    return merged


class _Fence(gast.NodeVisitor):
    """Walks the function in source order (a loop body until its state settles), refusing what
    is outside the subset.

    Alongside it keeps `views`: for each local name, the outside arrays (parameters, or names
    from outside the function) it may share memory with on some path to the current statement.
    It is a may-analysis: branches merge by union, loops are walked until nothing changes, and a
    name assigned a fresh value (`x = x.copy()`, `x = a + b`) no longer shares anything.
    """

    def __init__(self, sf):
        self.sf = sf
        args = sf.tree.args
        self.params = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.local = set(self.params) | {n.id for n in gast.walk(sf.tree)
                                         if isinstance(n, gast.Name)
                                         and isinstance(n.ctx, gast.Store)}
        self.views = {p: frozenset([p]) for p in self.params}
        self.loops = []  # per enclosing loop: ([states at break], [states at continue])

    def refuse(self, key, node, **fmt):
        cls, message, hint = REFUSED.get(key) or REFUSED["other"]
        fmt.setdefault("name", getattr(key, "__name__", key))
        raise self.sf.error(cls, message.format(**fmt), node=node, hint=hint.format(**fmt))

    def check_function(self):
        args = self.sf.tree.args
        if args.vararg is not None:
            self.refuse("vararg", args.vararg)
        if args.kwarg is not None:
            self.refuse("kwarg", args.kwarg)
        # Defaults and annotations are evaluated by Python at definition time: not transformed.
        self.block(self.sf.tree.body)

    def block(self, body):
        for stmt in body:
            self.visit(stmt)

    def generic_visit(self, node):
        if not isinstance(node, _ALLOWED):
            self.refuse(type(node), node)
        super().generic_visit(node)

    # ---- statements -------------------------------------------------------------------------

    def visit_Expr(self, node):
        value = node.value
        body = self.sf.tree.body
        if node is body[0] and isinstance(value, gast.Constant) and isinstance(value.value, str):
            return  # the docstring
        self.visit(value)  # a specific refusal inside (yield, print, ...) comes first
        self.refuse("bare_call" if isinstance(value, gast.Call) else "bare_expr", node)

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self.bind(self.leaves(target, node.value))

    def visit_AugAssign(self, node):
        self.visit(node.value)
        # `x += v` on a name is rebound by normalize (`x = x + v`), so it writes into nothing.
        self.bind([(node.target, frozenset())])

    def visit_Return(self, node):
        if node.value is not None:
            self.visit(node.value)
        self.views = {}  # nothing after a return is reached

    def visit_If(self, node):
        self.visit(node.test)
        before = dict(self.views)
        self.block(node.body)
        after_body, self.views = self.views, before
        self.block(node.orelse)
        self.views = _union(after_body, self.views)

    def visit_For(self, node):
        if node.orelse:
            self.refuse("loop_else", node)
        self.visit(node.iter)
        origins = self.origins(node.iter)  # each element may be a view of what is iterated
        for leaf, _ in self.leaves(node.target, None, origins):
            if isinstance(leaf, (gast.Subscript, gast.Attribute)):
                self.refuse("target", leaf)
        self.loop(node.body, lambda: self.bind(self.leaves(node.target, None, origins)))

    def visit_While(self, node):
        if node.orelse:
            self.refuse("loop_else", node)
        self.loop(node.body, lambda: self.visit(node.test))

    def loop(self, body, head):
        """Walk a loop body until `views` at its head stops growing; leave the exit state."""
        entry = self.views
        while True:
            breaks, continues = [], []
            self.loops.append((breaks, continues))
            self.views = dict(entry)
            head()
            self.block(body)
            self.loops.pop()
            grown = _union(entry, self.views, *continues)
            if grown == entry:
                break
            entry = grown
        self.views = _union(entry, *breaks)

    def visit_Break(self, node):
        self.loops[-1][0].append(self.views)
        self.views = {}

    def visit_Continue(self, node):
        self.loops[-1][1].append(self.views)
        self.views = {}

    # ---- assignment targets and in-place writes ----------------------------------------------

    def leaves(self, target, value, origins=None):
        """(leaf target, what it may share) pairs, all computed before any of them is bound,
        pairing `a, b = x, y` element by element."""
        if isinstance(target, (gast.Tuple, gast.List)):
            values = [value] * len(target.elts)
            if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(values):
                values = value.elts
            return [leaf for t, v in zip(target.elts, values)
                    for leaf in self.leaves(t, v, origins)]
        return [(target, origins if origins is not None else self.origins(value))]

    def bind(self, leaves):
        for target, origins in leaves:
            if isinstance(target, gast.Name):
                self.views[target.id] = origins
                if not origins:
                    del self.views[target.id]
            elif isinstance(target, gast.Subscript):
                self.check_write(target)
                self.visit(target)
            elif isinstance(target, gast.Attribute):
                self.refuse("attr_write", target)
            else:  # Starred gets its own message; anything else is not assignable
                self.refuse(type(target) if isinstance(target, gast.Starred) else "target",
                            target)

    def check_write(self, target):
        root = target
        while isinstance(root, (gast.Subscript, gast.Attribute)):
            root = root.value
        if not isinstance(root, gast.Name):
            self.refuse("target", target)
        name = root.id
        origins = self.views.get(name) or self.outer(name)
        if not origins:
            return
        params = sorted(o for o in origins if o in self.params)
        origin = (params or sorted(origins))[0]
        what = f"parameter {origin!r}" if params else repr(origin)
        if name != origin:
            what = f"{name!r}, which may be a view of {what}"
        copy = name if name in self.local else f"{name}_copy"  # a global cannot be rebound here
        self.refuse("param_write" if params else "outer_write", target, what=what, name=name,
                    copy=copy)

    def outer(self, name):
        """A name from outside the function (a global or closure variable) shares itself."""
        return frozenset() if name in self.local else frozenset([name])

    def origins(self, expr):
        """The outside arrays that the value of `expr` may share memory with."""
        if isinstance(expr, gast.Name):
            if isinstance(self.sf.namespace.get(expr.id), types.ModuleType):
                return frozenset()
            return self.views.get(expr.id) or self.outer(expr.id)
        if isinstance(expr, (gast.Subscript, gast.Attribute, gast.Starred)):
            return self.origins(expr.value)
        if isinstance(expr, (gast.Tuple, gast.List)):
            return frozenset().union(*map(self.origins, expr.elts))
        if isinstance(expr, gast.IfExp):
            return self.origins(expr.body) | self.origins(expr.orelse)
        if isinstance(expr, gast.Call):
            func = expr.func
            name = getattr(func, "attr", getattr(func, "id", None))
            if name in VIEW_CALLS:
                shared = list(expr.args) + [k.value for k in expr.keywords]
                if isinstance(func, gast.Attribute):
                    shared.append(func.value)  # a method: x.reshape(...) views x
                return frozenset().union(*map(self.origins, shared))
        return frozenset()

    # ---- expressions ----------------------------------------------------------------------

    def visit_Call(self, node):
        func = node.func
        if (isinstance(func, gast.Name) and func.id == "print"
                and self.sf.namespace.get("print", builtins.print) is builtins.print):
            self.refuse("print", node)
        for kw in node.keywords:
            if kw.arg is None:
                self.refuse("kwargs_call", kw.value)
        self.generic_visit(node)

    def visit_Compare(self, node):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if not isinstance(op, _CMP_OK):
                self.refuse("compare", self.operator_position(left, right) or node,
                            op=_CMP_TEXT[type(op)])
            left = right
        self.generic_visit(node)

    def operator_position(self, left, right):
        """Where `is`/`in` stands between two operands (gast keeps no position on operators),
        so that the caret points at it; None if the operands are on different lines."""
        if left.end_lineno != right.lineno:
            return None
        line = linecache.getline(self.sf.filename, right.lineno)
        found = re.search(r"\b(is|not|in)\b", line[left.end_col_offset:right.col_offset])
        if found is None:
            return None
        return types.SimpleNamespace(lineno=right.lineno,
                                     col_offset=left.end_col_offset + found.start())
