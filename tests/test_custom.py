"""tp.custom_vjp and tp.custom_jvp: the user's rule is what every transformation uses.

References: closed forms, central finite differences, and JAX (x64) with the same rules. Rules that
deliberately differ from the true derivative (a doubled gradient, a clipped cotangent) show that the
rule, not the body, was differentiated.
"""
import functools

import numpy as np
import pytest

import transpile as tp

X = np.array([0.3, -1.2, 2.0])
XS = np.array([[0.3, -1.2, 2.0], [1.5, 0.4, -0.7]])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- custom_jvp: a stable log(1 + e^x) whose naive gradient overflows to nan -----------------------

@tp.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + np.exp(x)))


def naive_log1pexp(x):
    return np.log1p(np.exp(x))


def softplus_loss(x):
    return np.sum(log1pexp(x * 2.0))


# -- custom_jvp with a branch: a norm with a finite gradient at 0 ----------------------------------

@tp.custom_jvp
def safe_norm(x):
    return np.sqrt(np.sum(x * x))


@safe_norm.defjvp
def safe_norm_jvp(primals, tangents):
    x, = primals
    t, = tangents
    n = np.sqrt(np.sum(x * x))
    if n == 0.0:
        return n, 0.0 * np.sum(t)
    return n, np.sum(x * t) / n


def naive_norm(x):
    return np.sqrt(np.sum(x * x))


# -- custom_jvp of two arguments, one of them nondiff -----------------------------------------------

@functools.partial(tp.custom_jvp, nondiff_argnums=(2,))
def mix(x, y, power):
    return x * y ** power


@mix.defjvp
def mix_jvp(power, primals, tangents):
    x, y = primals
    tx, ty = tangents
    return mix(x, y, power), tx * y ** power + ty * power * x * y ** (power - 1.0) * 3.0  # 3x the true dy term


# -- custom_vjp: clip_gradient, the cotangent clipped (nondiff bounds) ------------------------------

@functools.partial(tp.custom_vjp, nondiff_argnums=(0, 1))
def clip_gradient(lo, hi, x):
    return x


def clip_gradient_fwd(lo, hi, x):
    return x, None


def clip_gradient_bwd(lo, hi, res, g):
    return (np.clip(g, lo, hi),)


clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)


def clipped_loss(x):
    y = clip_gradient(-1.0, 1.0, x * 3.0)
    return np.sum(y * y)


# -- custom_vjp saving nested residuals; bwd is itself differentiable --------------------------------

@tp.custom_vjp
def sin_times(x, y):
    return np.sin(x) * y


def sin_times_fwd(x, y):
    c = np.cos(x)
    s = np.sin(x)
    return s * y, (c, (s, y))


def sin_times_bwd(res, g):
    c, (s, y) = res
    return g * c * y, g * s


sin_times.defvjp(sin_times_fwd, sin_times_bwd)


# -- custom_vjp whose rule doubles the gradient: its use is visible -----------------------------------

@tp.custom_vjp
def doubled(x):
    return x * x


def doubled_fwd(x):
    return x * x, x


def doubled_bwd(x, g):
    return (4.0 * x * g,)  # twice the true 2 x g


doubled.defvjp(doubled_fwd, doubled_bwd)


# -- custom_vjp whose fwd returns from a branch (residuals not a literal pair) ----------------------

@tp.custom_vjp
def leaky(x):
    return np.maximum(x, 0.1 * x)


def leaky_fwd(x):
    if x > 0.0:
        return x, 1.0
    return 0.1 * x, 0.1


def leaky_bwd(slope, g):
    return (slope * g,)


leaky.defvjp(leaky_fwd, leaky_bwd)


def leaky_sum(x, y):
    return leaky(x) * 3.0 + leaky(y)


@tp.custom_vjp
def sin_via_helper(x):
    return np.sin(x)


def sin_via_helper_fwd(x):
    return np.sin(x), (np.cos(x), x)


def first_times(res, g):
    return res[0] * g


def sin_via_helper_bwd(res, g):
    return (first_times(res, g),)  # the residual tuple used whole


sin_via_helper.defvjp(sin_via_helper_fwd, sin_via_helper_bwd)


def mix_with_keywords(x, y):
    return mix(y=y, x=x, power=2.0)


def doubled_in_loop(x, n):
    total = 0.0
    for i in range(n):
        total = total + np.sum(doubled(x * (i + 1.0)))
    return total


def finite_difference(f, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = eps
        out[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


def on(target, fun):
    return tp.jit(fun) if target == "cpu" else fun


# ================================================================ custom_jvp

def test_custom_functions_are_still_plain_functions():
    assert log1pexp(0.0) == np.log(2.0)
    assert clip_gradient(-1.0, 1.0, 3.5) == 3.5
    assert sin_times(0.5, 2.0) == np.sin(0.5) * 2.0
    assert log1pexp.__name__ == "log1pexp" and "custom_jvp" in repr(log1pexp)


def test_custom_jvp_gives_a_finite_gradient_where_the_body_overflows(target):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        assert np.isnan(on(target, tp.grad(naive_log1pexp))(1000.0))
        assert on(target, tp.grad(log1pexp))(1000.0) == 1.0
        assert np.isnan(on(target, tp.grad(naive_norm))(np.zeros(3))).all()
    np.testing.assert_array_equal(on(target, tp.grad(safe_norm))(np.zeros(3)), np.zeros(3))


def test_custom_jvp_under_reverse_forward_and_jacobians(target):
    grad = on(target, tp.grad(softplus_loss))(X)
    np.testing.assert_allclose(grad, 2.0 * sigmoid(2.0 * X), rtol=1e-12)
    value, grad2 = on(target, tp.value_and_grad(softplus_loss))(X)
    np.testing.assert_allclose(value, np.sum(np.log1p(np.exp(2.0 * X))), rtol=1e-12)
    np.testing.assert_allclose(grad2, grad, rtol=1e-12)
    out, tangent = tp.jvp(on(target, log1pexp), (X,), (np.ones(3),))
    np.testing.assert_allclose(tangent, sigmoid(X), rtol=1e-12)
    np.testing.assert_allclose(on(target, tp.jacfwd(log1pexp))(X), np.diag(sigmoid(X)), rtol=1e-12)
    np.testing.assert_allclose(on(target, tp.jacrev(log1pexp))(X), np.diag(sigmoid(X)), rtol=1e-12)
    x = np.array([3.0, 4.0])
    hessian = (np.eye(2) - np.outer(x, x) / 25.0) / 5.0
    np.testing.assert_allclose(on(target, tp.hessian(safe_norm))(x), hessian, rtol=1e-12, atol=1e-15)


def test_custom_jvp_second_order_differentiates_the_rule():
    s = sigmoid(0.7)
    assert tp.grad(tp.grad(log1pexp))(0.7) == pytest.approx(s * (1 - s), rel=1e-12)
    hvp = tp.jvp(tp.grad(softplus_loss), (X,), (np.ones(3),))[1]
    s = sigmoid(2.0 * X)
    np.testing.assert_allclose(hvp, 4.0 * s * (1 - s), rtol=1e-12)


def test_custom_jvp_rule_is_used_by_every_mode_and_nondiff_arguments_pass_through():
    x, y, p = 1.3, 0.8, 3.0
    true_dx, rule_dy = y ** p, 3.0 * p * x * y ** (p - 1.0)
    np.testing.assert_allclose(tp.grad(mix, argnums=(0, 1))(x, y, p), (true_dx, rule_dy), rtol=1e-12)
    np.testing.assert_allclose(tp.jvp(mix, (x, y, p), (1.0, 1.0, 0.0))[1], true_dx + rule_dy, rtol=1e-12)
    np.testing.assert_allclose(tp.vjp(mix, x, y, p)[1](1.0)[:2], (true_dx, rule_dy), rtol=1e-12)
    assert tp.grad(mix, argnums=2)(x, y, p) == 0.0  # as in JAX: a nondiff argument is a constant
    with pytest.raises(tp.NotDifferentiableError, match="'lo' of 'clip_gradient' is in nondiff_argnums"):
        tp.grad(clip_gradient, argnums=(0, 2))(-1.0, 1.0, 0.5)  # a custom_vjp refuses it, as JAX does


# ================================================================ custom_vjp

def test_custom_vjp_rule_replaces_the_gradient(target):
    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(on(target, tp.grad(lambda x: np.sum(doubled(x))))(x), 4.0 * x, rtol=1e-12)
    loop_grad = on(target, tp.grad(doubled_in_loop))(x, 3)
    np.testing.assert_allclose(loop_grad, 4.0 * x * (1 + 4 + 9), rtol=1e-12)
    true_grad = finite_difference(lambda x: doubled_in_loop(x, 3), x)
    np.testing.assert_allclose(loop_grad, 2.0 * true_grad, rtol=1e-6)


def test_clip_gradient_clips_the_cotangent(target):
    x = np.array([0.1, 0.5, -2.0])
    np.testing.assert_allclose(on(target, tp.grad(clipped_loss))(x), 3.0 * np.clip(6.0 * x, -1.0, 1.0), rtol=1e-12)


def test_custom_vjp_with_residuals_in_every_reverse_transform(target):
    x, y = X, np.array([1.5, 0.5, -2.0])

    def loss(x, y):
        return np.sum(sin_times(x, y) ** 2)

    out = np.sin(x) * y
    dx, dy = 2 * out * np.cos(x) * y, 2 * out * np.sin(x)
    grads = on(target, tp.grad(loss, argnums=(0, 1)))(x, y)
    np.testing.assert_allclose(grads[0], dx, rtol=1e-12)
    np.testing.assert_allclose(grads[1], dy, rtol=1e-12)
    value, grad = on(target, tp.value_and_grad(loss))(x, y)
    np.testing.assert_allclose(value, np.sum(out ** 2), rtol=1e-12)
    np.testing.assert_allclose(grad, dx, rtol=1e-12)
    primal, vjp_fun = tp.vjp(on(target, sin_times), x, y)
    np.testing.assert_allclose(primal, out, rtol=1e-12)
    cts = vjp_fun(np.ones(3))
    np.testing.assert_allclose(cts[0], np.cos(x) * y, rtol=1e-12)
    np.testing.assert_allclose(cts[1], np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(on(target, tp.jacrev(sin_times))(x, y), np.diag(np.cos(x) * y), rtol=1e-12)


def test_rules_of_less_common_shapes_and_keyword_calls(target):
    np.testing.assert_allclose(on(target, tp.grad(leaky_sum, argnums=(0, 1)))(2.0, -3.0), (3.0, 0.1), rtol=1e-12)
    assert on(target, tp.grad(sin_via_helper))(0.3) == pytest.approx(np.cos(0.3), rel=1e-12)
    dx, dy = on(target, tp.grad(mix_with_keywords, argnums=(0, 1)))(1.3, 0.8)
    np.testing.assert_allclose((dx, dy), (0.8 ** 2, 3.0 * 2.0 * 1.3 * 0.8), rtol=1e-12)


def test_custom_vjp_second_order_differentiates_bwd():
    # grad of x -> sin(x) y is cos(x) y by the rule; its derivative through bwd is -sin(x) y
    assert tp.grad(tp.grad(sin_times))(0.4, 2.0) == pytest.approx(-np.sin(0.4) * 2.0, rel=1e-12)
    second = tp.grad(tp.grad(lambda x: doubled(x)))(1.7)
    assert second == pytest.approx(4.0, rel=1e-12)  # d/dx of the rule's 4 x
    np.testing.assert_allclose(tp.hessian(lambda x: np.sum(doubled(x)))(X), 4.0 * np.eye(3), rtol=1e-12)


# ================================================================ vmap

@pytest.mark.parametrize("method, target", [("loop", "python"), ("vectorize", "python"), ("vectorize", "cpu")])
def test_vmap_of_functions_calling_custom_rules(method, target):
    per_example = on(target, tp.vmap(tp.grad(softplus_loss), method=method))(XS)
    np.testing.assert_allclose(per_example, 2.0 * sigmoid(2.0 * XS), rtol=1e-12)
    np.testing.assert_allclose(on(target, tp.vmap(tp.grad(clipped_loss), method=method))(XS),
                               3.0 * np.clip(6.0 * XS, -1.0, 1.0), rtol=1e-12)
    batched = tp.vmap(lambda x: np.sum(doubled(x)) + safe_norm(x), method=method)
    np.testing.assert_allclose(on(target, batched)(XS), np.sum(XS ** 2, axis=1) + np.linalg.norm(XS, axis=1),
                               rtol=1e-12)
    # the gradient of a batched function still goes through the rules
    total = on(target, tp.grad(lambda xs: np.sum(batched(xs))))(XS)
    np.testing.assert_allclose(total, 4.0 * XS + XS / np.linalg.norm(XS, axis=1)[:, None], rtol=1e-12)


def test_vmap_of_a_custom_function_itself():
    np.testing.assert_allclose(tp.vmap(sin_times)(XS, XS), np.sin(XS) * XS, rtol=1e-12)
    grads = tp.jit(tp.vmap(tp.grad(lambda x: np.sum(doubled(x)))))(XS)
    np.testing.assert_allclose(grads, 4.0 * XS, rtol=1e-12)
    np.testing.assert_allclose(tp.grad(lambda xs: np.sum(tp.vmap(doubled)(xs)))(XS), 4.0 * XS, rtol=1e-12)


@pytest.mark.skipif(not hasattr(tp, "checkpoint"), reason="tp.checkpoint not available")
def test_checkpoint_of_a_custom_function_keeps_its_rule():
    assert tp.grad(tp.checkpoint(doubled))(1.5) == 6.0
    with np.errstate(over="ignore"):
        assert tp.grad(tp.checkpoint(log1pexp))(1000.0) == 1.0


def test_rules_are_compiled_with_the_module():
    source = tp.show(tp.grad(lambda x, y: np.sum(sin_times(x, y))), X, X)
    assert "def sin_times_fwd_flat_residuals(x, y):" in source
    assert "def sin_times_bwd_spread(res_0, res_1_0, res_1_1, g):" in source
    source = tp.show(tp.grad(softplus_loss), X)
    assert "def log1pexp_jvp_spread_tangent_part_vjp(" in source
    compiled = tp.jit(tp.grad(softplus_loss))
    np.testing.assert_allclose(compiled(X), 2.0 * sigmoid(2.0 * X), rtol=1e-12)
    source = compiled.generated_for(X).source
    assert "def log1pexp_jvp_spread_tangent_part_vjp(" in source and "# target: cpu" in source


# ================================================================ against JAX

@pytest.fixture(scope="module")
def jax_rules():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    jax.config.update("jax_enable_x64", True)

    @jax.custom_jvp
    def j_log1pexp(x):
        return jnp.log1p(jnp.exp(x))

    @j_log1pexp.defjvp
    def _(primals, tangents):
        x, = primals
        t, = tangents
        return j_log1pexp(x), t * (1.0 - 1.0 / (1.0 + jnp.exp(x)))

    @jax.custom_vjp
    def j_sin_times(x, y):
        return jnp.sin(x) * y

    def fwd(x, y):
        return jnp.sin(x) * y, (jnp.cos(x), (jnp.sin(x), y))

    def bwd(res, g):
        c, (s, y) = res
        return g * c * y, g * s

    j_sin_times.defvjp(fwd, bwd)

    @functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
    def j_clip_gradient(lo, hi, x):
        return x

    j_clip_gradient.defvjp(lambda lo, hi, x: (x, None), lambda lo, hi, res, g: (jnp.clip(g, lo, hi),))
    return jax, jnp, j_log1pexp, j_sin_times, j_clip_gradient


def test_agrees_with_jax(jax_rules):
    jax, jnp, j_log1pexp, j_sin_times, j_clip_gradient = jax_rules
    y = np.array([1.5, 0.5, -2.0])

    def pair(ours, theirs, *args):
        np.testing.assert_allclose(np.asarray(theirs(*args)), ours(*args), rtol=1e-12, atol=1e-14)

    def j_softplus_loss(x):
        return jnp.sum(j_log1pexp(x * 2.0))

    def squares(x):
        return np.sum(log1pexp(x * x))

    def j_squares(x):
        return jnp.sum(j_log1pexp(x * x))

    def sin_times_loss(x, y):
        return np.sum(sin_times(x, y) ** 2)

    def j_sin_times_loss(x, y):
        return jnp.sum(j_sin_times(x, y) ** 2)

    def j_clipped_loss(x):
        y = j_clip_gradient(-1.0, 1.0, x * 3.0)
        return jnp.sum(y * y)

    pair(tp.grad(softplus_loss), jax.grad(j_softplus_loss), X)
    pair(tp.hessian(squares), jax.hessian(j_squares), X)
    pair(tp.jacfwd(log1pexp), jax.jacfwd(j_log1pexp), X)
    pair(tp.grad(sin_times_loss, argnums=1), jax.grad(j_sin_times_loss, argnums=1), X, y)
    pair(tp.jacrev(sin_times), jax.jacrev(j_sin_times), X, y)
    pair(tp.grad(tp.grad(sin_times)), jax.grad(jax.grad(j_sin_times)), 0.4, 2.0)
    pair(tp.vmap(tp.grad(clipped_loss)), jax.vmap(jax.grad(j_clipped_loss)), XS)
    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(j_sin_times, (X, y), (X, y))


# ================================================================ errors

def test_forward_mode_of_custom_vjp_is_refused_at_the_call():
    with pytest.raises(tp.NotDifferentiableError, match=r"forward-mode autodiff \(jvp\) to a custom_vjp") as info:
        tp.jacfwd(clipped_loss)(X)
    message = str(info.value)
    assert "test_custom.py:" in message and "clip_gradient(-1.0, 1.0, x * 3.0)" in message and "^" in message
    with pytest.raises(tp.NotDifferentiableError, match="forward-mode"):
        tp.jvp(sin_times, (X, X), (X, X))


@tp.custom_vjp
def no_rule(x):
    return x * 2.0


@tp.custom_jvp
def no_jvp_rule(x):
    return x * 2.0


@tp.custom_vjp
def one_cotangent_too_many(x):
    return x * 2.0


def one_cotangent_too_many_bwd(res, g):
    return g * 2.0, g


one_cotangent_too_many.defvjp(lambda x: (x * 2.0, None), one_cotangent_too_many_bwd)


def bare_cotangent_bwd(res, g):
    return g * 2.0


@tp.custom_vjp
def bare_cotangent(x):
    return x * 2.0


bare_cotangent.defvjp(lambda x: (x * 2.0, None), bare_cotangent_bwd)


@tp.custom_jvp
def three_outputs_rule(x):
    return x * 2.0


@three_outputs_rule.defjvp
def three_outputs_rule_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return x * 2.0, t * 2.0, t


@tp.custom_vjp
def fwd_without_residuals(x):
    return x * 2.0


def fwd_without_residuals_fwd(x):
    return x * 2.0, x, x


def fwd_without_residuals_bwd(res, g):
    return (g * 2.0,)


fwd_without_residuals.defvjp(fwd_without_residuals_fwd, fwd_without_residuals_bwd)


@tp.custom_vjp
def bwd_of_wrong_arity(x):
    return x * 2.0


def bwd_of_wrong_arity_bwd(g):
    return (g * 2.0,)


bwd_of_wrong_arity.defvjp(fwd_without_residuals_fwd, bwd_of_wrong_arity_bwd)


@pytest.mark.parametrize("fun, pattern", [
    (no_rule, r"custom_vjp function 'no_rule' has no derivative rule(.|\n)*no_rule.defvjp\(fwd, bwd\)"),
    (no_jvp_rule, r"custom_jvp function 'no_jvp_rule' has no derivative rule(.|\n)*defjvp"),
    (one_cotangent_too_many, r"bwd of 'one_cotangent_too_many' must return a tuple with one cotangent per "
                             r"differentiable argument \(1\), not 2"),
    (bare_cotangent, r"not one value(.|\n)*return g \* 2.0"),
    (three_outputs_rule, r"jvp rule of 'three_outputs_rule' must return a pair \(primal_out, tangent_out\)"),
    (fwd_without_residuals, r"fwd must return a pair \(output, residuals\)(.|\n)*return x \* 2.0, x, x"),
    (bwd_of_wrong_arity, r"the bwd of 'bwd_of_wrong_arity' must take 2 positional arguments, not 1"),
])
def test_rule_errors_point_at_the_source(fun, pattern):
    with pytest.raises(tp.TranspileError, match=pattern) as info:
        tp.grad(fun)(1.5)
    assert "test_custom.py:" in str(info.value)


def test_pytree_arguments_reach_custom_functions_as_leaves_only():
    grads = tp.grad(lambda p: sin_times(p[0], p[1]))((0.5, 2.0))
    np.testing.assert_allclose(grads, (np.cos(0.5) * 2.0, np.sin(0.5)), rtol=1e-12)
    with pytest.raises(tp.UnsupportedSyntaxError, match="arrays and numbers"):
        tp.grad(sin_times)((0.5, 2.0), 1.0)
