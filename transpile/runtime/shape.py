"""Adjoints of shape operations: transposes, and splitting a joined array back into its parts.

`split_like(v, arrays, axis)` cuts v (the cotangent of np.concatenate/stack/hstack/vstack/array of
`arrays`) into one piece per element, each in the shape of its element; `join_like` is its
transpose. An element contributes its length along `axis` when it has v's ndim (concatenate),
one slice otherwise (stack, vstack of 1-D rows, np.array of scalars); with axis None
(np.concatenate(..., axis=None)) its size. A non-sequence `arrays` (np.array(x) of an array) is
simply reshaped.
"""
import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from ._numba import _norm_axis, fixed_tuple, flat, float_dtype, is_array, is_none, is_scalar, shape_array
from .broadcast import _float_dtype, reshape_as


def untranspose(v, axes):
    """Inverse of np.transpose(., axes): the cotangent of np.transpose's argument."""
    if axes is None:
        return np.transpose(v)
    return np.transpose(v, np.argsort([a % np.ndim(v) for a in axes]))


@overload(untranspose)
def _untranspose(v, axes):
    if is_none(axes):
        return lambda v, axes: np.transpose(v)
    nd = v.ndim
    as_tuple = fixed_tuple(nd)

    def impl(v, axes):
        perm = np.empty(nd, np.int64)
        for i in range(nd):
            perm[i] = _norm_axis(axes[i], nd)
        return np.transpose(v, as_tuple(np.argsort(perm)))
    return impl


def _runs(shape, axis):
    """(before, along, after): the sizes of the axes before `axis`, along it, and after it."""
    before = int(np.prod(shape[:axis]))
    return before, shape[axis], int(np.prod(shape[axis + 1:]))


@overload(_runs)
def _runs_typer(shape, axis):
    def impl(shape, axis):
        before, after = 1, 1
        for d in range(axis):
            before *= shape[d]
        for d in range(axis + 1, len(shape)):
            after *= shape[d]
        return before, shape[axis], after
    return impl


@register_jitable
def _move(src, src_len, src_lo, dst, dst_len, dst_lo, count, before, after, reverse):
    """Copy `count` slices along the middle axis of flat src (before, src_len, after) into flat dst
    (before, dst_len, after); plain loops, which Numba compiles far faster than nd slicing."""
    for b in range(before):
        for k in range(count):
            s = (b * src_len + src_lo + k) * after
            d = (b * dst_len + dst_lo + (count - 1 - k if reverse else k)) * after
            for a in range(after):
                dst[d + a] = src[s + a]


def _flip1(v, axis):
    """v reversed along one axis, as a fresh C-contiguous array."""
    return np.ascontiguousarray(np.flip(v, axis))


@overload(_flip1)
def _flip1_typer(v, axis):
    def impl(v, axis):
        before, along, after = _runs(shape_array(v.shape), _norm_axis(axis, v.ndim))
        out = np.empty(v.size, v.dtype)
        _move(np.ravel(v), along, 0, out, along, 0, along, before, after, True)
        return out.reshape(v.shape)
    return impl


def flip_axes(v, axis):
    """np.flip(v, axis), which Numba supports only without axis."""
    return np.flip(v, axis)


@overload(flip_axes)
def _flip_axes(v, axis):
    if is_none(axis):
        return lambda v, axis: np.flip(v)
    if isinstance(axis, types.Integer):
        return lambda v, axis: _flip1(v, axis)
    if not isinstance(axis, types.UniTuple):
        raise TypingError(f"flip_axes: axis must be None, an int or a tuple of ints, not {axis}")

    def many(v, axis):
        w = np.ascontiguousarray(v)
        for a in axis:
            w = _flip1(w, a)
        return w
    return many


def hstack_axis(v):
    """The axis np.hstack joins along for a result like v: 0 for 1-D, else 1."""
    return 1 if np.ndim(v) >= 2 else 0


@overload(hstack_axis)
def _hstack_axis(v):
    axis = 1 if is_array(v) and v.ndim >= 2 else 0
    return lambda v: axis


def _extent(e, v, axis):
    """How many slices along `axis` of the joined array v element e occupies."""
    return np.shape(e)[axis] if np.ndim(e) == np.ndim(v) else 1


@overload(_extent)
def _extent_typer(e, v, axis):
    if is_array(e) and e.ndim == v.ndim:
        return lambda e, v, axis: e.shape[axis]
    return lambda e, v, axis: 1


def _flat_extent(e, v, axis):
    return np.size(e)


@overload(_flat_extent)
def _flat_extent_typer(e, v, axis):
    if is_array(e):
        return lambda e, v, axis: e.size
    return lambda e, v, axis: 1


def _axis0(axis, nd):
    return 0 if axis is None else axis % nd


@overload(_axis0)
def _axis0_typer(axis, nd):
    if is_none(axis):
        return lambda axis, nd: 0
    return lambda axis, nd: _norm_axis(axis, nd)


def _slab(v, axis):
    """(before, along, after) sizes of v around the join axis, and that axis."""
    ax = _axis0(axis, np.ndim(v))
    return _runs(np.shape(v), ax), ax


@overload(_slab)
def _slab_typer(v, axis):
    def impl(v, axis):
        ax = _axis0(axis, v.ndim)
        return _runs(shape_array(v.shape), ax), ax
    return impl


def split_like(v, arrays, axis):
    """Cotangents of the elements of `arrays` from the cotangent v of their join (a tuple/list)."""
    if not isinstance(arrays, (tuple, list)):
        return reshape_as(v, arrays)
    extent = _flat_extent if axis is None else _extent
    (before, along, after), ax = _slab(v, axis)
    cube = np.reshape(v, (before, along, after))
    pieces, lo = [], 0
    for e in arrays:
        hi = lo + extent(e, v, ax)
        pieces.append(reshape_as(cube[:, lo:hi, :], e))
        lo = hi
    return type(arrays)(pieces)


@register_jitable
def _piece(v, runs, lo, count):
    before, along, after = runs
    out = np.empty(before * count * after, v.dtype)
    _move(np.ravel(v), along, lo, out, count, 0, count, before, after, False)
    return out


_UNROLLED = {}


def _unrolled(template, n, flat_axis, dtype=None):
    """A Numba implementation over a tuple of n elements with the per-element lines of `template`
    repeated for i = 0..n-1 (a tuple's length is part of its type; literal_unroll compiles slowly)."""
    key = (template, n, flat_axis, dtype)
    if key not in _UNROLLED:
        head, body, tail = template
        lines = [*head, *[line.format(i=i) for i in range(n) for line in body], tail]
        namespace = {"np": np, "_slab": _slab, "_piece": _piece, "_move": _move, "flat": flat, "dtype": dtype,
                     "reshape_as": reshape_as, "extent": _flat_extent if flat_axis else _extent}
        exec("\n".join(lines).replace("{items}", "".join(f"p{i}, " for i in range(n))), namespace)  # noqa: S102
        _UNROLLED[key] = namespace["impl"]
    return _UNROLLED[key]


_SPLIT = (("def impl(v, arrays, axis):", "    runs, ax = _slab(v, axis)", "    lo = 0"),
          ("    hi = lo + extent(arrays[{i}], v, ax)",
           "    p{i} = reshape_as(_piece(v, runs, lo, hi - lo), arrays[{i}])", "    lo = hi"),
          "    return ({items})")


@overload(split_like)
def _split_like(v, arrays, axis):
    if is_array(arrays) or is_scalar(arrays):
        return lambda v, arrays, axis: reshape_as(v, arrays)
    if not is_array(v):
        raise TypingError(f"split_like: the cotangent of a join must be an array, not {v}")
    if isinstance(arrays, types.BaseTuple):
        return _unrolled(_SPLIT, len(arrays), is_none(axis))
    if isinstance(arrays, types.List):
        extent = _flat_extent if is_none(axis) else _extent

        def split_list(v, arrays, axis):
            runs, ax = _slab(v, axis)
            hi = extent(arrays[0], v, ax)
            pieces = [reshape_as(_piece(v, runs, 0, hi), arrays[0])]
            for i in range(1, len(arrays)):
                lo = hi
                hi = lo + extent(arrays[i], v, ax)
                pieces.append(reshape_as(_piece(v, runs, lo, hi - lo), arrays[i]))
            return pieces
        return split_list
    raise TypingError(f"split_like: expected a tuple, list or array, not {arrays}")


def join_like(pieces, v, axis):
    """The join (shaped like v) of `pieces`, one per element: the transpose of split_like."""
    if not isinstance(pieces, (tuple, list)):
        return reshape_as(pieces, v)
    extent = _flat_extent if axis is None else _extent
    out = np.empty(np.shape(v), _float_dtype(v))
    (before, along, after), ax = _slab(v, axis)
    cube = out.reshape(before, along, after)
    lo = 0
    for p in pieces:
        hi = lo + extent(p, v, ax)
        cube[:, lo:hi, :] = np.reshape(p, (before, hi - lo, after))
        lo = hi
    return out


_JOIN = (("def impl(pieces, v, axis):", "    (before, along, after), ax = _slab(v, axis)",
          "    out = np.empty(v.size, dtype)", "    lo = 0"),
         ("    hi = lo + extent(pieces[{i}], v, ax)",
          "    _move(flat(pieces[{i}]), hi - lo, 0, out, along, lo, hi - lo, before, after, False)",
          "    lo = hi"),
         "    return out.reshape(v.shape)")


@overload(join_like)
def _join_like(pieces, v, axis):
    if is_array(pieces) or is_scalar(pieces):
        return lambda pieces, v, axis: reshape_as(pieces, v)
    if not is_array(v):
        raise TypingError(f"join_like: a join is an array, not {v}")
    dtype = float_dtype(v)
    if isinstance(pieces, types.BaseTuple):
        return _unrolled(_JOIN, len(pieces), is_none(axis), dtype)
    if isinstance(pieces, types.List):
        extent = _flat_extent if is_none(axis) else _extent

        def join_list(pieces, v, axis):
            (before, along, after), ax = _slab(v, axis)
            out = np.empty(v.size, dtype)
            lo = 0
            for p in pieces:
                hi = lo + extent(p, v, ax)
                _move(flat(p), hi - lo, 0, out, along, lo, hi - lo, before, after, False)
                lo = hi
            return out.reshape(v.shape)
        return join_list
    raise TypingError(f"join_like: expected a tuple, list or array, not {pieces}")
