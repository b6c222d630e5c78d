"""transpile: JAX-style transformations (grad, vjp, vmap, jit) by source-to-source rewriting.

Plain Python and NumPy in, readable Python out, compiled by Numba.
"""
from .api import checkpoint, grad, hessian, jacfwd, jacrev, jit, jvp, pmap, show, value_and_grad, vjp, vmap
from .collectives import all_gather, axis_index, pmax, pmean, pmin, psum, psum_scatter
from .custom import custom_jvp, custom_vjp
from .errors import (
    CompileError,
    MissingRuleError,
    NotDifferentiableError,
    SourceUnavailableError,
    TranspileError,
    UnsupportedSyntaxError,
)
from .runtime import stop_gradient

__version__ = "0.1.0"

__all__ = ["checkpoint", "grad", "jvp", "jacfwd", "jacrev", "hessian", "jit", "show", "value_and_grad", "vjp", "vmap", "stop_gradient", "pmap",
           "custom_vjp", "custom_jvp",
           "psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "psum_scatter",
           "TranspileError",
           "CompileError", "MissingRuleError", "NotDifferentiableError", "SourceUnavailableError",
           "UnsupportedSyntaxError"]
