"""NumPy functions in forms Numba does not compile, as helpers that it does.

transforms/lower.py rewrites `np.var(x, axis=0)`, `np.std(x, ddof=1)`, `np.inner(a, b)` and
`np.squeeze(x, axis=1)` into these calls just before code generation; each behaves as the NumPy
call in Python and has a Numba `@overload` twin.
"""
import numpy as np
from numba import literal_unroll, types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from ._numba import axis_mask, fixed_tuple, is_array, is_none, is_scalar, kept_shape, literal_bool, shape_array
from .reduce import reduce_mean, reduce_sum, reduced_size
from .tape import USER_MESSAGE


def reduce_var(x, axis, ddof, keepdims):
    """np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)."""
    out = np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return np.asarray(out) if keepdims and isinstance(x, np.ndarray) else out


def reduce_std(x, axis, ddof, keepdims):
    """np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)."""
    return np.sqrt(reduce_var(x, axis, ddof, keepdims))


@register_jitable
def _variance(x, axis, ddof):
    centered = x - reduce_mean(x, axis, True)
    return reduce_sum(centered * centered, axis, False) / (reduced_size(x, axis) - ddof)


@register_jitable
def _variance_kept(x, axis, ddof):
    centered = x - reduce_mean(x, axis, True)
    return reduce_sum(centered * centered, axis, True) / (reduced_size(x, axis) - ddof)


@overload(reduce_var, prefer_literal=True)
def _reduce_var(x, axis, ddof, keepdims):
    if is_scalar(x):
        return lambda x, axis, ddof, keepdims: 0.0 * x
    if literal_bool(keepdims, "keepdims"):
        return lambda x, axis, ddof, keepdims: _variance_kept(x, axis, ddof)
    return lambda x, axis, ddof, keepdims: _variance(x, axis, ddof)


@overload(reduce_std, prefer_literal=True)
def _reduce_std(x, axis, ddof, keepdims):
    if is_scalar(x):
        return lambda x, axis, ddof, keepdims: 0.0 * x
    if literal_bool(keepdims, "keepdims"):
        return lambda x, axis, ddof, keepdims: np.sqrt(_variance_kept(x, axis, ddof))
    return lambda x, axis, ddof, keepdims: np.sqrt(_variance(x, axis, ddof))


def inner(a, b):
    """np.inner(a, b): sums over the last axes of a and b."""
    return np.inner(a, b)


@overload(inner)
def _inner(a, b):
    if is_scalar(a) or is_scalar(b):
        return lambda a, b: a * b
    if is_array(a) and is_array(b) and a.ndim <= 2 and b.ndim <= 2:
        if b.ndim == 1:
            return lambda a, b: np.dot(a, b)
        if a.ndim == 1:
            return lambda a, b: np.dot(b, a)
        return lambda a, b: np.dot(a, b.T)
    raise TypingError(f"{USER_MESSAGE} np.inner takes operands of ndim <= 2 under jit, got {a} and {b}")


def squeeze_axes(a, axis):
    """np.squeeze(a, axis)."""
    return np.squeeze(a, axis)


@overload(squeeze_axes)
def _squeeze_axes(a, axis):
    if is_scalar(a):
        return lambda a, axis: a
    if is_none(axis):
        raise TypingError(f"{USER_MESSAGE} np.squeeze needs axis= under jit: the rank of its result must be "
                          "known before the call")
    to_shape = fixed_tuple(a.ndim - (1 if isinstance(axis, types.Integer) else len(axis)))

    def impl(a, axis):
        mask = axis_mask(axis, a.ndim)
        shape = shape_array(a.shape)
        for i in range(a.ndim):
            if mask[i] and shape[i] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
        return np.ascontiguousarray(a).reshape(to_shape(kept_shape(shape, mask, False)))
    return impl


def concatenate_ravelled(arrays):
    """np.concatenate(arrays, axis=None) for a tuple or list held in a variable (a literal tuple is
    ravelled element by element where it is written: transforms/lower.py)."""
    return np.concatenate(arrays, axis=None)


@overload(concatenate_ravelled)
def _concatenate_ravelled(arrays):
    if isinstance(arrays, types.List) and is_array(arrays.dtype):
        elements = [arrays.dtype]
    elif isinstance(arrays, types.BaseTuple) and len(arrays) and all(is_array(t) for t in arrays):
        elements = list(arrays)
    else:
        raise TypingError(f"{USER_MESSAGE} np.concatenate(..., axis=None) joins a tuple or list of arrays; "
                          f"got {arrays}")
    dtype = np.result_type(*[np.dtype(str(t.dtype)) for t in elements])
    unroll = literal_unroll if isinstance(arrays, types.BaseTuple) else _same

    def impl(arrays):
        size = 0
        for a in unroll(arrays):
            size += a.size
        out = np.empty(size, dtype)
        start = 0
        for a in unroll(arrays):
            flat = np.ravel(a)
            for k in range(flat.size):
                out[start + k] = flat[k]
            start += flat.size
        return out
    return impl


@register_jitable
def _same(arrays):
    return arrays
