"""Vectorizable exp, log, tanh and erf (runtime/vector_math.py) and the fused loops that use them.

The compiled forms are checked against NumPy's and libm's results in units in the last place,
over the whole float64 range and at the special values; through the public API, a fused chain
with exp, log and erf (and a sum, which the CPU backend reassociates) equals NumPy's.
"""
import math

import numba
import numpy as np
import pytest

import transpile as tp
from transpile.runtime import erf_elementwise, vector_erf, vector_exp, vector_log, vector_tanh

SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1e-310, 2.2250738585072014e-308, 1e-300,
                     -1.0, 0.5, 0.8, 1.0, 2.0, 2.5, 6.0, 5.9999, -6.5, 709.78, 709.79, 710.0, -745.13,
                     -745.2, -746.0, 1e308, np.finfo(np.float64).max])


@numba.njit(error_model="numpy")
def _compiled_exp(x, out):
    for i in range(x.shape[0]):
        out[i] = vector_exp(x[i])


@numba.njit(error_model="numpy")
def _compiled_log(x, out):
    for i in range(x.shape[0]):
        out[i] = vector_log(x[i])


@numba.njit(error_model="numpy")
def _compiled_tanh(x, out):
    for i in range(x.shape[0]):
        out[i] = vector_tanh(x[i])


@numba.njit(error_model="numpy")
def _compiled_erf(x, out):
    for i in range(x.shape[0]):
        out[i] = vector_erf(x[i])


def _ulps(got, want):
    """Distance in units in the last place of `want`; 0 where both are the same inf or NaN."""
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    assert np.array_equal(np.signbit(got[same & (got == 0)]), np.signbit(want[same & (want == 0)]))
    spacing = np.spacing(np.abs(np.where(np.isfinite(want), want, 0.0)))
    with np.errstate(invalid="ignore"):
        distance = np.abs(got - want) / np.maximum(spacing, 5e-324)
    return np.where(same, 0.0, distance)


def _run(compiled, x):
    out = np.empty_like(x)
    compiled(x, out)
    return out


def _inputs(rng, *ranges):
    return np.concatenate([rng.uniform(lo, hi, 200_000) for lo, hi in ranges] + [SPECIALS])


@pytest.mark.parametrize("name, compiled, reference, ranges, ulps", [
    ("exp", _compiled_exp, np.exp, [(-750.0, 712.0), (-1.0, 1.0), (-40.0, 40.0)], 1),
    ("log", _compiled_log, np.log, [(0.0, 3.0), (0.7, 1.5), (-1.0, 0.0), (0.0, 1e-305)], 1),
    ("tanh", _compiled_tanh, np.tanh, [(-25.0, 25.0), (-1.0, 1.0), (0.3, 0.4), (-1e-5, 1e-5), (-1e-300, 1e-300)], 3),
    ("erf", _compiled_erf, np.vectorize(math.erf), [(-7.0, 7.0), (-1.0, 1.0), (0.7, 0.9), (-1e-5, 1e-5)], 3),
])
def test_compiled_forms_within_a_few_ulps_of_libm(name, compiled, reference, ranges, ulps):
    rng = np.random.default_rng(7)
    x = _inputs(rng, *ranges)
    if name == "log":
        x = np.concatenate([x, np.exp(rng.uniform(-745.0, 709.0, 200_000))])
    with np.errstate(all="ignore"):
        want = reference(x)
    distance = _ulps(_run(compiled, x), want)
    assert distance.max() <= ulps, (name, x[np.argmax(distance)])


def test_infinities_nans_zeros_and_subnormals_as_numpy():
    with np.errstate(all="ignore"):
        for compiled, reference in ((_compiled_exp, np.exp), (_compiled_log, np.log)):
            got, want = _run(compiled, SPECIALS), reference(SPECIALS)
            exact = ~np.isfinite(want) | (np.abs(want) < 1e-300)
            np.testing.assert_array_equal(got[exact], want[exact])
    tanh = _run(_compiled_tanh, SPECIALS)
    exact = ~np.isfinite(SPECIALS) | (SPECIALS == 0.0) | (np.abs(SPECIALS) > 22.0)
    np.testing.assert_array_equal(tanh[exact], np.tanh(SPECIALS[exact]))
    assert math.copysign(1.0, tanh[1]) == -1.0
    erf = _run(_compiled_erf, SPECIALS)
    assert math.copysign(1.0, erf[1]) == -1.0 and np.isnan(erf[4]) and erf[2] == 1.0 and erf[3] == -1.0


def test_float32_arguments_give_float32_results_and_integers_float64():
    @numba.njit
    def scalars(a, n):
        return vector_exp(a), vector_log(a), vector_erf(a), vector_exp(n)

    e32, l32, f32, e_int = scalars(np.float32(0.5), 2)   # Numba boxes float32 scalars as float
    assert e32 == float(np.exp(np.float32(0.5)))
    assert l32 == float(np.log(np.float32(0.5)))
    assert f32 == float(np.float32(math.erf(0.5)))
    assert e_int == pytest.approx(math.exp(2), rel=1e-15)


def gaussian_weighted_sum(x, m, s, w):
    return np.sum(np.exp(-(x - m) ** 2 / s) * w)


def log_erf_chain(x, y):
    return np.log(1.0 + y * y) * erf_elementwise(x / 2.0) + np.exp(-x)


def test_fused_chain_uses_vector_forms_and_equals_numpy():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(100_003), rng.uniform(0.0, 1.0, 100_003)
    fused = tp.jit(gaussian_weighted_sum)
    source = tp.show(fused, x, 0.3, 0.5, w)
    assert "vector_exp(" in source and "reassociated" in source
    assert fused(x, 0.3, 0.5, w) == pytest.approx(gaussian_weighted_sum(x, 0.3, 0.5, w), rel=1e-12)
    grad = tp.jit(tp.grad(gaussian_weighted_sum))(x, 0.3, 0.5, w)
    d = x - 0.3
    np.testing.assert_allclose(grad, np.exp(-d * d / 0.5) * w * (-2.0 * d / 0.5), rtol=1e-12, atol=1e-300)


def test_fused_erf_and_log_equal_numpy_and_python_target():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((300, 7)) * 3, rng.standard_normal((300, 7))
    compiled = tp.jit(log_erf_chain)
    source = tp.show(compiled, x, y)
    assert "vector_erf(" in source and "vector_log(" in source
    want = np.log(1.0 + y * y) * np.vectorize(math.erf)(x / 2.0) + np.exp(-x)
    np.testing.assert_allclose(compiled(x, y), want, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(tp.jit(log_erf_chain, target="python")(x, y), want, rtol=1e-15)


def test_scalar_code_outside_fused_loops_keeps_libm():
    def euler(k, n):
        x = 1.0
        for _ in range(n):
            x = x + 0.01 * math.exp(-k * x)
        return x

    source = tp.show(tp.jit(tp.grad(euler)), 0.5, 10)
    assert "vector_exp" not in source and "math.exp(" in source
