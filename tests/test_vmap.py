"""vmap through the public API, on the functions of vmap_cases.py: every batched call must equal a
Python loop over the examples calling the original function (the reference knows nothing of
transpile), by both strategies (loop, vectorize), as Python and under tp.jit (Numba), with
parallel=True for a subset; then composition with grad, collectives, and the errors users meet.
"""
import math

import numpy as np
import pytest
import vmap_cases as vc
from trees import assert_tree_close

import transpile as tp

B = 5
RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.uniform(0.1, 0.9, shape)


# -- the reference: a Python loop over examples, independent of transpile ------------------------

def _is_namedtuple(tree):
    return isinstance(tree, tuple) and hasattr(type(tree), "_fields")


def take(tree, axes, i):
    """Example `i` of `tree`, mapped along `axes` (a prefix of the tree, as in JAX)."""
    if axes is None:
        return tree
    if isinstance(tree, dict):
        return {k: take(v, axes if isinstance(axes, int) else axes[k], i) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        parts = [take(v, axes if isinstance(axes, int) else axes[k], i) for k, v in enumerate(tree)]
        return type(tree)(*parts) if _is_namedtuple(tree) else type(tree)(parts)
    return np.take(tree, i, axis=axes)


def batch_size(tree, axes):
    if axes is None:
        return None
    if isinstance(tree, dict):
        sizes = [batch_size(v, axes if isinstance(axes, int) else axes[k]) for k, v in tree.items()]
    elif isinstance(tree, (tuple, list)):
        sizes = [batch_size(v, axes if isinstance(axes, int) else axes[k]) for k, v in enumerate(tree)]
    else:
        return np.shape(tree)[axes]
    return next((s for s in sizes if s is not None), None)


def stack(results, out_axes):
    first = results[0]
    if isinstance(first, tuple):
        return tuple(stack([r[k] for r in results], out_axes if isinstance(out_axes, int) else out_axes[k])
                     for k in range(len(first)))
    return np.moveaxis(np.stack([np.asarray(r, dtype=float) for r in results]), 0, out_axes)


def loop_reference(fn, args, in_axes=0, out_axes=0):
    axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    n = next(s for s in (batch_size(a, ax) for a, ax in zip(args, axes)) if s is not None)
    return stack([fn(*[take(a, ax, i) for a, ax in zip(args, axes)]) for i in range(n)], out_axes)


def on(target, fun, **options):
    return tp.jit(fun, **options) if target == "cpu" else fun


# -- the cases: (function, arguments, in_axes, out_axes) -----------------------------------------

def _cases():
    sq = rand(3, 3)
    return [
        (vc.elementwise, (rand(B, 4),), 0, 0),
        (vc.scalar_math, (rand(B), rand(B)), 0, 0),
        (vc.affine, (rand(B, 3), rand(3, 2), rand(2)), (0, None, None), 0),
        (vc.affine, (rand(3, B), rand(3, 2), rand(2)), (1, None, None), 0),
        (vc.matrix_vector, (rand(4, 3), rand(B, 3)), (None, 0), 0),
        (vc.matrix_vector, (rand(B, 4, 3), rand(3)), (0, None), 0),
        (vc.vector_matrix, (rand(B, 3), rand(3, 4)), (0, None), 0),
        (vc.dot_of_two, (rand(B, 3), rand(B, 3)), 0, 0),
        (vc.total, (rand(B, 4),), 0, 0),
        (vc.total, (rand(4, B),), -1, 0),
        (vc.mean_and_max, (rand(B, 4),), 0, (0, 0)),
        (vc.row_sums, (rand(B, 3, 4),), 0, 0),
        (vc.row_sums, (rand(B, 3, 4),), 0, 1),
        (vc.row_sums, (rand(3, 4, B),), 2, -1),
        (vc.column_means, (rand(B, 3, 4),), 0, 0),
        (vc.softmax, (rand(B, 5),), 0, 0),
        (vc.logistic_loss, (rand(4), rand(B, 4), (rand(B) > 0.5).astype(float)), (None, 0, 0), 0),
        (vc.index_reads, (rand(B, 5),), 0, 0),
        (vc.column_read, (rand(B, 3, 4),), 0, 0),
        (vc.column_read, (rand(3, 4, B),), 2, 0),
        (vc.shape_use, (rand(B, 4),), 0, 0),
        (vc.comparisons, (rand(B, 4), rand(B, 4)), 0, 0),
        (vc.call_price, (rand(B) + 80.0, rand(B) + 80.0, rand(B) + 0.5, 0.02, rand(B) * 0.5),
         (0, 0, 0, None, 0), 0),
        (vc.relu_scalar, (rand(B) - 0.5,), 0, 0),
        (vc.branch_on_sum, (rand(B, 3),), 0, 0),
        (vc.piecewise, (rand(B),), 0, 0),
        (vc.branch_with_temporaries, (rand(B, 3), rand(3)), (0, None), 0),
        (vc.running_sum, (rand(B, 4),), 0, 0),
        (vc.horner, (rand(4), rand(B)), (None, 0), 0),
        (vc.power_iteration, (sq @ sq.T, rand(B, 3)), (None, 0), 0),
        (vc.newton_sqrt, (rand(B) * 4.0,), 0, 0),
        (vc.early_exit, (rand(B, 5),), 0, 0),
        (vc.data_dependent_steps, (rand(B) * 8.0,), 0, 0),
        (vc.cumulative, (rand(B, 4),), 0, 0),
        (vc.clipped_copy, (rand(B, 5),), 0, 0),
        (vc.stencil, (rand(B, 6),), 0, 0),
        (vc.outer_product, (rand(B, 3), rand(4)), (0, None), 0),
        (vc.calls_helper, (rand(B, 3),), 0, 0),
        (vc.calls_sigmoid, (rand(B, 3), rand(3)), (0, None), 0),
        (vc.calls_scalar_helper, (rand(B),), 0, 0),
        (vc.two_outputs, (rand(B, 3),), 0, (1, 0)),
        (vc.nested_outputs, (rand(B, 3),), 0, 0),
        (vc.nested_outputs, (rand(B, 3),), 0, (1, (0, 0))),
        (vc.dict_params, ({"w": rand(3, 2), "b": rand(2)}, rand(B, 3)), (None, 0), 0),
        (vc.dict_params, ({"w": rand(3, 2), "b": rand(B, 2)}, rand(B, 3)), ({"w": None, "b": 0}, 0), 0),
        (vc.tuple_input, ((rand(B, 3), rand(3)),), ((0, None),), 0),
        (vc.namedtuple_params, (vc.Params(rand(B, 3), rand(B)), rand(3)), (0, None), 0),
        (vc.list_of_arrays, ([rand(B, 2), rand(2, B)],), ([0, 1],), 0),
        (vc.trace_of_square, (rand(B, 3, 3),), 0, 0),
        (vc.quadratic_form, (rand(B, 3, 3), rand(B, 3)), 0, 0),
        (vc.frobenius, (rand(B, 3, 3),), 0, 0),
    ]


CASES = _cases()
IDS = [f"{fn.__name__}-{k}" for k, (fn, *_) in enumerate(CASES)]


@pytest.mark.parametrize("method", ["loop", "vectorize"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_matches_loop(case, method):
    fn, args, in_axes, out_axes = case
    batched = tp.vmap(fn, in_axes=in_axes, out_axes=out_axes, method=method)
    assert_tree_close(batched(*args), loop_reference(fn, args, in_axes, out_axes))


# Numba compiles take seconds: every other case, the strategy alternating from one to the next
COMPILED = [(case, ("loop", "vectorize")[k // 2 % 2]) for k, case in enumerate(CASES) if k % 2 == 0]


@pytest.mark.parametrize("case, method", COMPILED, ids=[f"{IDS[2 * k]}-{m}" for k, (_, m) in enumerate(COMPILED)])
def test_jit_of_vmap_matches_loop(case, method):
    fn, args, in_axes, out_axes = case
    batched = tp.jit(tp.vmap(fn, in_axes=in_axes, out_axes=out_axes, method=method))
    assert_tree_close(batched(*args), loop_reference(fn, args, in_axes, out_axes))


PARALLEL = [c for c in CASES if c[0] in (vc.logistic_loss, vc.call_price, vc.relu_scalar, vc.newton_sqrt)]


@pytest.mark.parametrize("method", ["loop", "vectorize"])
@pytest.mark.parametrize("case", PARALLEL, ids=[c[0].__name__ for c in PARALLEL])
def test_parallel_jit_matches_loop(case, method):
    fn, args, in_axes, out_axes = case
    batched = tp.jit(tp.vmap(fn, in_axes=in_axes, out_axes=out_axes, method=method), parallel=True)
    assert_tree_close(batched(*args), loop_reference(fn, args, in_axes, out_axes))


def generated_source(transformed):
    return open(transformed.cache_info()["module_file"]).read()


VECTORIZABLE = [c for c in CASES if c[0] in (vc.elementwise, vc.affine, vc.logistic_loss, vc.softmax,
                                            vc.relu_scalar, vc.power_iteration,
                                            vc.call_price, vc.calls_sigmoid, vc.branch_on_sum)]


@pytest.mark.parametrize("case", VECTORIZABLE, ids=[c[0].__name__ for c in VECTORIZABLE])
def test_auto_vectorizes_when_every_statement_has_a_rule(case):
    fn, args, in_axes, out_axes = case
    batched = tp.vmap(fn, in_axes=in_axes, out_axes=out_axes)
    assert_tree_close(batched(*args), loop_reference(fn, args, in_axes, out_axes))
    source = generated_source(batched)
    assert "batch_alloc" not in source and "result_b" not in source


@pytest.mark.parametrize("fn, args", [(vc.newton_sqrt, (rand(B),)), (vc.cumulative, (rand(B, 4),)),
                                      (vc.running_sum, (rand(B, 4),))])
def test_auto_falls_back_to_the_loop(fn, args):
    batched = tp.vmap(fn)
    assert_tree_close(batched(*args), loop_reference(fn, args))
    assert "batch_alloc" in generated_source(batched)


def test_explicit_vectorize_still_batches_element_loops():
    batched = tp.vmap(vc.running_sum, method="vectorize")
    x = rand(B, 4)
    assert_tree_close(batched(x), loop_reference(vc.running_sum, (x,)))
    assert "batch_alloc" not in generated_source(batched)


def test_branch_on_batched_values_becomes_a_select():
    batched = tp.vmap(vc.relu_scalar, method="vectorize")
    x = rand(B) - 0.5
    assert_tree_close(batched(x), loop_reference(vc.relu_scalar, (x,)))
    code = [line.strip() for line in generated_source(batched).splitlines() if not line.strip().startswith("#")]
    assert any("select(" in line for line in code) and not any(line.startswith("if ") for line in code)


def test_batched_matrix_vector_product_becomes_one_product():
    w, x, y = rand(4), rand(B, 4), rand(B)
    batched = tp.vmap(vc.logistic_loss, in_axes=(None, 0, 0), method="vectorize")
    batched(w, x, y)
    assert "x @ w" in generated_source(batched)


# -- nesting and composition ---------------------------------------------------------------------

def distance(u, v):
    return np.sqrt(np.sum((u - v) ** 2))


@pytest.mark.parametrize("method", ["loop", "vectorize"])
def test_nested_vmap_gives_pairwise_distances(method, target):
    xs, ys = rand(4, 3), rand(B, 3)
    pairwise = tp.vmap(tp.vmap(distance, in_axes=(None, 0), method=method), in_axes=(0, None), method=method)
    expected = np.array([[distance(x, y) for y in ys] for x in xs])
    assert_tree_close(on(target, pairwise)(xs, ys), expected)


def test_nested_vmap_over_two_axes_of_one_argument(target):
    m = rand(3, 4, B)
    batched = tp.vmap(tp.vmap(vc.total, in_axes=0), in_axes=2, out_axes=1)
    expected = np.array([[np.sum(m[i, :, b] ** 2) for b in range(B)] for i in range(3)])
    assert_tree_close(on(target, batched)(m), expected)


@pytest.mark.parametrize("method", ["loop", "vectorize"])
def test_per_example_gradients(method, target):
    w, x, y = rand(4), rand(B, 4), (rand(B) > 0.5).astype(float)
    per_example = on(target, tp.vmap(tp.grad(vc.logistic_loss), in_axes=(None, 0, 0), method=method))
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    assert_tree_close(per_example(w, x, y), (p - y)[:, None] * x)


def test_per_example_gradients_scale_their_rows_on_every_core_under_parallel_jit():
    """The batch of gradients (p - y)[:, None] * x is most of the work; under jit(parallel=True)
    its rows are split over the cores (scale_rows_parallel; its derivative rules: test_rules.py)."""
    w, x, y = rand(4), rand(B, 4), (rand(B) > 0.5).astype(float)
    per_example = tp.jit(tp.vmap(tp.grad(vc.logistic_loss), in_axes=(None, 0, 0), method="vectorize"), parallel=True)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    assert_tree_close(per_example(w, x, y), (p - y)[:, None] * x)
    assert "scale_rows_parallel(" in generated_source(per_example)
    assert "matmul_rows_parallel(" in generated_source(per_example)
    serial = tp.vmap(tp.grad(vc.logistic_loss), in_axes=(None, 0, 0), method="vectorize")
    assert "scale_rows_parallel(" not in tp.show(tp.jit(serial), w, x, y)


@pytest.mark.parametrize("parallel", [False, True])
def test_per_example_gradients_read_each_example_once(parallel):
    """Fused, the loop over examples computes x[i] @ w, the example's cotangent and its row of
    gradients one example at a time (row_dot, then the row written from x[i] while it is in
    cache) instead of a matrix-vector product and a scaling pass that each read all of x."""
    w, x, y = rand(4), rand(B, 4), (rand(B) > 0.5).astype(float)
    per_example = tp.jit(tp.vmap(tp.grad(vc.logistic_loss), in_axes=(None, 0, 0), method="vectorize"),
                         parallel=parallel)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    assert_tree_close(per_example(w, x, y), (p - y)[:, None] * x)
    fused = generated_source(per_example).split("\ndef ")[1].split("else:")[0]
    assert "row_dot(x, i, w)" in fused and "for j in range(x.shape[1]):" in fused
    assert "scale_rows" not in fused and ("prange(n0)" in fused) == parallel


@pytest.mark.parametrize("rows", [B, 1000], ids=["one block", "15 blocks"])
@pytest.mark.parametrize("w", [rand(4), rand(4, 3)], ids=["vector", "matrix"])
def test_batched_matrix_products_split_their_rows_over_the_cores_under_parallel_jit(w, rows):
    """x @ w for a batch of rows x is one BLAS call, which runs on one core; under jit(parallel=True)
    the cores multiply blocks of rows (matmul_rows_parallel; its derivative rules: test_rules.py),
    and the compiled code can still be cached (it does not ask Numba for the thread count)."""
    x = rand(rows, 4)
    bias = rand(*w.shape[1:]) if w.ndim == 2 else 0.5
    batched = tp.jit(tp.vmap(vc.affine, in_axes=(0, None, None), method="vectorize"), parallel=True)
    assert_tree_close(batched(x, w, bias), x @ w + bias)
    assert "matmul_rows_parallel(x, w)" in generated_source(batched)
    assert batched.cache_info()["numba_cacheable"]
    serial = tp.vmap(vc.affine, in_axes=(0, None, None), method="vectorize")
    assert "matmul_rows_parallel(" not in tp.show(tp.jit(serial), x, w, bias)


@pytest.mark.parametrize("method", ["loop", "vectorize"])
def test_per_example_price_delta_vega(method, target):
    spot, strike, maturity, vol = rand(B) + 80.0, rand(B) + 80.0, rand(B) + 0.5, rand(B) * 0.5
    greeks = tp.vmap(tp.value_and_grad(vc.call_price, argnums=(0, 4)), in_axes=(0, 0, 0, None, 0), method=method)
    price, (delta, vega) = on(target, greeks)(spot, strike, maturity, 0.02, vol)
    sqrt_t = np.sqrt(maturity)
    d1 = (np.log(spot / strike) + (0.02 + 0.5 * vol ** 2) * maturity) / (vol * sqrt_t)
    cdf = np.array([vc.norm_cdf(d) for d in d1])
    assert_tree_close(price, loop_reference(vc.call_price, (spot, strike, maturity, 0.02, vol), (0, 0, 0, None, 0)))
    assert_tree_close(delta, cdf)
    assert_tree_close(vega, spot * np.exp(-0.5 * d1 ** 2) / math.sqrt(2 * math.pi) * sqrt_t)


def test_per_example_gradients_of_dict_params(target):
    params, x = {"w": rand(3, 2), "b": rand(2)}, rand(B, 3)

    grads = on(target, tp.vmap(tp.grad(sum_of_dict_params), in_axes=(None, 0)))(params, x)
    assert set(grads) == {"w", "b"}
    t = np.tanh(x @ params["w"] + params["b"])
    assert_tree_close(grads["b"], 1.0 - t ** 2)
    assert_tree_close(grads["w"], x[:, :, None] * (1.0 - t ** 2)[:, None, :])


def sum_of_dict_params(params, x):
    return np.sum(np.tanh(x @ params["w"] + params["b"]))


def test_per_example_gradients_match_jax():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    w, x, y = rand(4), rand(B, 4), (rand(B) > 0.5).astype(float)

    def loss(w, x, y):
        p = 1.0 / (1.0 + jnp.exp(-(x @ w)))
        return -(y * jnp.log(p) + (1.0 - y) * jnp.log(1.0 - p))

    expected = np.asarray(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, x, y))
    for method in ("loop", "vectorize"):
        assert_tree_close(tp.vmap(tp.grad(vc.logistic_loss), in_axes=(None, 0, 0), method=method)(w, x, y), expected)


batched_total_loop = tp.vmap(vc.elementwise, method="loop")
batched_total_vectorized = tp.vmap(vc.elementwise, method="vectorize")


def objective_loop(x):
    return np.sum(batched_total_loop(x))


def objective_vectorized(x):
    return np.sum(batched_total_vectorized(x))


@pytest.mark.parametrize("objective", [objective_loop, objective_vectorized])
def test_grad_of_a_function_calling_vmap(objective, target):
    x = rand(B, 4)
    expected = np.cos(x) * np.exp(-x) - np.sin(x) * np.exp(-x) + 2.0 * x
    assert_tree_close(on(target, tp.grad(objective))(x), expected)


# -- collectives ---------------------------------------------------------------------------------

def normalize(x):
    return x / tp.psum(x, "batch")


def centred(x):
    return x - tp.pmean(x, "batch")


def spread(x):
    return tp.pmax(x, "batch") - tp.pmin(x, "batch")


def weighted_by_position(x):
    i = tp.axis_index("batch")
    return x * i + tp.psum(1.0, "batch")


def gathered_rank(x):
    everyone = tp.all_gather(x, "batch")
    return np.sum(everyone < x)


def rescale_some(x, w):
    scale = w
    if x > 0.5:
        scale = 2.0 * w
    total = tp.psum(x, "batch")
    return x * scale / total


def scatter_rows(v):
    return tp.psum_scatter(v, "batch")


def vector_normalize(v):
    total = tp.psum(np.sum(v), "batch")
    scaled = v / total
    return scaled, tp.psum(scaled, "batch")


@pytest.mark.parametrize("fn, expected", [
    (normalize, lambda x: x / x.sum()),
    (centred, lambda x: x - x.mean()),
    (spread, lambda x: np.full(x.shape, x.max() - x.min())),
    (weighted_by_position, lambda x: x * np.arange(x.size) + x.size),
    (gathered_rank, lambda x: np.array([np.sum(x < v) for v in x], dtype=float)),
])
def test_collectives(fn, expected, target):
    x = rand(B)
    assert_tree_close(on(target, tp.vmap(fn, axis_name="batch"))(x), expected(x))


def test_values_assigned_on_one_branch_cross_a_collective(target):
    x = rand(B)
    expected = x * np.where(x > 0.5, 2.0 * 3.0, 3.0) / x.sum()
    assert_tree_close(on(target, tp.vmap(rescale_some, in_axes=(0, None), axis_name="batch"))(x, 3.0), expected)


def test_psum_scatter_gives_each_example_its_row_of_the_sum(target):
    v = rand(B, B)
    assert_tree_close(on(target, tp.vmap(scatter_rows, axis_name="batch"))(v), v.sum(axis=0))


def test_collective_of_vectors_with_unbatched_output(target):
    v = rand(B, 3)
    scaled, total = on(target, tp.vmap(vector_normalize, axis_name="batch", out_axes=(0, None)))(v)
    assert_tree_close(scaled, v / v.sum())
    assert_tree_close(total, (v / v.sum()).sum(axis=0))


def psum_of_square(x):
    return tp.psum(x * x, "batch")


def times_psum(x):
    return x * tp.psum(x, "batch")


def pmean_of_square(x):
    return tp.pmean(x * x, "batch")


WEIGHTS = np.arange(float(B))


def weighted_gather(x):
    return np.sum(tp.all_gather(x * x, "batch") * WEIGHTS)


@pytest.mark.parametrize("fn, expected", [
    (psum_of_square, lambda x: 2.0 * x * x.size),      # each example's cotangent is summed: n * 2x
    (times_psum, lambda x: np.full(x.shape, 2.0 * x.sum())),
    (pmean_of_square, lambda x: 2.0 * x),
    (weighted_gather, lambda x: 2.0 * x * x.size * WEIGHTS),  # row b of the summed cotangents
])
def test_grad_of_collectives_under_vmap(fn, expected, target):
    x = rand(B)
    assert_tree_close(on(target, tp.vmap(tp.grad(fn), axis_name="batch"))(x), expected(x))


@pytest.mark.parametrize("fn", [psum_of_square, times_psum, pmean_of_square, weighted_gather])
def test_grad_of_collectives_matches_jax(fn):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jax_fn = {psum_of_square: lambda x: jax.lax.psum(x * x, "batch"),
              times_psum: lambda x: x * jax.lax.psum(x, "batch"),
              pmean_of_square: lambda x: jax.lax.pmean(x * x, "batch"),
              weighted_gather: lambda x: (jax.lax.all_gather(x * x, "batch") * WEIGHTS).sum()}[fn]
    x = rand(B)
    expected = np.asarray(jax.vmap(jax.grad(jax_fn), axis_name="batch")(x))
    assert_tree_close(tp.vmap(tp.grad(fn), axis_name="batch")(x), expected)


batched_times_psum = tp.vmap(times_psum, axis_name="batch")


def sum_of_batched_times_psum(x):
    return np.sum(batched_times_psum(x))


def test_grad_through_a_vmapped_collective(target):
    x = rand(B)
    assert_tree_close(on(target, tp.grad(sum_of_batched_times_psum))(x), np.full(B, 2.0 * x.sum()))


def test_collectives_outside_vmap_have_an_unbound_axis_name():
    with pytest.raises(NameError, match="unbound axis name: 'batch'"):
        tp.psum(1.0, "batch")


def psum_in_loop(x):
    acc = 0.0
    for i in range(3):
        acc = acc + tp.psum(x, "batch")
    return acc


def test_collective_inside_a_loop_is_refused():
    with pytest.raises(tp.TranspileError, match="inside a loop or branch"):
        tp.vmap(psum_in_loop, axis_name="batch")(rand(B))


def test_collective_over_another_axis_is_refused():
    with pytest.raises(tp.TranspileError, match="over axis 'batch'"):
        tp.vmap(normalize, axis_name="other")(rand(B))


# -- errors --------------------------------------------------------------------------------------

def test_inconsistent_batch_sizes_name_the_arguments(target):
    batched = on(target, tp.vmap(vc.dot_of_two))
    with pytest.raises(ValueError, match="inconsistent sizes.*'v'.*'u'"):
        batched(rand(B, 3), rand(B + 1, 3))


def test_axis_out_of_range_names_the_argument():
    with pytest.raises(ValueError, match="in_axes=2 is out of bounds for argument 'x' of rank 2"):
        tp.vmap(vc.total, in_axes=2)(rand(B, 3))


def test_mapping_a_scalar_is_refused():
    with pytest.raises(ValueError, match="argument 'b'.*rank 0"):
        tp.vmap(vc.scalar_math)(rand(B), 1.0)


def test_in_axes_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"len\(in_axes\)=1 for 2 arguments"):
        tp.vmap(vc.dot_of_two, in_axes=(0,))(rand(B, 3), rand(B, 3))


def test_in_axes_all_none():
    with pytest.raises(ValueError, match="at least one non-None"):
        tp.vmap(vc.total, in_axes=None)(rand(B, 3))


def test_in_axes_not_a_prefix_of_the_argument():
    with pytest.raises(ValueError, match="not a tree prefix"):
        tp.vmap(vc.dict_params, in_axes=({"w": None}, 0))({"w": rand(3, 2), "b": rand(2)}, rand(B, 3))


def test_out_axes_not_a_prefix_of_the_result():
    with pytest.raises(ValueError, match="out_axes"):
        tp.vmap(vc.two_outputs, out_axes=(0, 0, 0))(rand(B, 3))


def test_unknown_method():
    with pytest.raises(ValueError, match="method='fast'"):
        tp.vmap(vc.total, method="fast")(rand(B, 3))


def test_axes_must_be_ints_or_none():
    with pytest.raises(TypeError, match="vmap axes must be ints"):
        tp.vmap(vc.total, in_axes=1.5)
    x = rand(3, B)
    assert_tree_close(tp.vmap(vc.total, in_axes=np.int64(1))(x), loop_reference(vc.total, (x,), 1))
