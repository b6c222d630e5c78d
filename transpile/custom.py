"""`tp.custom_vjp` and `tp.custom_jvp`: functions whose derivatives come from rules the user writes
(JAX's semantics), for what the body cannot give: a stable gradient, a clipped cotangent, a
library call with no rule.

The decorated object is still the plain function when called from Python. Transformations see it as
a callee whose body gives its values and whose rule gives its derivatives
(transforms/custom_rules.py); the rule's functions are user functions like any other, so they are
emitted, differentiated again and compiled with the rest of the module.
"""
import functools

from .ir import FunctionSpec


class _CustomFunction:
    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = (nondiff_argnums,) if isinstance(nondiff_argnums, int) else tuple(nondiff_argnums)
        self.tp_spec = FunctionSpec(self)  # what calls from transformed code resolve to

    def __call__(self, *args, **kwargs):
        return self.fun(*args, **kwargs)

    def tp_transform(self, name, inner, **options):
        """The IR of transformation `name` applied first to this function, or None where the body
        serves (pipeline.build_ir)."""
        from .transforms.custom_rules import transform_custom
        return transform_custom(self, name, inner, **options)

    def __repr__(self):
        return f"<{type(self).__name__} {self.__name__}>"


class custom_vjp(_CustomFunction):
    """`f.defvjp(fwd, bwd)`: `fwd(*args) -> (out, residuals)`, `bwd(*nondiff_args, residuals, g)` ->
    a tuple with one cotangent per differentiable positional argument. Forward mode is refused."""

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd


class custom_jvp(_CustomFunction):
    """`f.defjvp(rule)`: `rule(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)`, linear
    in the tangents; reverse mode transposes it."""

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp
