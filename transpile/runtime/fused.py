"""Allocation for fused loops: the float dtype NumPy gives the unfused statements.

Python scalars are weak operands (NumPy 2), so a chain over float32 arrays stays float32. The
dtype comes from the float arrays a result derives from, decided at typing time under Numba.
"""
import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload
from numba.np.numpy_support import as_dtype


def float_result(dtypes):
    floats = [d for d in dtypes if d.kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(np.float64)


def fused_empty(shape, *arrays):
    """An uninitialized float array for a fused result computed from `arrays`."""
    return np.empty(shape, float_result([a.dtype for a in arrays]))


def fused_cast(value, *arrays):
    """`value` (the unfused path's result) in the dtype fused_empty gives; no copy when it has it."""
    dtype = float_result([a.dtype for a in arrays])
    return value if value.dtype == dtype else value.astype(dtype)


def _array_dtypes(arrays):
    if not all(isinstance(a, types.Array) for a in arrays):
        raise TypingError(f"fused loops take arrays, got {arrays}")
    return [as_dtype(a.dtype) for a in arrays]


@overload(fused_empty)
def _fused_empty(shape, *arrays):
    dtype = float_result(_array_dtypes(arrays))

    def impl(shape, *arrays):
        return np.empty(shape, dtype)
    return impl


@overload(fused_cast)
def _fused_cast(value, *arrays):
    dtype = float_result(_array_dtypes(arrays))
    if as_dtype(value.dtype) == dtype:
        return lambda value, *arrays: value
    return lambda value, *arrays: value.astype(dtype)


def shaped_like(reference, *arrays):
    """An array of `reference`'s shape in the dtype fused_empty gives `arrays`, for a fused result
    read later only for its shape: `reference` itself when it has that dtype, so nothing is allocated."""
    dtype = float_result([a.dtype for a in arrays])
    return reference if reference.dtype == dtype else np.empty(reference.shape, dtype)


@overload(shaped_like)
def _shaped_like(reference, *arrays):
    dtype = float_result(_array_dtypes(arrays))
    if _array_dtypes([reference])[0] == dtype:
        return lambda reference, *arrays: reference

    def impl(reference, *arrays):
        return np.empty(reference.shape, dtype)
    return impl
