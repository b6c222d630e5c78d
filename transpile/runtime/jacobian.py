"""Helpers that Jacobian code calls: basis vectors, flat views, and the final `out.shape + x.shape`."""
import numpy as np
from numba.extending import overload

from ._numba import is_array


def flat_size(x):
    """The number of elements of `x` (1 for a scalar)."""
    return np.size(x)


@overload(flat_size)
def _flat_size(x):
    if is_array(x):
        return lambda x: x.size
    return lambda x: 1


def basis_vector(x, j):
    """Float zeros shaped like `x` with a one at flat index `j` (1.0 for a scalar)."""
    if not isinstance(x, np.ndarray):
        return 1.0
    e = np.zeros(x.size)
    e[j] = 1.0
    return e.reshape(x.shape)


@overload(basis_vector)
def _basis_vector(x, j):
    if not is_array(x):
        return lambda x, j: 1.0

    def impl(x, j):
        e = np.zeros(x.size)
        e[j] = 1.0
        return e.reshape(x.shape)
    return impl


def flat_values(v):
    """The elements of `v` as a 1-d array (one element for a scalar)."""
    return np.ravel(v).astype(np.float64) if isinstance(v, np.ndarray) else np.full(1, float(v))


@overload(flat_values)
def _flat_values(v):
    if is_array(v):
        return lambda v: np.ravel(v).astype(np.float64)
    return lambda v: np.full(1, np.float64(v))


def jacobian_shaped(matrix, out, x):
    """The (out.size, x.size) `matrix` in the shape `out.shape + x.shape`; a float when both are scalars."""
    if not isinstance(out, np.ndarray) and not isinstance(x, np.ndarray):
        return float(matrix[0, 0])
    return np.reshape(matrix, np.shape(out) + np.shape(x))


@overload(jacobian_shaped)
def _jacobian_shaped(matrix, out, x):
    if is_array(out) and is_array(x):
        return lambda matrix, out, x: np.ascontiguousarray(matrix).reshape(out.shape + x.shape)
    if is_array(out):
        return lambda matrix, out, x: np.ascontiguousarray(matrix).reshape(out.shape)
    if is_array(x):
        return lambda matrix, out, x: np.ascontiguousarray(matrix).reshape(x.shape)
    return lambda matrix, out, x: matrix[0, 0]
