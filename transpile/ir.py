"""The unit every pass reads and writes: one function in core form plus the names it uses."""
import inspect
from dataclasses import dataclass

import gast


@dataclass(frozen=True)
class FunctionSpec:
    """A user function with a chain of transformations, innermost first.

    Specs are hashable so that generated code is built once per spec, and they are what
    transformed code calls when it needs a callee's primal, adjoint or batched variant.
    """

    pyfunc: object
    chain: tuple = ()
    kinds: tuple = None  # kinds of the parameters of the outermost function, when known

    def then(self, name, **options):
        return FunctionSpec(self.pyfunc, self.chain + ((name, tuple(sorted(options.items()))),))

    def first(self, name, **options):
        """The same chain with one more transformation applied before all the others."""
        return FunctionSpec(self.pyfunc, ((name, tuple(sorted(options.items()))),) + self.chain,
                            self.kinds)

    def with_kinds(self, kinds):
        return FunctionSpec(self.pyfunc, self.chain, kinds)

    @property
    def label(self):
        """A readable identifier: `loss`, `loss_grad`, `loss_grad_vmap`."""
        base = getattr(self.pyfunc, "__name__", "f").replace("<lambda>", "lambda_")
        return "_".join([base] + [name for name, _ in self.chain if name != "flatten"])


@dataclass
class IRFunction:
    """A function in core form (docs/architecture.md) and the bindings of its free names.

    `namespace` maps free names to live objects: modules, constants, user functions
    (plain Python functions) and FunctionSpecs of transformed callees.
    """

    fdef: gast.FunctionDef
    namespace: dict
    filename: str
    spec: FunctionSpec
    groups: list = None  # leaf parameter names per user argument, once pytrees are flattened
    kinds: tuple = None  # kinds of the parameters (analysis/kinds.py), when known

    @property
    def params(self):
        return [a.id for a in self.fdef.args.args]


def stand_in(name, params, runs_where):
    """A function object standing for generated code that has no Python function of its own (a
    loop segment, a kernel, a pmap segment, a jvp's argument list): specs, labels and argument
    binding read its name and signature; calling it says where the code really runs."""
    def function(*args):
        raise TypeError(f"{name} runs only {runs_where}")
    function.__name__ = function.__qualname__ = name
    function.__signature__ = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params])
    return function
