"""Put a transformed function and everything it calls into one module of readable source.

Every user function reached by a call becomes a top-level function of the same module, so
Numba compiles them together. Free names become imports, literal constants, or (for other
objects such as arrays) globals injected before the module runs; their content is part of
the module's hash, so two closures over different values never share a module.
"""
import ast
import builtins
import copy
import inspect
import math
import numbers
import os
import types

import gast
import numpy as np

from . import emit
from .analysis.kinds import BOTTOM, KindInference, kind_of_value
from .analysis.names import Renamer
from .cache import digest
from .errors import TranspileError
from .ir import FunctionSpec
from .pipeline import build_ir
from .transforms.array_tapes import array_tapes
from .transforms.fuse import NOTE, fuse_loops
from .transforms.inline import inline_helpers
from .transforms.lower import lower_for_numba
from .transforms.pool_tapes import pool_tapes
from .transforms.summed_products import sum_before_products

LIBRARY_PREFIXES = ("numpy", "math", "builtins", "numba", "transpile.")
_MARKER = "__transpile_line__"


def callee_spec(obj):
    """The FunctionSpec a call to `obj` needs generated, or None for library callables."""
    if isinstance(obj, FunctionSpec):
        return obj
    spec = getattr(obj, "tp_spec", None)
    if isinstance(spec, FunctionSpec):
        return spec
    py_func = getattr(obj, "py_func", None)  # a user's own numba.njit function
    if py_func is not None and inspect.isfunction(py_func):
        obj = py_func
    if inspect.isfunction(obj):
        module = getattr(obj, "__module__", "") or ""
        if module == "transpile" or module.startswith(LIBRARY_PREFIXES):
            return None
        return FunctionSpec(obj)
    return None


def _free_names(fdef):
    bound = {a.id for a in fdef.args.args}
    names = []
    for node in gast.walk(fdef):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, (gast.Store, gast.Del)):
                bound.add(node.id)
            else:
                names.append(node.id)
    return [n for n in dict.fromkeys(names) if n not in bound]


def _is_literal(value):
    if isinstance(value, (bool, type(None), str)):
        return True
    return isinstance(value, numbers.Number) and not isinstance(value, np.generic) \
        and not (isinstance(value, float) and not math.isfinite(value))


def _fingerprint(value):
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, digest(np.ascontiguousarray(value).tobytes()))
    if isinstance(value, (np.generic, float, int, complex, bool, str, type(None))):
        return (type(value).__name__, repr(value))
    return (type(value).__name__, id(value))


class ModuleBuilder:
    """Collects the functions of one generated module and the globals they need."""

    def __init__(self, fuse=False, parallel=False, keep_tapes=False):
        self.fuse = fuse
        self.parallel = parallel
        self.keep_tapes = keep_tapes  # typed tapes kept between calls (CPU)
        self.functions = []        # (emitted name, fdef, filename)
        self.names_by_spec = {}
        self.globals = {}          # global name -> object
        self.taken = set()

    def _fresh(self, base):
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def add(self, spec):
        """Emit `spec` (and its callees); return its name in the module."""
        if spec in self.names_by_spec:
            return self.names_by_spec[spec]
        name = self._fresh(spec.label)
        self.names_by_spec[spec] = name
        ir = build_ir(spec)
        fdef, namespace = ir.fdef, ir.namespace
        callee_kinds = _callee_argument_kinds(fdef, namespace, spec.kinds) if self.fuse else {}
        if self.fuse:
            fdef, namespace = inline_helpers(fdef, namespace, ir.filename,
                                             lambda name: _helper_ir(namespace[name], callee_kinds.get(name)))
            fdef, namespace = sum_before_products(fdef, namespace)
            fdef, namespace = fuse_loops(fdef, namespace, spec.kinds, self.parallel)
        fdef, namespace = lower_for_numba(fdef, namespace)
        if self.keep_tapes:
            fdef, namespace = array_tapes(fdef, namespace, spec.kinds)
            fdef, namespace = pool_tapes(fdef, namespace, name)
        _bind_callee_arguments(fdef, namespace)
        fdef.name = name
        renames = {}
        for free in _free_names(fdef):
            if free not in namespace:
                continue
            value = namespace[free]
            target = callee_spec(value)
            if target is not None:
                if target.kinds is None and callee_kinds.get(free) is not None:
                    target = target.with_kinds(callee_kinds[free])
                renames[free] = self.add(target)
                continue
            bound = self._bind_global(free, value)
            if bound != free:
                renames[free] = bound
        Renamer(renames).visit(fdef)
        self.functions.append((name, fdef, ir.filename))
        return name

    def _bind_global(self, name, value):
        if name in self.globals:
            if self.globals[name] is value or _fingerprint(self.globals[name]) == _fingerprint(value):
                return name
            name = self._fresh(name)
        else:
            if name in self.taken:
                name = self._fresh(name)
            self.taken.add(name)
        self.globals[name] = value
        return name

    def header(self):
        """Import lines and literal constants; objects that must be injected; their fingerprint."""
        lines, injected, fingerprints = [], {}, []
        for name, value in sorted(self.globals.items()):
            if isinstance(value, types.ModuleType):
                lines.append(f"import {value.__name__}" if value.__name__ == name
                             else f"import {value.__name__} as {name}")
            elif _is_literal(value):
                lines.append(f"{name} = {value!r}")
            elif getattr(value, "__module__", "").startswith("transpile.runtime") \
                    and getattr(value, "__name__", None) == name:
                lines.append(f"from transpile.runtime import {name}")
            elif value is getattr(builtins, name, None):
                continue
            else:
                injected[name] = value
                fingerprints.append((name, _fingerprint(value)))
        return lines, injected, fingerprints

    def source(self):
        """The module's text (with comments pointing at user lines) and globals to inject."""
        lines, injected, fingerprints = self.header()
        parts = ['"""Generated by transpile. Edits are overwritten; change the original function."""']
        parts += lines
        if fingerprints:
            parts.append(f"# injected globals: {', '.join(n for n, _ in fingerprints)}"
                         f" (fingerprint {digest(fingerprints)[:16]})")
        for _, fdef, filename in self.functions:
            parts.append("\n" + annotated_source(fdef, filename))
        return "\n".join(parts) + "\n", injected


def _helper_ir(value, kinds):
    """The IR of the helper `value` for the argument kinds of its calls (None when not all known)."""
    spec = callee_spec(value)
    if kinds is None or None in kinds or spec.kinds not in (None, kinds):
        return None
    try:
        return build_ir(spec.with_kinds(kinds))
    except TranspileError:   # reported where the call is generated
        return None


def _callee_argument_kinds(fdef, namespace, param_kinds):
    """name -> kinds of the arguments of every call to that user function in `fdef`, where all its
    calls agree: a callee generated for them is fused like the function calling it."""
    if param_kinds is None:
        return {}
    inference = KindInference(fdef, namespace, param_kinds)

    def kind_of(arg):
        if isinstance(arg, gast.Constant):
            return kind_of_value(arg.value)
        if not isinstance(arg, gast.Name):
            return None
        kind = inference.argument_kind(arg)
        return None if kind == BOTTOM else kind

    found = {}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and not node.keywords \
                and callee_spec(namespace.get(node.func.id)) is not None:
            kinds = tuple(kind_of(a) for a in node.args)
            known = kinds if any(k is not None for k in kinds) else None
            found[node.func.id] = known if found.get(node.func.id, known) == known else None
    return found


def _bind_callee_arguments(fdef, namespace):
    """Calls to user functions pass every parameter positionally, defaults filled in.

    Generated functions take positional parameters only, so `helper(x, scale=2.0)` and a call
    that leaves out defaulted parameters become `helper(x, 2.0, 0.0)`.
    """
    for node in gast.walk(fdef):
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)):
            continue
        spec = callee_spec(namespace.get(node.func.id)) if node.func.id in namespace else None
        if spec is None or spec.chain:
            continue
        signature = inspect.signature(spec.pyfunc)
        try:
            bound = signature.bind(*node.args, **{k.arg: k.value for k in node.keywords})
        except TypeError as exc:
            raise TranspileError(f"bad call of {spec.pyfunc.__name__}: {exc}", node=node) from None
        bound.apply_defaults()
        node.args = [v if isinstance(v, gast.AST) else gast.Constant(value=v, kind=None)
                     for v in bound.arguments.values()]
        node.keywords = []


def annotated_source(fdef, filename):
    """Source of `fdef` with a comment naming the user's line above each group of statements."""
    marked = _MarkLines(filename).visit(copy.deepcopy(fdef))
    text = emit.unparse(gast.Module(body=[marked], type_ignores=[]))
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(f"{_MARKER}("):
            indent = line[: len(line) - len(line.lstrip())]
            lineno = int(stripped[len(_MARKER) + 1: stripped.index(")")])
            code = emit.source_line(filename, lineno)
            out.append(f"{indent}# {os.path.basename(filename)}:{lineno}: {code}")
        elif stripped.startswith(f"{NOTE}("):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# {ast.literal_eval(stripped[len(NOTE) + 1:-1])}")
        else:
            out.append(line)
    return "\n".join(out)


class _MarkLines(gast.NodeTransformer):
    """Insert a marker call before each statement that starts a new user line."""

    def __init__(self, filename):
        self.filename = filename

    def _mark_block(self, body):
        out, last = [], None
        for stmt in body:
            self.visit(stmt)
            lineno = getattr(stmt, "lineno", None)
            if lineno is not None and lineno != last and not isinstance(stmt, gast.Pass):
                marker = gast.Expr(value=gast.Call(
                    func=gast.Name(id=_MARKER, ctx=gast.Load(), annotation=None, type_comment=None),
                    args=[gast.Constant(value=lineno, kind=None)], keywords=[]))
                out.append(marker)
                last = lineno
            out.append(stmt)
        return out

    def generic_visit(self, node):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                setattr(node, field, self._mark_block(block))
        return node


def build_module_source(spec, fuse=False, parallel=False, keep_tapes=False):
    """(source text, entry function name, objects to inject) for `spec`; `fuse` for compiled targets,
    `keep_tapes` for the CPU target."""
    builder = ModuleBuilder(fuse, parallel, keep_tapes)
    entry = builder.add(spec)
    text, injected = builder.source()
    return text, entry, injected
