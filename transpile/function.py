"""The transformable-function object: a spec, a target, and the compiled code per call pattern."""
import inspect
import threading

from numba.core.errors import TypingError

from . import cache, pytree
from .analysis.kinds import STRUCTURED, kind_of_value
from .assemble import build_module_source
from .backends import TARGETS
from .backends.cpu import compile_error
from .errors import TranspileError
from .ir import FunctionSpec
from .pipeline import ARGUMENT_CHECKS, RESULT_STRUCTURES


def as_spec(fun):
    """The FunctionSpec behind a user function or a Transformed object."""
    if isinstance(fun, Transformed):
        return fun.spec
    if isinstance(fun, FunctionSpec):
        return fun
    py_func = getattr(fun, "py_func", None)
    if not callable(fun):
        raise TypeError(f"expected a function to transform, got {type(fun).__name__}")
    return FunctionSpec(py_func if py_func is not None else fun)


_SCALAR_KINDS = {float: ("f", 0), int: ("i", 0), bool: ("b", 0)}


class Generated:
    """One generated module: its source, file, entry callable and cache facts."""

    def __init__(self, spec, target, options):
        source, entry, injected = build_module_source(spec)
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
        self.module = module
        self.callable = TARGETS[target](module, entry, names, options)


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
        self._by_scalar_types = {}  # fast path: calls whose arguments are all Python scalars
        last_name, last_options = spec.chain[-1] if spec.chain else (None, ())
        self._last_options = dict(last_options)
        self._check = ARGUMENT_CHECKS.get(last_name)
        self._rebuild = RESULT_STRUCTURES.get(last_name)
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
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.__name__}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self._nparams:
            args = self.bind(args, kwargs)
        generated = self._by_scalar_types.get(tuple(map(type, args)))
        if generated is None:
            key = tuple([_SCALAR_KINDS.get(type(a)) or kind_of_value(a) for a in args])
            generated = self._by_kinds.get(key)
            if generated is None:
                if STRUCTURED in key:
                    return self.call_structured(args)
                generated = self._generate(key, args, self.spec.with_kinds(key))
            if all(type(a) in _SCALAR_KINDS for a in args):
                self._by_scalar_types[tuple(map(type, args))] = generated
        try:
            return generated.callable(*args)
        except TypingError as exc:
            raise compile_error(generated.path, exc) from None

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

    def call_structured(self, args):
        """Call with pytree arguments: flatten, run the code generated for this structure."""
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
        try:
            result = generated.callable(*leaves)
        except TypingError as exc:
            raise compile_error(generated.path, exc) from None
        if self._rebuild is not None:
            result = self._rebuild(result, treedefs, **self._last_options)
        return result

    def source(self):
        return self.generated.source

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
        return info

    def __repr__(self):
        return f"<transpile {self.spec.label} target={self.target}>"


__all__ = ["Transformed", "as_spec", "TranspileError"]
