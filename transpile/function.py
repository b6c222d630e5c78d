"""The transformable-function object: a spec, a target, and the compiled code per call pattern."""
import inspect
import operator
import threading
import warnings

import numpy as np
from numba.core.errors import TypingError

from . import cache, pytree
from .analysis.kinds import STRUCTURED, kind_of_value
from .assemble import build_module_source
from .backends import TARGETS
from .backends.cpu import compile_error
from .backends.subnormals import flushing_subnormals
from .entry import fast_entry
from .errors import FusionFallbackWarning, TranspileError
from .ir import FunctionSpec
from .pipeline import ARGUMENT_CHECKS, KEEPS_STRUCTURE, RESULT_STRUCTURES
from .runtime.tape import USER_MESSAGE
from .transforms.fuse import FUSED_MARK


def as_spec(fun):
    """The FunctionSpec behind a user function or a Transformed object."""
    if isinstance(fun, Transformed):
        return fun.spec
    if isinstance(fun, FunctionSpec):
        return fun
    refusal = getattr(fun, "refuses_transforms", None)
    if refusal:
        raise TypeError(refusal)
    py_func = getattr(fun, "py_func", None)
    if not callable(fun):
        raise TypeError(f"expected a function to transform, got {type(fun).__name__}")
    return FunctionSpec(py_func if py_func is not None else fun)


def _structure_owner(chain):
    """(name, options) of the transformation that decides the result's pytree structure: the
    outermost one, looking through those that keep their inner function's structure (vmap)."""
    for name, options in reversed(chain):
        if name not in KEEPS_STRUCTURE:
            return name, options
    return None, ()


_SCALAR_KINDS = {float: ("f", 0), int: ("i", 0), bool: ("b", 0)}


def bind_arguments(signature, name, args, kwargs):
    """The positional arguments of a call, defaults applied; a TypeError naming `name` if they do not fit."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{name}(): {exc}") from None
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def _types_of(args):
    return tuple(map(type, args))


# The cache key of a call of scalars on the general path (`_call`): its argument types, written out
# per arity because tuple(map(type, args)) alone takes 0.5 us. (Repeated calls of one signature
# skip `_call` altogether: entry.py.)
_TYPE_KEYS = {
    1: lambda a: type(a[0]),
    2: lambda a: (type(a[0]), type(a[1])),
    3: lambda a: (type(a[0]), type(a[1]), type(a[2])),
    4: lambda a: (type(a[0]), type(a[1]), type(a[2]), type(a[3])),
    5: lambda a: (type(a[0]), type(a[1]), type(a[2]), type(a[3]), type(a[4])),
    6: lambda a: (type(a[0]), type(a[1]), type(a[2]), type(a[3]), type(a[4]), type(a[5])),
}


# Calls that reach the general path (re)write the fast entry for their signature; code that
# alternates signatures stops paying for that after this many.
_ENTRY_REWRITES = 8


class Generated:
    """One generated module: its source, file, entry callable and cache facts."""

    def __init__(self, spec, target, options):
        fuse = target != "python" and options.get("fuse", True)
        source, entry, injected = build_module_source(spec, fuse, options.get("parallel", False),
                                                      keep_tapes=target == "cpu")
        if target != "python":  # compiled code differs per target and options: so does the module
            settings = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
            source = source.rstrip("\n") + f"\n\n# target: {target} ({settings})\n"
        path, module_name, file_hit = cache.store(spec.label, source)
        module = cache.load(path, module_name, injected)
        names = [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]
        self.source = source
        self.path = path
        self.file_hit = file_hit
        self.entry_name = entry
        self.spec = spec
        self.fused = FUSED_MARK in source
        self.module = module
        self.callable = TARGETS[target](module, entry, names, options)
        if options.get("flush_subnormals"):
            self.callable = flushing_subnormals(self.callable)


class Transformed:
    """A user function plus transformations; calling it generates (once), loads and runs code.

    `wrap_call` adapts the user's call to the generated function (binding defaults); `post`
    adapts the result (e.g. returning a tuple of gradients).
    """

    def __init__(self, spec, target="python", options=None, signature_of=None):
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; choose one of {sorted(TARGETS)}")
        self.spec = spec
        self.tp_spec = spec
        self.target = target
        self.options = dict(options or {})
        self._generated = None
        self._by_kinds = {}
        self._by_scalar_types = {}  # `_call`'s shortcut for calls whose arguments are all Python scalars
        self._entry = self._call
        self._entries_written = 0
        last_name, last_options = spec.chain[-1] if spec.chain else (None, ())
        self._last_options = dict(last_options)
        self._check = ARGUMENT_CHECKS.get(last_name)
        shaper, shaper_options = _structure_owner(spec.chain)
        self._rebuild = RESULT_STRUCTURES.get(shaper)
        self._rebuild_options = dict(shaper_options)
        self._lock = threading.Lock()
        self.signature_source = signature_of or spec.pyfunc
        self._signature = inspect.signature(self.signature_source)
        self._nparams = len(self._signature.parameters)
        self.__name__ = spec.label
        self.__doc__ = getattr(spec.pyfunc, "__doc__", None)
        self.__wrapped__ = spec.pyfunc

    def with_target(self, target, options):
        return Transformed(self.spec, target, options)

    @property
    def generated(self):
        if self._generated is None:
            with self._lock:
                if self._generated is None:
                    self._generated = Generated(self.spec, self.target, self.options)
        return self._generated

    def bind(self, args, kwargs):
        if not kwargs and len(args) == self._nparams:
            return args
        return bind_arguments(self._signature, self.__name__, args, kwargs)

    # A call runs `_entry`: `_call`, or after a first call the fast path entry.py writes for its signature.
    __call__ = property(operator.attrgetter("_entry"))

    def _call(self, *args, **kwargs):
        if kwargs or len(args) != self._nparams:
            args = self.bind(args, kwargs)
        types = _TYPE_KEYS.get(len(args), _types_of)(args)
        generated = self._by_scalar_types.get(types)
        if generated is None:
            key = tuple([_SCALAR_KINDS.get(type(a)) or kind_of_value(a) for a in args])
            generated = self._by_kinds.get(key)
            if generated is None:
                if STRUCTURED in key:
                    return self.call_structured(args)
                if None in key:
                    self._refuse(args, key)
                generated = self._generate(key, args, self.spec.with_kinds(key))
            if all(type(a) in _SCALAR_KINDS for a in args):
                self._by_scalar_types[types] = generated
        try:
            result = generated.callable(*args)
        except TypingError as exc:
            if not generated.fused or USER_MESSAGE in str(exc):  # ours: a deliberate error, not fusion's
                raise compile_error(generated.path, exc) from None
            return self._run_unfused(generated, args)
        if self._entries_written < _ENTRY_REWRITES:
            self._entries_written += 1
            self._entry = fast_entry(self._signature, self.__name__, args, generated.callable, self._call) or self._call
        return result

    def _run_unfused(self, generated, args):
        """The same code without fusion, for a fused module Numba cannot type: a fusion bug (warn),
        unless the unfused code does not type either (the generated code's own error, explained)."""
        unfused = Generated(generated.spec, self.target, {**self.options, "fuse": False})
        try:
            result = unfused.callable(*args)
        except TypingError as exc:
            raise compile_error(unfused.path, exc) from None
        warnings.warn(FusionFallbackWarning(
            f"{self.__name__}: Numba could not compile the fused code in {generated.path}; running it "
            "unfused (tp.jit(..., fuse=False) silences this). Please report it with that file."), stacklevel=3)
        self._entry = self._call
        with self._lock:
            for table in (self._by_kinds, self._by_scalar_types):
                for key, value in list(table.items()):
                    if value is generated:
                        table[key] = unfused
        return result

    def _refuse(self, args, kinds):
        """A TypeError naming the first argument that is no number, array of numbers or pytree of them."""
        names = list(self._signature.parameters)
        for k, (value, kind) in enumerate(zip(args, kinds)):
            if kind is None:
                name = names[k] if k < len(names) else f"#{k}"
                what = f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else \
                    "None" if value is None else f"a {type(value).__name__}"
                raise TypeError(f"{self.__name__}(): argument {name!r} is {what}; transformed functions take "
                                "floats, ints, bools, NumPy arrays of those, and tuples, lists, dicts or "
                                "namedtuples of them")

    def _generate(self, key, args, spec):
        """Generate (once per key) after the transformation has vetted the arguments."""
        if self._check is not None:
            self._check(args, self.__name__, **self._last_options)
        with self._lock:
            generated = self._by_kinds.get(key)
            if generated is None:
                generated = Generated(spec, self.target, self.options)
                self._by_kinds[key] = generated
        return generated

    def _structured(self, args):
        """(generated code, flat leaves, tree structures) for pytree arguments."""
        leaves, treedefs = [], []
        for a in args:
            arg_leaves, treedef = pytree.flatten(a)
            leaves += arg_leaves
            treedefs.append(treedef)
        treedefs = tuple(treedefs)
        key = (treedefs, tuple(map(kind_of_value, leaves)))
        generated = self._by_kinds.get(key)
        if generated is None:
            spec = self.spec.first("flatten", treedefs=treedefs).with_kinds(key[1])
            generated = self._generate(key, args, spec)
        return generated, leaves, treedefs

    def call_structured(self, args):
        """Call with pytree arguments: flatten, run the code generated for this structure."""
        generated, leaves, treedefs = self._structured(args)
        try:
            result = generated.callable(*leaves)
        except TypingError as exc:
            raise compile_error(generated.path, exc) from None
        if self._rebuild is not None:
            result = self._rebuild(result, treedefs, **self._rebuild_options)
        return result

    def source(self, *example_args):
        """The generated source; given example arguments, the code that a call with them runs."""
        if not example_args:
            return self.generated.source
        return self.generated_for(*example_args).source

    def generated_for(self, *example_args):
        """The Generated module that a call with `example_args` runs."""
        args = self.bind(example_args, {})
        key = tuple(map(kind_of_value, args))
        if STRUCTURED in key:
            return self._structured(args)[0]
        return self._by_kinds.get(key) or self._generate(key, args, self.spec.with_kinds(key))

    def cache_info(self):
        """Whether the module file and (for cpu) Numba's compiled code came from the cache.

        Reports on the code generated for the latest new argument signature (or, before any
        call, the signature-independent code that `show` prints).
        """
        gen = list(self._by_kinds.values())[-1] if self._by_kinds else self.generated
        info = {"module_file": gen.path, "module_from_cache": gen.file_hit}
        dispatcher = gen.callable
        if hasattr(dispatcher, "stats"):
            info["numba_cache_hits"] = sum(dispatcher.stats.cache_hits.values())
            info["numba_cache_misses"] = sum(dispatcher.stats.cache_misses.values())
            # Numba writes no cache file for code holding run-time addresses (ctypes pointers)
            info["numba_cacheable"] = not any(compiled.library.has_dynamic_globals
                                              for compiled in dispatcher.overloads.values())
        return info

    def __repr__(self):
        return f"<transpile {self.spec.label} target={self.target}>"


__all__ = ["Transformed", "as_spec", "TranspileError"]
