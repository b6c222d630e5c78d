"""transpile: JAX-style transformations (grad, vjp, vmap, jit) by source-to-source rewriting.

Plain Python and NumPy in, readable Python out, compiled by Numba.
"""
from .api import grad, jit, show, value_and_grad, vjp, vmap
from .errors import (CompileError, MissingRuleError, NotDifferentiableError,
                     SourceUnavailableError, TranspileError, UnsupportedSyntaxError)
from .runtime import stop_gradient

__version__ = "0.1.0"

__all__ = ["grad", "jit", "show", "value_and_grad", "vjp", "vmap", "stop_gradient", "TranspileError",
           "CompileError", "MissingRuleError", "NotDifferentiableError", "SourceUnavailableError",
           "UnsupportedSyntaxError"]
