"""Adding into a slice in place: `part = d[s]; d[s] = part + c` without a temporary array.

The adjoint of a read of a slice adds its cotangent into the slice of the larger adjoint; written
as NumPy that allocates `part + c` and copies it back on every call. `add_into` adds element by
element instead, and falls back to the NumPy form where the addend broadcasts or shares memory
with the slice (NumPy computes the whole right-hand side first, so overlapping operands see the
old values).
"""
import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable


def add_into(part, addend):
    """`part[...] = part + addend`, in place."""
    part[...] = part + addend


@register_jitable
def _extent(a):
    low = high = a.ctypes.data
    for k in range(a.ndim):
        step = (a.shape[k] - 1) * a.strides[k]
        if step < 0:
            low += step
        else:
            high += step
    return low, high + a.itemsize


@register_jitable
def _apart(a, b):
    """Do the arrays' memory ranges not meet? (An empty array meets nothing.)"""
    if a.size == 0 or b.size == 0:
        return True
    a_low, a_high = _extent(a)
    b_low, b_high = _extent(b)
    return a_high <= b_low or b_high <= a_low


@overload(add_into)
def _add_into(part, addend):
    if not isinstance(part, types.Array):
        raise TypingError(f"add_into adds into an array, got {part}")
    if isinstance(addend, (types.Number, types.Boolean)):
        def add_scalar(part, addend):
            for index in np.ndindex(part.shape):
                part[index] += addend
        return add_scalar
    if not (isinstance(addend, types.Array) and addend.ndim == part.ndim):
        def add_broadcast(part, addend):
            part[...] = part + addend
        return add_broadcast
    if part.ndim == 1:
        def add_vector(part, addend):
            n = part.shape[0]
            if addend.shape[0] == n and _apart(part, addend):
                for i in range(n):
                    part[i] += addend[i]
            else:
                part[...] = part + addend
        return add_vector

    def add_array(part, addend):
        if addend.shape == part.shape and _apart(part, addend):
            for index in np.ndindex(part.shape):
                part[index] += addend[index]
        else:
            part[...] = part + addend
    return add_array
