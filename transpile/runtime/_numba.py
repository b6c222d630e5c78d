"""Compile-time pieces shared by the runtime overloads: Numba type tests and axis bookkeeping.

Each public helper is a plain NumPy function plus an `@overload` that picks an implementation from
the Numba types of its arguments (scalar or array of a given ndim, axis None/int/tuple), so that
generated code calls the same name under Python and under `numba.njit`.
"""
import functools

import numpy as np
from numba import literal_unroll, types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable
from numba.np.numpy_support import as_dtype
from numba.np.unsafe.ndarray import to_fixed_tuple


def is_array(t):
    return isinstance(t, types.Array)


def is_scalar(t):
    return isinstance(t, (types.Number, types.Boolean))


def is_none(t):
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


def numba_dtype(sample):
    """The NumPy dtype of a tape for scalars of Numba type `sample`."""
    if isinstance(sample, types.Boolean):
        return np.bool_
    if isinstance(sample, types.Integer):
        return np.int64
    return np.float64


def float_dtype(t):
    """The floating dtype a derivative of a value of Numba type `t` has (float64 for ints/bools)."""
    dtype = t.dtype if is_array(t) else t
    return as_dtype(dtype) if isinstance(dtype, types.Float) else np.dtype(np.float64)


def reduced_count(axis, nd):
    """How many axes a reduction over `axis` removes, known from its Numba type alone."""
    if is_none(axis):
        return nd
    if isinstance(axis, types.Integer):
        return 1
    if isinstance(axis, types.BaseTuple):
        return len(axis)
    raise TypingError(f"axis must be None, an int or a tuple of ints, not {axis}")


def literal_bool(t, name):
    """The compile-time value of a flag such as keepdims, which decides the result's ndim."""
    if is_none(t):
        return False
    if isinstance(t, types.BooleanLiteral):
        return t.literal_value
    raise TypingError(f"{name} must be a constant True or False under numba, got {t}")


def named(fn, name):
    """`fn`, renamed `name`. Numba names a compiled function's symbol after its qualified name and
    a per-process counter; closures made by one factory share their qualified name, so a process
    loading another's cached code can bind a call to the wrong closure (a max came back as a
    sum). Every closure a factory hands to Numba gets a name of its own through this."""
    fn.__name__ = fn.__qualname__ = name
    return fn


@functools.cache
def fixed_tuple(n):
    """A jitable turning an int array of length `n` (a compile-time constant) into a shape tuple."""
    def to_tuple(arr):
        return to_fixed_tuple(arr, n)
    return register_jitable(named(to_tuple, f"to_tuple_{n}"))


def py_axes(axis, nd):
    """Normalized tuple of the axes a reduction over `axis` touches (plain Python)."""
    if axis is None:
        return tuple(range(nd))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(int(a) % nd for a in axes))


@register_jitable
def _norm_axis(a, nd):
    if a < -nd or a >= nd:
        raise ValueError("axis out of range")
    return a + nd if a < 0 else a


def axis_mask(axis, nd):
    """Boolean array: which of `nd` axes `axis` (None, int or tuple) names."""
    mask = np.zeros(nd, np.bool_)
    mask[list(py_axes(axis, nd))] = True
    return mask


@overload(axis_mask)
def _axis_mask(axis, nd):
    if is_none(axis):
        return lambda axis, nd: np.ones(nd, np.bool_)
    if isinstance(axis, types.Integer):
        def one(axis, nd):
            mask = np.zeros(nd, np.bool_)
            mask[_norm_axis(axis, nd)] = True
            return mask
        return one
    if isinstance(axis, types.UniTuple):
        def uniform(axis, nd):
            mask = np.zeros(nd, np.bool_)
            for a in axis:
                mask[_norm_axis(a, nd)] = True
            return mask
        return uniform
    if isinstance(axis, types.BaseTuple):
        def mixed(axis, nd):
            mask = np.zeros(nd, np.bool_)
            for a in literal_unroll(axis):
                mask[_norm_axis(a, nd)] = True
            return mask
        return mixed
    raise TypingError(f"axis must be None, an int or a tuple of ints, not {axis}")


def shape_array(shape):
    """A shape tuple as an int64 array (Numba cannot index an empty tuple at run time)."""
    return np.array(shape, np.int64).reshape(len(shape))


@overload(shape_array)
def _shape_array(shape):
    if len(shape) == 0:
        return lambda shape: np.zeros(0, np.int64)

    def impl(shape):
        out = np.empty(len(shape), np.int64)
        for i in range(len(shape)):
            out[i] = shape[i]
        return out
    return impl


@register_jitable
def kept_shape(shape, mask, keepdims):
    """Shape (int array) after reducing the masked axes of `shape` (an int array); 1s under keepdims."""
    out = np.empty(len(shape), np.int64)
    j = 0
    for i in range(len(shape)):
        if not mask[i]:
            out[j] = shape[i]
            j += 1
        elif keepdims:
            out[j] = 1
            j += 1
    return out[:j]


def shape_of(x):
    """np.shape(x) as an int64 array (empty for a scalar)."""
    return np.array(np.shape(x), np.int64)


@overload(shape_of)
def _shape_of(x):
    if is_array(x):
        return lambda x: shape_array(x.shape)
    return lambda x: np.zeros(0, np.int64)


@register_jitable
def broadcast_shape(a, b):
    """The broadcast of two shapes given as int arrays."""
    n = max(len(a), len(b))
    out = np.ones(n, np.int64)
    for i in range(1, n + 1):
        da = a[len(a) - i] if i <= len(a) else 1
        db = b[len(b) - i] if i <= len(b) else 1
        if da != 1 and db != 1 and da != db:
            raise ValueError("operands could not be broadcast together")
        out[n - i] = db if da == 1 else da
    return out


def flat(x):
    """x as a contiguous 1-d array (a scalar as one element)."""
    return np.ravel(x)


@overload(flat)
def _flat(x):
    if is_array(x):
        return lambda x: np.ravel(x)
    return lambda x: np.full(1, x)
