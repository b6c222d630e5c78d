"""A matrix product's cotangent that is only summed down to a broadcast operand is computed as a
matrix-vector product in compiled code (transforms/summed_products.py): `mean` in
`(x - mean) @ L.T` gets L.T's rows combined by the column sums of g, not the rows of g @ L added
up. Same gradients, on every path that reaches the rewrite and on those that must not."""
import gast
import numpy as np
import pytest
from test_grad import assert_tree_close, check_against_differences

import transpile as tp
from transpile import runtime as rt
from transpile.transforms.summed_products import sum_before_products


def centred_projection(mean, lower, x):
    projected = (x - mean) @ lower.T
    return np.sum(np.tanh(projected) * projected)


def centred_direction(mean, w, x):
    return np.sum(np.sin((x - mean) @ w))


def centred_projection_loop(means, lower, x):
    total = 0.0
    for k in range(means.shape[0]):
        projected = (x - means[k]) @ lower.T
        total += np.sum(projected * projected) * (k + 1.0)
    return total


def _data(seed, n=7, d=3, k=None):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=d if k is None else (k, d))
    return mean, np.tril(rng.normal(size=(d, d))), rng.normal(size=(n, d))


def _summed_in_source(fn, args):
    return "summed_dot_vjp_a(" in fn.source(*args)


def _direction_data(seed, n=7, d=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d), rng.normal(size=d), rng.normal(size=(n, d))


@pytest.mark.parametrize("f, args", [(centred_projection, _data(0)), (centred_direction, _direction_data(1)),
                                     (centred_projection_loop, _data(2, k=3))],
                         ids=["matrix", "vector", "loop"])
@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_a_summed_product_cotangent_gives_the_same_gradient(f, args, argnums):
    compiled = tp.jit(tp.grad(f, argnums=argnums))
    assert _summed_in_source(compiled, args)
    check_against_differences(f, args, argnums, compiled(*args))
    assert_tree_close(compiled(*args), tp.grad(f, argnums=argnums)(*args), rtol=1e-12, atol=1e-12)


def test_the_data_operand_needing_its_own_cotangent_keeps_the_product():
    """With x differentiated too, g @ L is read twice: it is formed once, as before."""
    args = _data(3)
    compiled = tp.jit(tp.grad(centred_projection, argnums=(0, 2)))
    assert not _summed_in_source(compiled, args)
    check_against_differences(centred_projection, args, (0, 2), compiled(*args))


@pytest.mark.parametrize("transform", ["hessian", "vmap-grad"])
def test_compositions_through_a_summed_product(transform):
    mean, lower, x = _data(4)
    grad = tp.grad(centred_projection)
    if transform == "hessian":
        step = 1e-5
        want = np.stack([(grad(mean + step * e, lower, x) - grad(mean - step * e, lower, x)) / (2 * step)
                         for e in np.eye(3)], axis=1)
        np.testing.assert_allclose(tp.jit(tp.hessian(centred_projection))(mean, lower, x), want, rtol=1e-6, atol=1e-7)
    else:
        means = np.random.default_rng(5).normal(size=(4, 3))
        want = np.stack([grad(m, lower, x) for m in means])
        batched = tp.jit(tp.vmap(grad, in_axes=(0, None, None)))
        np.testing.assert_allclose(batched(means, lower, x), want, rtol=1e-12, atol=1e-12)


def _rewritten(source):
    fdef = gast.parse(source).body[0]
    namespace = {"dot_vjp_a": rt.dot_vjp_a, "unbroadcast": rt.unbroadcast}
    fdef, namespace = sum_before_products(fdef, namespace)
    calls = [namespace.get(node.func.id) for node in gast.walk(fdef)
             if isinstance(node, gast.Call) and isinstance(node.func, gast.Name)]
    return rt.summed_dot_vjp_a in calls


def test_only_a_product_read_once_through_copies_and_negations_is_summed_first():
    assert _rewritten("def f(g, a, b, m):\n p = dot_vjp_a(g, a, b)\n q = p\n r = -q\n s = unbroadcast(r, m)\n return s\n")
    # the summed-to operand rebound between the product and the sum: its shape could differ
    assert not _rewritten("def f(g, a, b, m):\n p = dot_vjp_a(g, a, b)\n m = a[0]\n s = unbroadcast(p, m)\n return s\n")
    # read twice, or through an operation that does not commute with the sum
    assert not _rewritten("def f(g, a, b, m):\n p = dot_vjp_a(g, a, b)\n s = unbroadcast(p, m)\n return s, p\n")
    assert not _rewritten("def f(g, a, b, m):\n p = dot_vjp_a(g, a, b)\n q = p * a\n s = unbroadcast(q, m)\n return s\n")
    # defined in another block (a loop's body) than the sum
    assert not _rewritten("def f(g, a, b, m):\n for i in range(2):\n  p = dot_vjp_a(g, a, b)\n s = unbroadcast(p, m)\n return s\n")
