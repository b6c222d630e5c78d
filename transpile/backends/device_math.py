"""Scalar helpers for GPU threads where NumPy's or a builtin's Numba form does not compile for CUDA.

`max(a, b)` and `min(a, b)`: their Numba implementations take *args, which the CUDA target's
device-function compiler rejects. The NumPy ufuncs below have no scalar form on the CUDA target
(or, like `math.floor`, one that returns an int): fused kernels (transforms/fuse_kernels.py) call
these instead, with NumPy's results, NaN and inf included. Each is plain Python with a generic
compiled twin, so the simulator runs the same code.
"""
import math

from numba.extending import register_jitable

_LN2 = math.log(2.0)
_INTEGRAL = 4503599627370496.0  # 2**52: every float at least this large is an integer


@register_jitable
def larger(a, b):
    """max(a, b): the first of equals, as Python's max."""
    return b if b > a else a  # noqa: FURB136  (max itself is what CUDA cannot compile)


@register_jitable
def smaller(a, b):
    """min(a, b): the first of equals, as Python's min."""
    return b if b < a else a  # noqa: FURB136


@register_jitable
def maximum(a, b):
    """np.maximum: NaN if either is NaN."""
    return a if (a > b or a != a) else b


@register_jitable
def minimum(a, b):
    """np.minimum: NaN if either is NaN."""
    return a if (a < b or a != a) else b


@register_jitable
def fmax(a, b):
    """np.fmax: the other operand where one is NaN."""
    return a if (a > b or b != b) else b


@register_jitable
def fmin(a, b):
    """np.fmin: the other operand where one is NaN."""
    return a if (a < b or b != b) else b


@register_jitable
def sign(x):
    """np.sign: -1.0, 0.0 or 1.0, NaN for NaN."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return x


@register_jitable
def floor(x):
    """np.floor: a float; inf and NaN unchanged."""
    if abs(x) < _INTEGRAL:
        return float(math.floor(x))
    return x


@register_jitable
def ceil(x):
    """np.ceil: a float; inf and NaN unchanged."""
    if abs(x) < _INTEGRAL:
        return float(math.ceil(x))
    return x


@register_jitable
def cbrt(x):
    """np.cbrt: the real cube root, negative for negative x."""
    return math.copysign(abs(x) ** (1.0 / 3.0), x)


@register_jitable
def exp2(x):
    """np.exp2."""
    return 2.0 ** x


@register_jitable
def logaddexp(a, b):
    """np.logaddexp: log(exp(a) + exp(b)) without overflow, as NumPy computes it."""
    if a == b:  # also for equal infinities
        return a + _LN2
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d <= 0:
        return b + math.log1p(math.exp(d))
    return d  # NaN


@register_jitable
def logaddexp2(a, b):
    """np.logaddexp2: log2(2**a + 2**b) without overflow."""
    if a == b:
        return a + 1.0
    d = a - b
    if d > 0:
        return a + math.log1p(2.0 ** -d) / _LN2
    if d <= 0:
        return b + math.log1p(2.0 ** d) / _LN2
    return d


@register_jitable
def logical_and(a, b):
    return a != 0 and b != 0


@register_jitable
def logical_or(a, b):
    return a != 0 or b != 0


@register_jitable
def logical_not(a):
    return a == 0
