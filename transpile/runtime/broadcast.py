"""Broadcasting helpers: the adjoint of NumPy broadcasting and scalar-preserving selection.

Results may share memory with an argument: generated code must not write into them in place.
A "scalar" is a Python/NumPy number (a Numba Number); a 0-d array is an array.
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable
from numba.np.numpy_support import as_dtype

from ._numba import (
    broadcast_shape,
    fixed_tuple,
    flat,
    float_dtype,
    is_array,
    is_scalar,
    shape_array,
    shape_of,
)
from .groups import group_index, spread, sum_into_groups


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


def adjoint_zero(x):
    """The zero that reverse mode starts a float array's adjoint from: x's shape, at least float64.

    Contributions to an adjoint come in the precision of the values they were computed from, and
    float32 code meets float64 (np.zeros defaults to it; Numba computes float32 array * 0.5 in
    float64). An adjoint kept in float32 would change dtype at its first float64 contribution,
    which a loop cannot carry; kept in float64 it never changes (cast_like rounds the result)."""
    return np.zeros(np.shape(x), np.result_type(_float_dtype(x), np.float64))


@overload(adjoint_zero)
def _adjoint_zero(x):
    dtype = np.result_type(float_dtype(x), np.float64)
    return lambda x: np.zeros(x.shape, dtype)


def cast_like(v, x):
    """The gradient `v` in the dtype of its float array argument `x`, as JAX returns it."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" and isinstance(v, np.ndarray) and v.dtype != x.dtype:
        return v.astype(x.dtype)
    return v


@overload(cast_like)
def _cast_like(v, x):
    if is_array(v) and is_array(x) and isinstance(x.dtype, types.Float) and v.dtype != x.dtype:
        dtype = as_dtype(x.dtype)
        return lambda v, x: v.astype(dtype)
    return lambda v, x: v


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
        return broadcast_like(v, x)
    lead = v.ndim - x.ndim
    ones = tuple(lead + i for i in range(x.ndim) if x.shape[i] == 1 and v.shape[lead + i] != 1)
    if lead:
        v = np.sum(v, axis=tuple(range(lead)))
    if ones:
        v = np.sum(v, axis=tuple(i - lead for i in ones), keepdims=True)
    return np.ascontiguousarray(v).reshape(x.shape)


@overload(unbroadcast)
def _unbroadcast(v, x):
    if not is_array(x):
        if is_array(v):
            return lambda v, x: np.sum(np.ravel(v))
        return lambda v, x: v
    if not (is_scalar(v) or is_array(v)):
        raise TypingError(f"unbroadcast: cannot reduce {v} to {x}")
    if is_scalar(v) or v.ndim < x.ndim:
        return lambda v, x: broadcast_like(v, x)
    dtype = float_dtype(v)
    if v.ndim == x.ndim and v.layout == "C" and as_dtype(v.dtype) == dtype:
        def same_shape_is_itself(v, x):   # as in Python, where the result is v or a view of it
            if v.shape == x.shape:
                return v
            return _unbroadcast_sum(v, x, dtype)
        return same_shape_is_itself

    def impl(v, x):
        if v.shape == x.shape:
            return np.ascontiguousarray(v).reshape(x.shape)
        return _unbroadcast_sum(v, x, dtype)
    return impl


@register_jitable
def _unbroadcast_sum(v, x, dtype):
    out = np.zeros(x.size, dtype)
    return sum_into_groups(np.ravel(v), shape_array(v.shape), shape_array(x.shape), out).reshape(x.shape)


def broadcast_like(v, x):
    """`v` broadcast to the shape of `x` (a fresh array), or `v` itself when x is a scalar."""
    if not isinstance(x, np.ndarray):
        return reshape_as(v, x)
    out = np.empty(x.shape, _float_dtype(v))
    out[...] = v
    return out


@overload(broadcast_like)
def _broadcast_like(v, x):
    if not is_array(x):
        return lambda v, x: reshape_as(v, x)
    if is_scalar(v):
        return lambda v, x: np.full(x.shape, v)
    return lambda v, x: spread(np.ravel(v), shape_array(x.shape), shape_array(v.shape)).reshape(x.shape)


def select(cond, a, b):
    """np.where that keeps scalars scalar (np.where would return a 0-d array)."""
    if not any(isinstance(t, np.ndarray) for t in (cond, a, b)):
        return a if cond else b
    return np.where(cond, a, b)


def _elementwise3(kernel, dtype_of):
    """Numba typer of a three-operand elementwise function with NumPy broadcasting, written as
    loops over group_index (np.where's broadcasting machinery takes long to compile)."""
    def typer(p, q, r):
        if is_scalar(p) and is_scalar(q) and is_scalar(r):
            return lambda p, q, r: kernel(p, q, r)
        nd = max(t.ndim for t in (p, q, r) if is_array(t))
        dtype = dtype_of(q, r)
        as_shape = fixed_tuple(nd)

        def impl(p, q, r):
            sp, sq, sr = shape_of(p), shape_of(q), shape_of(r)
            shape = broadcast_shape(broadcast_shape(sp, sq), sr)
            fp, fq, fr = flat(p), flat(q), flat(r)
            gp, gq, gr = group_index(shape, sp), group_index(shape, sq), group_index(shape, sr)
            out = np.empty(gp.size, dtype)
            for i in range(gp.size):
                out[i] = kernel(fp[gp[i]], fq[gq[i]], fr[gr[i]])
            return out.reshape(as_shape(shape))
        return impl
    return typer


def _common_dtype(a, b):
    """np.where's result dtype, with Python scalars weak (NEP 50): arrays decide when present."""
    arrays = [as_dtype(t.dtype) for t in (a, b) if is_array(t)]
    scalars = [as_dtype(t) for t in (a, b) if not is_array(t)]
    dtype = np.result_type(*arrays) if arrays else np.result_type(*scalars)
    if any(s.kind == "f" for s in scalars) and dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return dtype


@register_jitable
def _choose(cond, a, b):
    return a if cond else b


@register_jitable
def _share(x, z, y):
    return (0.5 if y == z else 1.0) if x == z else 0.0


overload(select)(_elementwise3(_choose, _common_dtype))


def balanced_eq(x, z, y):
    """Share of the derivative of max/min(x, y) = z that goes to x: 1, 0.5 at a tie (as JAX), 0."""
    if not any(isinstance(t, np.ndarray) for t in (x, z, y)):
        return (0.5 if y == z else 1.0) if x == z else 0.0
    return np.where(x == z, np.where(y == z, 0.5, 1.0), 0.0)


overload(balanced_eq)(_elementwise3(_share, lambda z, y: np.dtype(np.float64)))
