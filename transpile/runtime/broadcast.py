"""Broadcasting helpers: the adjoint of NumPy broadcasting and scalar-preserving selection.

Results may share memory with an argument: generated code must not write into them in place.
A "scalar" is a Python/NumPy number (a Numba Number); a 0-d array is an array.
"""
import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload

from ._numba import float_dtype, group_index, is_array, is_scalar, shape_array


def _float_dtype(x):
    dtype = np.asarray(x).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def zero_like(x):
    """A zero adjoint for `x`: 0.0 for a scalar, float zeros of x's shape for an array."""
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, _float_dtype(x))
    return _float_dtype(x).type(0)


@overload(zero_like)
def _zero_like(x):
    dtype = float_dtype(x)
    if is_array(x):
        return lambda x: np.zeros(x.shape, dtype)
    zero = dtype.type(0)
    return lambda x: zero


def reshape_as(v, x):
    """`v` (same size as x) in the shape of `x`; a scalar when x is a scalar."""
    if not isinstance(x, np.ndarray):
        return v.reshape(-1)[0] if isinstance(v, np.ndarray) else v
    if isinstance(v, np.ndarray):
        return np.reshape(v, x.shape)
    return np.full(x.shape, v)


@overload(reshape_as)
def _reshape_as(v, x):
    if not is_array(x):
        if is_array(v):
            return lambda v, x: np.ravel(v)[0]
        return lambda v, x: v
    if is_scalar(v):
        return lambda v, x: np.full(x.shape, v)
    if v.layout == "C":
        return lambda v, x: np.reshape(v, x.shape)
    return lambda v, x: np.reshape(v.copy(), x.shape)


def unbroadcast(v, x):
    """Sum the cotangent `v` down to the shape of `x`: the adjoint of broadcasting x to v's shape.

    A scalar x gets the total; an array x gets v summed over the leading axes it lacks and over
    the axes where x has length 1.
    """
    if not isinstance(x, np.ndarray):
        return np.sum(v) if isinstance(v, np.ndarray) else v
    if not isinstance(v, np.ndarray) or v.ndim < x.ndim:
        return np.zeros(x.shape, _float_dtype(v)) + v
    lead = v.ndim - x.ndim
    ones = tuple(lead + i for i in range(x.ndim) if x.shape[i] == 1 and v.shape[lead + i] != 1)
    if lead:
        v = np.sum(v, axis=tuple(range(lead)))
    if ones:
        v = np.sum(v, axis=tuple(i - lead for i in ones), keepdims=True)
    return np.ascontiguousarray(v)


@overload(unbroadcast)
def _unbroadcast(v, x):
    if not is_array(x):
        if is_array(v):
            return lambda v, x: np.sum(v)
        return lambda v, x: v
    if not (is_scalar(v) or is_array(v)):
        raise TypingError(f"unbroadcast: cannot reduce {v} to {x}")
    if is_scalar(v) or v.ndim < x.ndim:
        return lambda v, x: broadcast_like(v, x)
    dtype = float_dtype(v)

    def impl(v, x):
        if v.shape == x.shape:
            return np.ascontiguousarray(v).reshape(x.shape)
        groups = group_index(shape_array(v.shape), shape_array(x.shape))
        values = np.ravel(v)
        out = np.zeros(x.size, dtype)
        for i in range(values.size):
            out[groups[i]] += values[i]
        return out.reshape(x.shape)
    return impl


def broadcast_like(v, x):
    """`v` broadcast to the shape of `x` (a fresh array), or `v` itself when x is a scalar."""
    if not isinstance(x, np.ndarray):
        return reshape_as(v, x)
    return np.zeros(x.shape, _float_dtype(v)) + v


@overload(broadcast_like)
def _broadcast_like(v, x):
    if not is_array(x):
        return lambda v, x: reshape_as(v, x)
    if is_scalar(v):
        return lambda v, x: np.full(x.shape, v)
    return lambda v, x: np.ravel(v)[group_index(shape_array(x.shape), shape_array(v.shape))].reshape(x.shape)


def select(cond, a, b):
    """np.where that keeps scalars scalar (np.where would return a 0-d array)."""
    if not any(isinstance(t, np.ndarray) for t in (cond, a, b)):
        return a if cond else b
    return np.where(cond, a, b)


@overload(select)
def _select(cond, a, b):
    if is_scalar(cond) and is_scalar(a) and is_scalar(b):
        return lambda cond, a, b: a if cond else b
    return lambda cond, a, b: np.where(cond, a, b)


def balanced_eq(x, z, y):
    """Share of the derivative of max/min(x, y) = z that goes to x: 1, 0.5 at a tie (as JAX), 0."""
    if not any(isinstance(t, np.ndarray) for t in (x, z, y)):
        return (0.5 if y == z else 1.0) if x == z else 0.0
    return np.where(x == z, np.where(y == z, 0.5, 1.0), 0.0)


@overload(balanced_eq)
def _balanced_eq(x, z, y):
    if is_scalar(x) and is_scalar(z) and is_scalar(y):
        return lambda x, z, y: (0.5 if y == z else 1.0) if x == z else 0.0
    return lambda x, z, y: np.where(x == z, np.where(y == z, 0.5, 1.0), 0.0)
