"""Scalar helpers for GPU threads where a builtin's Numba form does not compile for CUDA:
`max(a, b)` and `min(a, b)` (their Numba implementations take *args, which the CUDA target's
device-function compiler rejects). Each is plain Python with a generic compiled twin."""
from numba.extending import register_jitable


@register_jitable
def larger(a, b):
    """max(a, b): the first of equals, as Python's max."""
    return b if b > a else a  # noqa: FURB136  (max itself is what CUDA cannot compile)


@register_jitable
def smaller(a, b):
    """min(a, b): the first of equals, as Python's min."""
    return b if b < a else a  # noqa: FURB136
