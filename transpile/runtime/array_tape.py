"""Float arrays on a flat float tape: reverse mode's stacks of arrays without a list.

A list stack costs, per push, the saved array itself, list growth and reference counting on push and
pop; for the small arrays of a recurrent loop (an LSTM's rows of 14) that is most of the gradient's
time. Here each push copies the array's elements, then its shape, onto a float64 tape like the scalar
ones (so compiled code keeps it between calls, pooled_tape.py); a restore drops the latest entry and
returns the one before it as a view of the tape (a copy in the array's dtype when that is not float64).
The entry's shape sits at its end so that a restore, which knows only the rank, can find its start.

A stack of stand-ins saved only for their shape (shape_stand_in, shape_restore) keeps only the
shapes: `push_shape` writes them and `restore_shape` hands back the current array when it has the
shape before, which it nearly always has.

The tape grows only in the rare branch `if lacks_room(...): tape = grown_for(...)`: returning the tape
from every push would cost two atomic reference-count updates per push, more than copying 14 floats.
Used by transforms/array_tapes.py for arrays that nothing writes in place after they are pushed.
"""
import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import overload, register_jitable

from .tape import tape_reserve


@register_jitable
def lacks_room(tape, top, value):
    """Would pushing `value` above `top` overrun the tape?"""
    return top + value.size + value.ndim >= tape.shape[0]


@register_jitable
def grown_for(tape, top, value):
    """A copy of the tape with room to push `value` above `top` (and room to spare)."""
    return tape_reserve(tape, top + value.size + value.ndim)


def push_array(tape, top, value):
    """Copy `value`, then its shape, above `top`; returns the new top. The caller made room."""
    if lacks_room(tape, top, value):
        raise IndexError("push_array: no room on the tape (grown_for makes it)")
    k = top + 1
    for element in value.flat:
        tape[k] = element
        k += 1
    for extent in value.shape:
        tape[k] = extent
        k += 1
    return k - 1


@overload(push_array)
def _push_array(tape, top, value):
    if not isinstance(value, types.Array):
        raise TypingError(f"push_array pushes an array, got {value}")

    def push_vector(tape, top, value):
        n = value.shape[0]
        if top + n + 1 >= tape.shape[0]:
            raise IndexError("push_array: no room on the tape (grown_for makes it)")
        for i in range(n):
            tape[top + 1 + i] = value[i]
        tape[top + n + 1] = n
        return top + n + 1

    return push_vector if value.ndim == 1 else push_array


def _entry_length(tape, top, ndim):
    """How many tape slots the entry ending at `top` takes: its elements, then its shape."""
    size = 1
    for k in range(ndim):
        size *= int(tape[top - k])
    return size + ndim


def restore_array(tape, top, current):
    """(top, value): the latest entry dropped, `value` the entry before it (`current` if none)."""
    top -= _entry_length(tape, top, current.ndim)
    if top < 0:
        return top, current
    return top, latest_array(tape, top, current)


def latest_array(tape, top, like):
    """The entry ending at `top`, shaped as pushed, in `like`'s dtype."""
    shape = tuple(int(tape[top - like.ndim + 1 + k]) for k in range(like.ndim))
    start = top - _entry_length(tape, top, like.ndim) + 1
    return tape[start:start + int(np.prod(shape))].reshape(shape).astype(like.dtype, copy=False)


@overload(latest_array)
def _latest_array(tape, top, like):
    if not isinstance(like, types.Array):
        raise TypingError(f"latest_array reads an array, got {like}")
    ndim, dtype = like.ndim, like.dtype
    zeros = (0,) * ndim

    def vector(tape, top, like):
        """A view of the tape: straight-line code that LLVM inlines into the caller."""
        return tape[top - int(tape[top]):top]

    def view(tape, top, like):
        """A view of the tape (the entry is float64)."""
        shape = zeros
        size = 1
        for k in range(ndim):
            extent = int(tape[top - ndim + 1 + k])
            shape = tuple_setitem(shape, k, extent)
            size *= extent
        start = top - ndim - size + 1
        return tape[start:start + size].reshape(shape)
    read = vector if ndim == 1 else view
    if dtype == types.float64:
        return read
    as_float64 = register_jitable(read)
    return lambda tape, top, like: as_float64(tape, top, like).astype(dtype)


@overload(restore_array)
def _restore_array(tape, top, current):
    if not isinstance(current, types.Array):
        raise TypingError(f"restore_array restores an array, got {current}")
    ndim = current.ndim

    def impl(tape, top, current):
        size = 1
        for k in range(ndim):
            size *= int(tape[top - k])
        top -= size + ndim
        if top < 0:
            return top, current
        return top, latest_array(tape, top, current)
    return impl


@register_jitable
def push_shape(tape, top, value):
    """Copy only `value`'s shape above `top` (a stand-in saved for its shape, runtime/tape.py:
    shape_stand_in); returns the new top. The caller made room."""
    if top + value.ndim >= tape.shape[0]:
        raise IndexError("push_shape: no room on the tape (grown_for makes it)")
    for extent in value.shape:
        top += 1
        tape[top] = extent
    return top


def restore_shape(tape, top, current):
    """(top, value): the latest shape dropped, `value` an array of the shape before it: `current`
    when it has that shape (or when none is left), else a new uninitialized one."""
    top -= current.ndim
    if top < 0 or current.shape == tuple(int(tape[top - current.ndim + 1 + k]) for k in range(current.ndim)):
        return top, current
    return top, np.empty(tuple(int(tape[top - current.ndim + 1 + k]) for k in range(current.ndim)), current.dtype)


@overload(restore_shape)
def _restore_shape(tape, top, current):
    if not isinstance(current, types.Array):
        raise TypingError(f"restore_shape restores an array, got {current}")
    ndim = current.ndim
    zeros = (0,) * ndim

    def impl(tape, top, current):
        top -= ndim
        if top < 0:
            return top, current
        shape = zeros
        for k in range(ndim):
            shape = tuple_setitem(shape, k, int(tape[top - ndim + 1 + k]))
        if shape == current.shape:
            return top, current
        return top, np.empty(shape, current.dtype)
    return impl

