"""jit(..., flush_subnormals=True): subnormal floats read and written as zero during a call, as XLA
runs JAX's CPU code; off by default (IEEE subnormals, as NumPy); the thread's mode restored after."""
import numpy as np
import pytest

import transpile as tp
from transpile.backends import subnormals

pytestmark = pytest.mark.skipif(not subnormals.SUPPORTED, reason="MXCSR is x86's")

TINY = np.finfo(np.float64).tiny   # the smallest normal float64


def scaled(x, s):
    return x * s * 1e-10


def scaled_sum(x, s):
    return np.sum(x * s * 1e-10)


def log_likelihood(x, centers):
    """A softmax over widely spread scores: most weights underflow to subnormals or zero."""
    total = 0.0
    for i in range(x.shape[0]):
        scores = -0.5 * (x[i] - centers) ** 2
        top = np.max(scores)
        total += top + np.log(np.sum(np.exp(scores - top)))
    return total


def _normal_float_arithmetic_still_gives_subnormals():
    product = float(np.float64(1e-300) * np.float64(1e-10))
    return 0.0 < product < TINY


@pytest.mark.parametrize("target", ["cpu", "python"])
def test_subnormal_results_are_zero_with_the_option_and_kept_without(target):
    x = np.ones(4)
    np.testing.assert_array_equal(tp.jit(scaled, target=target, flush_subnormals=True)(x, 1e-300), 0.0)
    kept = tp.jit(scaled, target=target)(x, 1e-300)
    np.testing.assert_allclose(kept, scaled(x, 1e-300), rtol=1e-6)
    assert np.all((kept > 0) & (kept < TINY))
    assert _normal_float_arithmetic_still_gives_subnormals()   # the caller's mode is back


@pytest.mark.parametrize("compose", ["jit_of_grad", "grad_of_jit"])
def test_gradients_carry_the_option(compose):
    x = np.ones(3)
    gradient = (tp.jit(tp.grad(scaled_sum), flush_subnormals=True) if compose == "jit_of_grad"
                else tp.grad(tp.jit(scaled_sum, flush_subnormals=True)))
    np.testing.assert_array_equal(gradient(x, 1e-300), 0.0)
    np.testing.assert_allclose(tp.jit(tp.grad(scaled_sum))(x, 1e-300), 1e-310, rtol=1e-6)


def test_a_call_that_raises_restores_the_mode():
    compiled = tp.jit(scaled, flush_subnormals=True)
    compiled(np.ones(2), np.ones(2))
    with pytest.raises(ValueError):   # raised inside the compiled code: the shapes do not broadcast
        compiled(np.ones(2), np.ones(3))
    assert _normal_float_arithmetic_still_gives_subnormals()


def test_underflowing_softmax_gradient_is_unchanged_where_it_is_normal():
    """The weights that flush contribute below 1e-300 to sums of order one: the gradient agrees
    with IEEE arithmetic and with central differences."""
    rng = np.random.default_rng(0)
    x, centers = rng.standard_normal(50) * 30.0, np.linspace(-60.0, 60.0, 40)
    scores = -0.5 * (x[:, None] - centers) ** 2
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    assert np.sum((weights > 0) & (weights < TINY)) >= 10   # the case this test is about
    flushed = tp.jit(tp.grad(log_likelihood, argnums=(0, 1)), flush_subnormals=True)(x, centers)
    ieee = tp.jit(tp.grad(log_likelihood, argnums=(0, 1)))(x, centers)
    for a, b in zip(flushed, ieee):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-300)
    h = 1e-6
    probe = rng.standard_normal(x.shape)
    slope = (log_likelihood(x + h * probe, centers) - log_likelihood(x - h * probe, centers)) / (2 * h)
    np.testing.assert_allclose(np.sum(flushed[0] * probe), slope, rtol=1e-6)


def test_pmap_workers_each_flush():
    sharded = tp.jit(tp.pmap(scaled, in_axes=(0, None)), flush_subnormals=True)
    np.testing.assert_array_equal(sharded(np.ones((2, 3)), 1e-300), 0.0)
    assert _normal_float_arithmetic_still_gives_subnormals()


def test_where_the_option_cannot_hold_it_is_refused():
    with pytest.raises(ValueError, match="parallel=True"):
        tp.jit(scaled, parallel=True, flush_subnormals=True)
    with pytest.raises(ValueError, match="fastmath=True"):
        tp.jit(scaled, target="cuda", flush_subnormals=True)
