"""Helpers that vmapped code calls: allocate batched outputs, check batch sizes."""
import numpy as np
from numba.core import types
from numba.extending import overload


def batch_alloc(first, n):
    """An array for `n` results shaped like `first` (a scalar or an array)."""
    first = np.asarray(first)
    return np.empty((n,) + first.shape, dtype=np.result_type(first.dtype, np.float64)
                    if first.dtype.kind in "biu" else first.dtype)


@overload(batch_alloc)
def _batch_alloc(first, n):
    if isinstance(first, types.Array):
        def impl(first, n):
            shape = (n,) + first.shape
            return np.empty(shape, dtype=first.dtype)
        return impl
    if isinstance(first, (types.Integer, types.Boolean)):
        return lambda first, n: np.empty(n, dtype=np.float64)
    return lambda first, n: np.empty(n, dtype=type(first))


def check_batch_size(size, expected):
    """Mapped arguments must agree on the batch size."""
    if size != expected:
        raise ValueError(f"vmap got mapped axes of different sizes ({size} and {expected})")
    return size


@overload(check_batch_size)
def _check_batch_size(size, expected):
    def impl(size, expected):
        if size != expected:
            raise ValueError("vmap got mapped axes of different sizes")
        return size
    return impl
