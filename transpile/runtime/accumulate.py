"""Adding into a slice in place: `part = d[s]; d[s] = part + c` without a temporary array.

The adjoint of a read of a slice adds its cotangent into the slice of the larger adjoint; written
as NumPy that allocates `part + c` and copies it back on every call. `add_into` adds element by
element instead, the addend broadcast to the part's shape, and first copies an addend that shares
memory with the part (NumPy computes the whole right-hand side first, so overlapping operands see
the old values).
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
    # explicit loops: Numba compiles `part[...] = part + addend` several times slower
    if not isinstance(part, types.Array):
        raise TypingError(f"add_into adds into an array, got {part}")
    if isinstance(addend, (types.Number, types.Boolean)):
        def add_scalar(part, addend):
            for index in np.ndindex(part.shape):
                part[index] += addend
        return add_scalar
    if not isinstance(addend, types.Array):
        raise TypingError(f"add_into adds an array or a scalar, got {addend}")
    if part.ndim == 1 and addend.ndim == 1:
        def add_vector(part, addend):
            n, m = part.shape[0], addend.shape[0]
            if m != n and m != 1:
                raise ValueError("operands could not be broadcast together")
            source = addend if _apart(part, addend) else addend.copy()
            step = 1 if m == n else 0
            for i in range(n):
                part[i] += source[i * step]
        return add_vector

    def add_array(part, addend):
        source = addend if _apart(part, addend) else addend.copy()
        spread = np.broadcast_to(source, part.shape)
        for index in np.ndindex(part.shape):
            part[index] += spread[index]
    return add_array
