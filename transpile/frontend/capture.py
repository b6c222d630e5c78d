"""Read a Python function's source and bind its free names to live objects."""
import builtins
import inspect
import textwrap
from dataclasses import dataclass, field

import gast

from ..errors import SourceUnavailableError, UnsupportedSyntaxError


@dataclass
class SourceFunction:
    """A user function as source: its AST (line numbers in the user's file) and free names."""

    pyfunc: object
    name: str
    filename: str
    tree: gast.FunctionDef
    namespace: dict = field(default_factory=dict)

    def error(self, cls, message, node=None, hint=None):
        return cls(message, node=node, filename=self.filename, hint=hint)


def _unwrap(fn):
    fn = inspect.unwrap(fn)
    py_func = getattr(fn, "py_func", None)  # numba dispatchers keep the Python function here
    return py_func if py_func is not None else fn


def _read_source(fn):
    try:
        lines, first_line = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or inspect.getfile(fn)
    except (OSError, TypeError) as exc:
        name = getattr(fn, "__qualname__", repr(fn))
        raise SourceUnavailableError(
            f"cannot read the source of {name!r} ({exc})",
            hint="Define the function in a .py file (not in an interactive prompt, exec or a "
            "C extension), or give it a derivative with tp.custom_vjp.",
        ) from None
    return "".join(lines), max(first_line, 1), filename


def _lambda_as_def(module, fn, filename):
    lambdas = [n for n in gast.walk(module) if isinstance(n, gast.Lambda)]
    if len(lambdas) != 1:
        raise SourceUnavailableError(
            f"cannot tell which of {len(lambdas)} lambdas on this line is the function",
            node=lambdas[0] if lambdas else None, filename=filename,
            hint="Write the function with `def`.",
        )
    lam = lambdas[0]
    ret = gast.Return(value=lam.body)
    gast.copy_location(ret, lam.body)
    fdef = gast.FunctionDef(name="lambda_", args=lam.args, body=[ret], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fdef, lam)


def _shift_locations(tree, line_offset, col_offset):
    for node in gast.walk(tree):
        if hasattr(node, "lineno") and node.lineno is not None:
            node.lineno += line_offset
            if getattr(node, "end_lineno", None) is not None:
                node.end_lineno += line_offset
            if getattr(node, "col_offset", None) is not None:
                node.col_offset += col_offset
            if getattr(node, "end_col_offset", None) is not None:
                node.end_col_offset += col_offset


def parse_function(fn):
    """The function's definition as a gast tree, decorators stripped, located in its file."""
    source, first_line, filename = _read_source(fn)
    dedented = textwrap.dedent(source)
    indent = len(source.splitlines()[0]) - len(dedented.splitlines()[0])
    is_lambda = fn.__name__ == "<lambda>"
    text = dedented
    if is_lambda:
        text = dedented.strip()
        indent = len(source.splitlines()[0]) - len(source.splitlines()[0].lstrip())
    try:
        module = gast.parse(text)
    except SyntaxError:
        if not is_lambda:
            raise
        module = gast.parse("(\n" + text.rstrip("\\\n ,") + "\n)")
        first_line -= 1
    _shift_locations(module, first_line - 1, indent)
    if is_lambda:
        fdef = _lambda_as_def(module, fn, filename)
    else:
        defs = [n for n in module.body if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef))]
        if not defs:
            raise SourceUnavailableError(f"no function definition found for {fn.__qualname__!r}",
                                         filename=filename)
        fdef = defs[0]
        if isinstance(fdef, gast.AsyncFunctionDef):
            raise UnsupportedSyntaxError("async functions cannot be transformed", node=fdef,
                                         filename=filename, hint="Use a plain `def`.")
    fdef.decorator_list = []
    return fdef, filename


def free_names(fdef):
    """Names the function reads but never binds itself."""
    bound = {a.id for a in fdef.args.args + fdef.args.kwonlyargs}
    for extra in (fdef.args.vararg, fdef.args.kwarg):
        if extra is not None:
            bound.add(extra.id)
    loaded = []
    for node in gast.walk(fdef):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load):
                loaded.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)) and node is not fdef:
            bound.add(node.name)
    return [n for n in dict.fromkeys(loaded) if n not in bound]


def _closure_values(fn):
    code = fn.__code__
    cells = fn.__closure__ or ()
    values = {}
    for name, cell in zip(code.co_freevars, cells):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # a cell not yet filled: a name defined later in the enclosing scope
            pass
    return values


def capture(fn):
    """Source, AST and free-name bindings of `fn` (a def, nested def, closure or lambda)."""
    fn = _unwrap(fn)
    if not inspect.isfunction(fn):
        raise SourceUnavailableError(
            f"{fn!r} is not a Python function, so its source cannot be transformed",
            hint="Pass a function defined with `def`, or give it a rule with tp.custom_vjp.")
    fdef, filename = parse_function(fn)
    closure = _closure_values(fn)
    namespace = {}
    for name in free_names(fdef):
        if name in closure:
            namespace[name] = closure[name]
        elif name in fn.__globals__:
            namespace[name] = fn.__globals__[name]
        elif hasattr(builtins, name):
            namespace[name] = getattr(builtins, name)
    return SourceFunction(pyfunc=fn, name=fdef.name if fn.__name__ == "<lambda>" else fn.__name__,
                          filename=filename, tree=fdef, namespace=namespace)
