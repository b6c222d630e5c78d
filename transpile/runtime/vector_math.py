"""exp, log, tanh and erf of a float that LLVM can vectorize, for loops compiled on the CPU.

Numba compiles `math.exp(x)` (and `np.exp` of a scalar) to a call into libm. A loop that calls
libm stays scalar, so a fused chain or a vmapped Black-Scholes spends most of its time in four
or five libm calls per element, where XLA runs its own SIMD polynomials. These versions are
straight-line arithmetic with selects instead of branches (and integer bit tricks for the
exponent), so a loop calling them vectorizes with AVX2 like any arithmetic loop.

Accuracy: within 1 ulp of libm for exp and log, 3 ulp for tanh and erf, over the whole float64 range,
with libm's results at 0, subnormals, inf and NaN (tests/test_vector_math.py). float32 arguments
are computed in float64 and rounded once. Called from Python, each is NumPy's or math's function.
Fused loops use them (transforms/fuse.py); one call at a time, outside a vectorized loop, the
polynomials are slower than libm, so nothing else does.
"""
import math

import numpy as np
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from ._numba import named


def vector_exp(x):
    """np.exp, vectorizable under Numba."""
    return np.exp(x)


def vector_log(x):
    """np.log, vectorizable under Numba."""
    return np.log(x)


def vector_tanh(x):
    """np.tanh, vectorizable under Numba."""
    return np.tanh(x)


def vector_erf(x):
    """math.erf, vectorizable under Numba."""
    return math.erf(x)


# Compiled once each, with NumPy's error model (a division check would keep LLVM from inlining and
# vectorizing them); LLVM inlines them into the caller's loop. Numba-level inlining (inline="always")
# vectorizes the same but retypes the bodies at every call site: 6x the compile time of a fused
# chain. erf is too large for LLVM's inliner, so it alone is inlined by Numba. `contract` lets
# LLVM turn their multiply-adds into FMAs (one rounding instead of two; it stays in these bodies).
_COMPILED = {"error_model": "numpy", "fastmath": {"contract"}}


@intrinsic
def _bits_as_float(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@intrinsic
def _float_as_bits(typingctx, value):
    """The IEEE-754 bits of the float64 `value`, as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


# ---- exp: exp(x) = 2^k exp(r), x = k ln2 + r, |r| <= ln2/2 ------------------------------------

_LOG2_E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # ln 2 with its low 32 bits zero: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10   # ln 2 - _LN2_HI
_EXP_OVERFLOW = 710.0                  # exp of anything above is inf (exp(709.79) is the largest finite)
_EXP_UNDERFLOW = -746.0                # exp of anything below is 0


def _exp64(x):
    x = _EXP_OVERFLOW if x > _EXP_OVERFLOW else x
    x = _EXP_UNDERFLOW if x < _EXP_UNDERFLOW else x
    k = np.floor(x * _LOG2_E + 0.5)   # a float: Numba's math.floor gives an int64, converted one lane at a time
    k = 0.0 if k != k else k           # NaN: keep the integer conversion defined; r carries the NaN
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + _expm1_reduced(r)
    # 2^k in two factors, each a normal float, so subnormal results are rounded once and 2^1024 is inf
    n = np.int64(np.int32(k))          # via int32: AVX2 has no float64 -> int64 conversion
    half = n >> 1
    low = _bits_as_float((half + 1023) << 52)
    high = _bits_as_float((n - half + 1023) << 52)
    return p * low * high


@register_jitable(**_COMPILED)
def _expm1_reduced(r):
    """exp(r) - 1 for |r| <= ln2/2, to within an ulp of the result."""
    # r + r^2 q(r), q the Taylor series of (exp(r) - 1 - r) / r^2 to r^11 (truncation below 1e-17),
    # evaluated by Estrin's scheme: a Horner chain is 11 dependent multiply-adds and the vectorized
    # loop waits on their latency. q's rounding is scaled by r^2 <= 0.12.
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    q01 = 1.0 / 2.0 + r * (1.0 / 6.0)
    q23 = 1.0 / 24.0 + r * (1.0 / 120.0)
    q45 = 1.0 / 720.0 + r * (1.0 / 5040.0)
    q67 = 1.0 / 40320.0 + r * (1.0 / 362880.0)
    q89 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0)
    q1011 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0)
    q = (q01 + r2 * q23) + r4 * (q45 + r2 * q67) + r8 * (q89 + r2 * q1011)
    return r + r2 * q



# ---- tanh: odd; tanh(a) = -e / (e + 2), e = expm1(-2a) = 2^k (1 + u) - 1 --------------------------
# fdlibm's form for |x| < 1, used everywhere: near 0 e carries a's relative accuracy; as a grows e
# tends to -1 and the quotient to 1, with a condition number 2 / (e + 2) <= 2 in between.

_TANH_ONE = 22.0   # tanh(a) rounds to 1 beyond 22


def _tanh64(x):
    a = abs(x)
    a = _TANH_ONE if a > _TANH_ONE else a
    y = -2.0 * a
    k = np.floor(y * _LOG2_E + 0.5)
    k = 0.0 if k != k else k           # NaN: as in exp
    u = _expm1_reduced((y - k * _LN2_HI) - k * _LN2_LO)
    two_k = _bits_as_float((np.int64(np.int32(k)) + 1023) << 52)   # k >= -64: a normal float
    e = two_k * u + (two_k - 1.0)      # two_k - 1 is exact for k >= -53; rounds to -1 below
    return math.copysign(-e / (e + 2.0), x)


# ---- log: x = 2^e m, sqrt(1/2) <= m < sqrt(2); log(m) = 2 atanh(f / (2 + f)), f = m - 1 ---------

_SQRT2 = 1.4142135623730951
_TWO_54 = 18014398509481984.0
_SMALLEST_NORMAL = 2.2250738585072014e-308
_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
# minimax coefficients of (2 atanh(s) - 2 s) / s ~ _LG1 z + _LG2 z^2 + ..., z = s^2, |s| <= 0.1716
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


def _log64(x):
    subnormal = x < _SMALLEST_NORMAL
    scaled = x * _TWO_54 if subnormal else x
    bits = _float_as_bits(scaled)
    e = ((bits >> 52) & 0x7FF) - 1023 - (54 if subnormal else 0)
    m = _bits_as_float((bits & _MANTISSA) | _ONE_BITS)
    above = m > _SQRT2
    m = m * 0.5 if above else m
    e = e + 1 if above else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    half_f2 = 0.5 * f * f
    k = np.float64(np.int32(e))        # AVX2 converts int32 to float, not int64
    result = k * _LN2_HI - ((half_f2 - (s * (half_f2 + r) + k * _LN2_LO)) - f)
    result = -np.inf if x == 0.0 else result
    result = np.inf if x == np.inf else result
    result = np.nan if x < 0.0 else result
    return x if x != x else result


# ---- erf: odd; a + a Q(a^2) near 0, else 1 - exp(-a^2) erfcx(a) -------------------------------
# Coefficients from tools/fit_erf.py, highest degree first: the Taylor series of erf(a)/a - 1 in
# a^2 (exact terms) below 0.8; a Chebyshev fit of erfcx(a) = erfc(a) exp(a^2) in (a - 3) / (a + 3)
# on [0.8, 6], as a power series.

_ERF_SPLIT, _ERF_ONE = 0.8, 6.0   # erf(a) rounds to 1 beyond 6
_ERF_NEAR_ZERO = (
    1.6342614095367152e-15, -2.7835162072109215e-14, 4.4632242632864775e-13,
    -6.7113668551641105e-12, 9.422759064650411e-11, -1.2290555301717928e-09,
    1.4807192815879218e-08, -1.6365844691234924e-07, 1.6462114365889248e-06,
    -1.492565035840625e-05, 0.00012055332981789664, -0.0008548327023450853,
    0.005223977625442188, -0.026866170645131252, 0.11283791670955126, -0.37612638903183754,
    0.1283791670955126,
)
_ERFC_TAIL = (
    2.01987013508498e-11, -5.123935269149397e-12, -7.654342432863394e-10, 7.978301383757077e-11,
    2.8331073527355683e-08, -3.466443620798436e-08, -1.1256418163450413e-06, 5.357102800403817e-06,
    3.066735762300169e-05, -0.0005381201175346179, 0.003790267047515117, -0.017951595756767767,
    0.06405470178125644, -0.17967761735000895, 0.22306404038141012,
)
_ERFC_TAIL_A, _ERFC_TAIL_B = 2.4615384615384617, 5.769230769230769   # u = (A a - B) / (a + 3) in [-1, 1]
_SPLITTER = 134217729.0   # 2^27 + 1: Veltkamp's split of a float into two 26-bit halves


def _polynomial(name, coefficients):
    """A function of t evaluating the polynomial with the given coefficients, highest degree first,
    by Estrin's scheme (pairs c0 + c1 t, combined with t^2, t^4, ...), written out term by term:
    Horner's rule is a chain of dependent multiply-adds that the vectorized loop waits on, and
    Numba keeps a loop over a tuple as a loop, which LLVM then does not vectorize."""
    terms = [repr(c) for c in coefficients[::-1]]
    lines, power, level = [], "t", 0
    while len(terms) > 1:
        pairs = [f"{low} + {power} * {high}" for low, high in zip(terms[0::2], terms[1::2])]
        pairs += terms[len(pairs) * 2:]
        terms = []
        for i, expression in enumerate(pairs):
            lines.append(f"p{level}_{i} = {expression}")
            terms.append(f"p{level}_{i}")
        if len(terms) > 1:
            lines.append(f"t{2 ** (level + 1)} = {power} * {power}")
        power, level = f"t{2 ** (level + 1)}", level + 1
    lines.append(f"return {terms[0]}")
    namespace = {}
    exec(f"def {name}(t):\n" + "".join(f"    {line}\n" for line in lines), namespace)
    return register_jitable(**_COMPILED)(namespace[name])


_erf_near_zero = _polynomial("_erf_near_zero", _ERF_NEAR_ZERO)
_erfc_tail = _polynomial("_erfc_tail", _ERFC_TAIL)


def _erf64(x):
    a = abs(x)
    square = a * a
    near = a + a * _erf_near_zero(square)
    scaled_erfc = _erfc_tail((_ERFC_TAIL_A * a - _ERFC_TAIL_B) / (a + 3.0))
    split = _SPLITTER * a
    high = split - (split - a)
    low = a - high
    square_error = ((high * high - square) + 2.0 * high * low) + low * low   # a^2 = square + square_error
    tail = _exp64(-square) * (1.0 - square_error) * scaled_erfc
    result = near if a < _ERF_SPLIT else 1.0 - tail
    result = 1.0 if a > _ERF_ONE else result
    return math.copysign(result, x)


def _compile_for_scalars(public, impl64, inline):
    """Numba's form of `public` for a real scalar: `impl64` in float64, a float32 rounded once."""
    impl64 = register_jitable(inline=inline, **_COMPILED)(impl64)

    def in_float32(x):
        return np.float32(impl64(np.float64(x)))

    def in_float64(x):
        return impl64(np.float64(x))
    for form in (in_float32, in_float64):
        named(form, f"{public.__name__}_{form.__name__}")   # names of their own: see runtime/_numba.py

    @overload(public, inline=inline, jit_options=_COMPILED)
    def scalar_form(x):
        if isinstance(x, types.Float) and x.bitwidth == 32:
            return in_float32
        if isinstance(x, (types.Float, types.Integer, types.Boolean)):
            return in_float64
        return None


for _public, _impl64, _inline in ((vector_exp, _exp64, "never"), (vector_log, _log64, "never"),
                                  (vector_tanh, _tanh64, "never"), (vector_erf, _erf64, "always")):
    _compile_for_scalars(_public, _impl64, _inline)
