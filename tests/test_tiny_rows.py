"""Compiled adjoints of matrix products multiply a cotangent's underflowed rows scaled up by 2^600
and scale the result back (runtime/tiny_rows.py): x86 would take a microcode assist for every
subnormal operand. The values are IEEE's, never flushed: checked against the same product
computed on the scaled-up rows in NumPy, row kinds mixed as an underflowing softmax mixes them."""
import numba
import numpy as np
import pytest

import transpile as tp
from transpile.runtime.tiny_rows import dot_lifting_rows, dot_summing_lifted_rows, tiny_rows

SMALLEST_NORMAL = np.finfo(np.float64).tiny
LIFT = 2.0 ** 600


@numba.njit(cache=True)
def compiled(v, m, a):
    return tiny_rows(v), dot_lifting_rows(v, m), dot_summing_lifted_rows(a, v)


def _rows(rng, d):
    """Rows of every kind: normal, zero, subnormal only, tiny but normal, negative subnormals, and
    subnormals beside a large entry (left to BLAS: the row is not tiny)."""
    base = rng.normal(size=(6, d))
    v = np.array([base[0], np.zeros(d), base[2] * 1e-312, base[3] * 1e-300, -np.abs(base[4]) * 5e-320,
                  np.r_[1.0, np.full(d - 1, 3e-315)]])
    assert np.all(np.abs(v[2]) < SMALLEST_NORMAL) and np.any(np.abs(v[3]) >= SMALLEST_NORMAL)
    return v


def _scaled_reference(v, tiny, product):
    """`product` of v with the tiny rows computed scaled up, in NumPy: exact scaling by 2^600."""
    lifted = v.copy()
    lifted[tiny] *= LIFT
    return product(lifted)


@pytest.mark.parametrize("d", [1, 4, 9])
def test_tiny_rows_are_found_and_multiplied_scaled(d):
    rng = np.random.default_rng(d)
    v, m, a = _rows(rng, d), rng.normal(size=(d, 3)), rng.normal(size=(6, 4))
    found, rows, summed = compiled(v, m, a)
    np.testing.assert_array_equal(found, [2, 3, 4])
    lifted_rows = _scaled_reference(v, found, lambda w: w @ m)
    normal = [0, 1, 5]
    np.testing.assert_allclose(rows[normal], (v @ m)[normal], rtol=1e-14)
    # a tiny row's result, scaled up exactly, is the product of the scaled row (to its last bit)
    np.testing.assert_allclose(rows[found] * LIFT, lifted_rows[found], rtol=1e-14, atol=2.0 ** -474)
    assert np.all(rows[2:5] != 0.0)   # not flushed
    cleared = v.copy()
    cleared[found] = 0.0
    want = a.T @ cleared + (a[found].T @ (v[found] * LIFT)) / LIFT
    np.testing.assert_allclose(summed, want, rtol=1e-14)
    np.testing.assert_allclose(summed, a.T @ v, rtol=1e-14)


def test_a_product_of_tiny_rows_only_is_the_scaled_product_scaled_back():
    """Each row counted once: here nothing normal would hide a tiny row counted twice."""
    rng = np.random.default_rng(7)
    v, m, a = rng.normal(size=(4, 3)) * 1e-312, rng.normal(size=(3, 2)), rng.normal(size=(4, 5))
    found, rows, summed = compiled(v, m, a)
    np.testing.assert_array_equal(found, [0, 1, 2, 3])
    np.testing.assert_allclose(summed * LIFT, a.T @ (v * LIFT), rtol=1e-14, atol=2.0 ** -474)
    np.testing.assert_allclose(rows * LIFT, (v * LIFT) @ m, rtol=1e-14, atol=2.0 ** -474)


def test_an_infinite_factor_of_a_tiny_row_gives_ieee_infinity():
    """inf times a subnormal is inf; the cleared row would make it inf * 0 = nan."""
    v = np.array([[1.0, 2.0], [3e-315, 1e-320]])
    a = np.array([[1.0, 2.0, 3.0], [np.inf, 1.0, -1.0]])
    _, _, summed = compiled(v, np.ones((2, 2)), a)
    np.testing.assert_array_equal(summed, a.T @ v)
    assert np.isinf(summed[0]).all()


def test_without_tiny_rows_the_products_are_blas_products():
    rng = np.random.default_rng(0)
    v, m, a = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=(5, 4))
    found, rows, summed = compiled(v, m, a)
    assert found.size == 0
    np.testing.assert_array_equal(rows, v @ m)
    np.testing.assert_array_equal(summed, a.T @ v)


def mixture_log_likelihood(means, x):
    """Widely spread components: most softmax weights underflow, to subnormals and zero."""
    scores = -0.5 * (x @ means.T) ** 2
    top = np.max(scores, axis=1)
    return np.sum(top + np.log(np.sum(np.exp(scores - top.reshape(-1, 1)), axis=1)))


def test_gradient_through_underflowing_weights_equals_the_ieee_one():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3)) * 12.0
    means = rng.normal(size=(5, 3))
    scores = -0.5 * (x @ means.T) ** 2
    weights = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    assert np.any((weights > 0) & (weights < SMALLEST_NORMAL))  # the case at hand
    compiled_grad = tp.jit(tp.grad(mixture_log_likelihood, argnums=(0, 1)))
    for got, want in zip(compiled_grad(means, x), tp.grad(mixture_log_likelihood, argnums=(0, 1))(means, x)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))
