"""Reductions with NumPy's axis/keepdims semantics that also compile under Numba, and their adjoints.

Numba's np.sum/np.max/... take no keepdims or tuple axis (np.max/np.mean no axis at all), so the
compiled twins walk the groups of `groups.group_plan` with loops of their own. Under
Numba `keepdims` must be a constant, because it decides the result's ndim; `axis` may be a
run-time int or tuple.
"""
import numpy as np
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable
from numba.np.numpy_support import as_dtype

from ._numba import (
    axis_mask,
    fixed_tuple,
    flat,
    float_dtype,
    is_array,
    is_scalar,
    kept_shape,
    literal_bool,
    named,
    py_axes,
    reduced_count,
    shape_array,
)
from .broadcast import _float_dtype, broadcast_like, reshape_as
from .groups import add, group_index, make_group_fold, spread, sum_into_groups


def _reduce(op, x, axis, keepdims):
    if not isinstance(x, np.ndarray):
        return x
    out = op(x, axis=axis, keepdims=keepdims)
    return np.asarray(out) if keepdims else out  # NumPy gives a scalar for a 0-d x even under keepdims


def reduce_sum(x, axis, keepdims):
    """np.sum(x, axis=axis, keepdims=keepdims)."""
    return _reduce(np.sum, x, axis, keepdims)


def reduce_mean(x, axis, keepdims):
    """np.mean(x, axis=axis, keepdims=keepdims)."""
    return _reduce(np.mean, x, axis, keepdims)


def reduce_max(x, axis, keepdims):
    """np.max(x, axis=axis, keepdims=keepdims)."""
    return _reduce(np.max, x, axis, keepdims)


def reduce_min(x, axis, keepdims):
    """np.min(x, axis=axis, keepdims=keepdims)."""
    return _reduce(np.min, x, axis, keepdims)


def reduce_prod(x, axis, keepdims):
    """np.prod(x, axis=axis, keepdims=keepdims)."""
    return _reduce(np.prod, x, axis, keepdims)


@register_jitable
def _mul(a, b):
    return a * b


@register_jitable
def _max(a, b):
    return b if b > a or np.isnan(b) else a  # NaN propagates, as in np.max


@register_jitable
def _min(a, b):
    return b if b < a or np.isnan(b) else a


def _extreme(dtype, sign):
    if dtype.kind == "f":
        return dtype.type(sign * np.inf)
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    return dtype.type(info.min if sign < 0 else info.max) if info else dtype.type(sign < 0)


def _make_folds(update):
    """Jitables reducing a 1-d array: into the groups of a reduced shape, or whole."""
    def fold_all(values, start):
        acc = start
        for i in range(values.size):
            acc = update(acc, values[i])
        return acc
    op = update.__name__.strip("_")
    return make_group_fold(update), register_jitable(named(fold_all, f"fold_all_{op}"))


@register_jitable
def _as_is(out, count):
    return out


@register_jitable
def _averaged(out, count):
    out /= max(count, 1)
    return out


def _reducer(folds, initial, name, mean=False):
    fold, fold_all = folds
    finish = _averaged if mean else _as_is

    def typer(x, axis, keepdims):
        keep = literal_bool(keepdims, "keepdims")
        if is_scalar(x):
            return named(lambda x, axis, keepdims: x, f"{name}_scalar")
        if not is_array(x):
            raise TypingError(f"cannot reduce {x}")
        nd = x.ndim
        nout = nd if keep else nd - reduced_count(axis, nd)
        start = initial(float_dtype(x) if mean else as_dtype(x.dtype))
        if nout == 0 and not keep:
            if mean:
                return named(lambda x, axis, keepdims: fold_all(np.ravel(x), start) / max(x.size, 1), f"{name}_all")
            return named(lambda x, axis, keepdims: fold_all(np.ravel(x), start), f"{name}_all")
        out_shape = fixed_tuple(nout)

        def impl(x, axis, keepdims):
            mask = axis_mask(axis, nd)
            shape = shape_array(x.shape)
            small = kept_shape(shape, mask, True)
            size = np.prod(small)
            out = finish(fold(np.ravel(x), shape, small, np.full(size, start)), x.size // max(size, 1))
            return out.reshape(out_shape(kept_shape(shape, mask, keep)))
        return named(impl, f"{name}_axes")
    return typer


_SUM, _PROD, _MAX, _MIN = (_make_folds(u) for u in (add, _mul, _max, _min))
for _fn, _folds, _initial in [(reduce_sum, _SUM, lambda t: t.type(0)), (reduce_prod, _PROD, lambda t: t.type(1)),
                              (reduce_max, _MAX, lambda t: _extreme(t, -1)),
                              (reduce_min, _MIN, lambda t: _extreme(t, 1))]:
    overload(_fn, prefer_literal=True)(_reducer(_folds, _initial, _fn.__name__))
overload(reduce_mean, prefer_literal=True)(_reducer(_SUM, lambda t: t.type(0), "reduce_mean", mean=True))


def _keepdims_view(v, x, axis):
    """`v`, a reduction of x over axis, reshaped so that it broadcasts against x."""
    v = np.asarray(v)
    return v if v.ndim == x.ndim else np.expand_dims(v, py_axes(axis, x.ndim))


@register_jitable
def _reduced_shape(x, v, axis):
    """The shape, as x's ndim with 1s, of v: a reduction of x over axis with or without keepdims."""
    shape = shape_array(x.shape)
    return shape_array(v.shape) if v.ndim == x.ndim else kept_shape(shape, axis_mask(axis, x.ndim), True)


def sum_vjp(v, x, axis, keepdims):
    """Cotangent of x in np.sum(x, axis, keepdims=...): v broadcast back to x's shape."""
    if not isinstance(x, np.ndarray):
        return reshape_as(v, x)
    return broadcast_like(_keepdims_view(v, x, axis), x)


@overload(sum_vjp)
def _sum_vjp(v, x, axis, keepdims):
    if not is_array(x):
        return lambda v, x, axis, keepdims: reshape_as(v, x)
    if is_scalar(v):
        return lambda v, x, axis, keepdims: np.full(x.shape, v)

    def impl(v, x, axis, keepdims):
        return spread(np.ravel(v), shape_array(x.shape), _reduced_shape(x, v, axis)).reshape(x.shape)
    return impl


def reduced_size(x, axis):
    """How many elements each result of a reduction of x over axis combines, as a float."""
    if not isinstance(x, np.ndarray):
        return 1.0
    return float(np.prod([x.shape[i] for i in py_axes(axis, x.ndim)]))


@overload(reduced_size)
def _reduced_size(x, axis):
    if not is_array(x):
        return lambda x, axis: 1.0
    nd = x.ndim

    def impl(x, axis):
        mask = axis_mask(axis, nd)
        n = 1.0
        for i in range(nd):
            if mask[i]:
                n *= x.shape[i]
        return n
    return impl


def mean_vjp(v, x, axis, keepdims):
    """Cotangent of x in np.mean(x, axis, keepdims=...)."""
    out = sum_vjp(v, x, axis, keepdims)
    out /= reduced_size(x, axis)
    return out


@overload(mean_vjp)
def _mean_vjp(v, x, axis, keepdims):
    if not is_array(x):
        return lambda v, x, axis, keepdims: reshape_as(v, x)

    def impl(v, x, axis, keepdims):
        out = sum_vjp(v, x, axis, keepdims)
        out /= reduced_size(x, axis)
        return out
    return impl


def chooser_weights(x, m, axis):
    """Where x attains its reduction m = max/min(x, axis): 1/count at each tie, 0 elsewhere (JAX)."""
    if not isinstance(x, np.ndarray):
        return 1.0
    hit = np.asarray(x == _keepdims_view(m, x, axis), _float_dtype(x))
    hit /= np.sum(hit, axis=py_axes(axis, x.ndim), keepdims=True)
    return hit


@overload(chooser_weights)
def _chooser_weights(x, m, axis):
    if not is_array(x):
        return lambda x, m, axis: 1.0
    dtype = float_dtype(x)
    nd = x.ndim

    def impl(x, m, axis):
        shape = shape_array(x.shape)
        small = kept_shape(shape, axis_mask(axis, nd), True)
        chosen = spread(flat(m), shape, small)
        values = np.ravel(x)
        hit = np.zeros(values.size, dtype)
        for i in range(values.size):
            if values[i] == chosen[i]:
                hit[i] = 1
        count = spread(sum_into_groups(hit, shape, small, np.zeros(np.prod(small), dtype)), shape, small)
        for i in range(values.size):
            if hit[i]:
                hit[i] /= count[i]
        return hit.reshape(x.shape)
    return impl


def prod_others(x, axis):
    """For each element, the product of the other elements of its reduction group (exact at zeros)."""
    if not isinstance(x, np.ndarray):
        return _float_dtype(x).type(1)
    axes = py_axes(axis, x.ndim)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, last)
    rows = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    left, right = np.ones_like(rows), np.ones_like(rows)
    left[..., 1:] = np.cumprod(rows[..., :-1], axis=-1)
    right[..., :-1] = np.cumprod(rows[..., :0:-1], axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), last, axes)


@overload(prod_others)
def _prod_others(x, axis):
    if not is_array(x):
        one = float_dtype(x).type(1)
        return lambda x, axis: one
    nd = x.ndim
    dtype = as_dtype(x.dtype)

    def impl(x, axis):
        shape = shape_array(x.shape)
        small = kept_shape(shape, axis_mask(axis, nd), True)
        groups = group_index(shape, small)
        values = np.ravel(x)
        out = np.empty(values.size, dtype)
        running = np.ones(np.prod(small), dtype)
        for i in range(values.size):
            out[i] = running[groups[i]]
            running[groups[i]] *= values[i]
        running[:] = 1
        for i in range(values.size - 1, -1, -1):
            out[i] *= running[groups[i]]
            running[groups[i]] *= values[i]
        return out.reshape(x.shape)
    return impl
