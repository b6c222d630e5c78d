"""Fusion (transforms/fuse.py): fused loops equal plain NumPy and the unfused compiled code.

Each case is compiled with tp.jit (fusion on by default) and compared with the same function run
by NumPy itself; float32 inputs must give float32 arrays, as NumPy does.
"""
import inspect

import fuse_cases as cases
import numpy as np
import pytest

import transpile as tp

SHAPES = {"x": (4, 5), "y": (4, 5), "r": (5,), "c": (4, 1)}


def _arguments(fn, dtype, rng, x_shape=None):
    args = []
    for name in inspect.signature(fn).parameters:
        if name == "s":
            args.append(0.7)
            continue
        shape = x_shape if (name in ("x", "y") and x_shape is not None) else SHAPES[name]
        args.append((rng.standard_normal(shape) + (2.0 if name == "y" else 0.0)).astype(dtype))
    return args


def _source(compiled):
    with open(compiled.cache_info()["module_file"], encoding="utf-8") as f:
        return f.read()


def _assert_same(got, want, dtype):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(got, want):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        if b.ndim:
            assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


FLOAT32_SUBSET = {cases.gauss_sum, cases.poly, cases.row_sum_axis1, cases.where_two_arrays, cases.logical_mask,
                  cases.two_outputs, cases.mean_axis0, cases.max_axis1, cases.predicate_output,
                  cases.column_broadcast, cases.loop_accumulate, cases.power_arrays, *cases.UNIT_AXES,
                  cases.matvec_chain}
MATRIX = [(fn, np.float64) for fn in cases.ALL] + [(fn, np.float32) for fn in cases.ALL if fn in FLOAT32_SUBSET]


@pytest.mark.parametrize("fn, dtype", MATRIX, ids=lambda v: getattr(v, "__name__", None))
def test_fused_equals_numpy(fn, dtype):
    args = _arguments(fn, dtype, np.random.default_rng(0))
    compiled = tp.jit(fn)
    _assert_same(compiled(*args), fn(*args), dtype)
    source = _source(compiled)
    assert "# fused:" in source
    if fn in cases.BROADCASTS_SIZE_ONE:
        assert "else:" in source  # the NumPy statements stay for shapes that broadcast


UNFUSED_SUBSET = [cases.gauss_sum, cases.row_sum_axis1, cases.two_outputs, cases.where_two_arrays,
                  cases.loop_accumulate, cases.mean_axis0, cases.max_axis1, cases.column_sum]


@pytest.mark.parametrize("fn", UNFUSED_SUBSET, ids=lambda f: f.__name__)
def test_fused_equals_unfused(fn):
    args = _arguments(fn, np.float64, np.random.default_rng(1))
    unfused = tp.jit(fn, fuse=False)
    _assert_same(tp.jit(fn)(*args), unfused(*args), np.float64)
    assert "# fused:" not in _source(unfused)


@pytest.mark.parametrize("x_shape", [(1, 5), (0, 5), (4, 1), (1, 1)], ids=str)
@pytest.mark.parametrize("fn", [cases.row_broadcast, cases.row_sum_axis1, cases.where_relu, cases.two_outputs,
                                cases.mean_axis0, *cases.UNIT_AXES], ids=lambda f: f.__name__)
def test_size_zero_and_one_axes(fn, x_shape):
    args = _arguments(fn, np.float64, np.random.default_rng(2), x_shape=x_shape)
    if x_shape == (4, 1) and "r" in inspect.signature(fn).parameters:
        args[0] = np.ones((4, 1))   # broadcasts against the (5,) row: the NumPy path runs
    with np.errstate(all="ignore"):
        _assert_same(tp.jit(fn)(*args), fn(*args), np.float64)


@pytest.mark.parametrize("fn", cases.MATRIX_VECTOR + cases.ROWS_READ_ONCE, ids=lambda f: f.__name__)
def test_matrix_vector_products(fn):
    """`x @ r` stays one BLAS call before the loop, unless the loop also writes rows of x scaled
    (scale_rows): then each element comes from its row inside the loop (row_dot), and the row is
    written while it is in cache. With no rows, or a vector of the wrong length, NumPy's statements run."""
    compiled = tp.jit(fn)
    rng = np.random.default_rng(3)
    for rows in (4, 1, 0):
        x, r = rng.standard_normal((rows, 5)), rng.standard_normal(5)
        _assert_same(compiled(x, r), fn(x, r), np.float64)
    fused = _source(compiled).split("\ndef ")[1].split("else:")[0]
    reads_rows_once = fn in cases.ROWS_READ_ONCE
    assert ("row_dot(x, i" in fused) == reads_rows_once
    assert ("for j in range(x.shape[1]):" in fused) == reads_rows_once
    with pytest.raises(ValueError):
        fn(np.ones((4, 3)), np.ones(5))
    with pytest.raises(ValueError):
        compiled(np.ones((4, 3)), np.ones(5))


def test_one_statement_holding_several_operations_is_a_loop():
    """What counts toward a loop is array operations, not statements: rematerialization can leave one
    statement with three (`np.exp(-r) * 0.5 + m`), which NumPy would run as three passes."""
    compiled = tp.jit(cases.recomputed_into_one_statement)
    rng = np.random.default_rng(4)
    r, y = rng.standard_normal(5), rng.standard_normal((4, 5))
    _assert_same(compiled(r, y), cases.recomputed_into_one_statement(r, y), np.float64)
    fused = _source(compiled).split("\ndef ")[1].split("else:")[0]
    assert "vector_exp(-r[i" in fused and "1 array statement in one pass" in fused


def test_empty_max_raises_like_numpy():
    x = np.zeros((0, 5))
    with pytest.raises(ValueError):
        cases.max_reduction(x, x)
    with pytest.raises(ValueError):
        tp.jit(cases.max_reduction)(x, x)


def test_nan_and_inf_propagate():
    x = np.array([[1.0, np.nan, -np.inf, 0.0, 2.0]] * 4)
    y = np.array([[np.inf, 1.0, 2.0, 0.0, -1.0]] * 4)
    for fn in (cases.max_reduction, cases.divide_chain, cases.where_two_arrays, cases.trig_chain):
        with np.errstate(all="ignore"):
            want = fn(x, y)
            got = tp.jit(fn)(x, y)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), rtol=1e-12)


def test_division_by_zero_gives_inf_as_numpy():
    x = np.ones((4, 5))
    y = np.zeros((4, 5))
    got = tp.jit(cases.divide_chain)(x, y - 1.0)
    np.testing.assert_allclose(got, cases.divide_chain(x, y - 1.0))
    with np.errstate(divide="ignore"):
        assert np.all(np.isinf(tp.jit(cases.where_two_arrays)(x, y) / 0.0))


@pytest.mark.parametrize("fn", cases.UNIT_AXES, ids=lambda v: v.__name__)
def test_axes_the_code_makes_length_one_broadcast_inside_the_fused_loop(fn):
    """x - np.max(x, axis=1, keepdims=True) and x - m.reshape(n, 1): the loop reads the column at
    index 0 (its guard checks the length 1), and the gradient sums the column's cotangent along
    the row in the loop, instead of running the NumPy statements for broadcasting shapes."""
    x = np.random.default_rng(5).standard_normal((6, 7))
    compiled = tp.jit(fn)
    np.testing.assert_allclose(compiled(x), fn(x), rtol=1e-12)
    assert ".shape[1] == 1" in _source(compiled)
    gradient = tp.jit(tp.grad(fn))
    got = gradient(x)
    source = _source(gradient)
    assert ".shape[1] == 1" in source and "reshape_as(" in source
    probe = np.random.default_rng(6).standard_normal(x.shape)
    h = 1e-6
    slope = (fn(x + h * probe) - fn(x - h * probe)) / (2 * h)
    np.testing.assert_allclose(np.sum(got * probe), slope, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, tp.grad(fn)(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fn, argnums", cases.GRADIENTS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_fused_gradients(fn, argnums):
    args = _arguments(fn, np.float64, np.random.default_rng(3))
    compiled = tp.jit(tp.grad(fn, argnums=argnums))
    got = compiled(*args)
    want = tp.grad(fn, argnums=argnums)(*args)   # the same derivative, run by NumPy unfused
    _assert_same(got, want, np.float64)
    assert "# fused:" in _source(compiled)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    got = got if isinstance(got, tuple) else (got,)
    for k, g in zip(nums, got):  # and central differences, independently
        probe = np.random.default_rng(4).standard_normal(np.shape(args[k]))
        h = 1e-6
        plus = list(args)
        minus = list(args)
        plus[k] = args[k] + h * probe
        minus[k] = args[k] - h * probe
        slope = (fn(*plus) - fn(*minus)) / (2 * h)
        np.testing.assert_allclose(np.sum(g * probe), slope, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn", [cases.gauss_sum, cases.row_sum_axis1, cases.two_outputs, cases.poly],
                         ids=lambda f: f.__name__)
def test_parallel_outer_loop(fn):
    args = _arguments(fn, np.float64, np.random.default_rng(5))
    compiled = tp.jit(fn, parallel=True)
    _assert_same(compiled(*args), fn(*args), np.float64)
    source = _source(compiled)
    if fn is not cases.gauss_sum:  # a full reduction over a 2-d loop nest keeps a serial loop
        assert "prange(" in source


@pytest.mark.parametrize("reduce", [np.sum, np.mean, np.prod, np.max], ids=lambda f: f.__name__)
def test_parallel_full_reduction_of_one_loop(reduce):
    """Over one loop a sum, mean or product runs as a prange reduction (Numba combines the
    threads' partial results); max and min stay serial."""
    def chain(x, w):
        return reduce(np.exp(-(x - 0.3) ** 2 / 0.5) * w + 1.0)
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(10_001), rng.uniform(0.0, 1e-3, 10_001)   # the product stays near e^3.5
    compiled = tp.jit(chain, parallel=True)
    np.testing.assert_allclose(compiled(x, w), chain(x, w), rtol=1e-12)
    assert ("prange(" in _source(compiled)) == (reduce is not np.max)


def _function_source(source, name):
    start = source.index(f"def {name}(")
    end = source.find("\ndef ", start + 1)
    return source[start:] if end < 0 else source[start:end]


def test_helpers_are_fused_for_the_kinds_they_are_called_with():
    """A helper that stays a function (it has a loop) is generated for the kinds of its calls, so
    its chains fuse too; so does the vjp of one returning a pair (a cotangent of known kinds)."""
    x, y = _arguments(cases.helper_chain, np.float64, np.random.default_rng(7))
    value = tp.jit(cases.helper_chain)
    grad = tp.jit(tp.grad(cases.helper_chain, argnums=(0, 1)))
    np.testing.assert_allclose(value(x, y), cases.helper_chain(x, y), rtol=1e-12)
    grad(x, y)
    for compiled, helpers in ((value, ["_squash", "_gate"]), (grad, ["_squash_vjp", "_gate_vjp"])):
        source = _source(compiled)
        for helper in helpers:
            assert "# fused:" in _function_source(source, helper), helper


def test_straight_line_helpers_are_inlined_so_the_chain_is_one_loop():
    x, y = _arguments(cases.priced, np.float64, np.random.default_rng(8))
    value = tp.jit(cases.priced)
    np.testing.assert_allclose(value(x, y), cases.priced(x, y), rtol=1e-12)
    source = _source(value)
    assert "def _cdf(" not in source and source.count("# fused:") == 1
    grad = tp.jit(tp.grad(cases.priced, argnums=(0, 1)))
    grad(x, y)
    assert "def _cdf" not in _source(grad)


def test_vmapped_helpers_are_inlined_and_fuse_with_their_caller():
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal(1001), rng.standard_normal(1001)
    batched = tp.jit(tp.vmap(cases.priced_one, method="vectorize"))
    per_example = tp.jit(tp.vmap(cases.priced_one, method="loop"))
    np.testing.assert_allclose(batched(a, b), per_example(a, b), rtol=1e-13)
    source = _source(batched)
    assert source.count("# fused:") == 1 and "def _cdf" not in source
    grads = tp.jit(tp.vmap(tp.grad(cases.priced_one, argnums=(0, 1)), method="vectorize"))
    for got, want in zip(grads(a, b), tp.jit(tp.vmap(tp.grad(cases.priced_one, argnums=(0, 1)), method="loop"))(a, b)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert _source(grads).count("# fused:") == 1


def test_an_alias_of_an_outside_array_does_not_split_a_group():
    x, y = _arguments(cases.alias_between, np.float64, np.random.default_rng(10))
    value = tp.jit(cases.alias_between)
    np.testing.assert_allclose(value(x, y), cases.alias_between(x, y), rtol=1e-12)
    assert _source(value).count("# fused:") == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_result_read_only_for_its_shape_is_not_allocated(dtype):
    x, y = _arguments(cases.shape_only_result, dtype, np.random.default_rng(11))
    value = tp.jit(cases.shape_only_result)
    _assert_same(value(x, y), cases.shape_only_result(x, y), dtype)
    assert "a = shaped_like(x, x, y)" in _source(value)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gated(g, c):
    b = c.shape[0]
    f = _sigmoid(g[0:b])
    i = _sigmoid(g[b:2 * b])
    return c * f + i * np.tanh(c)


def test_a_group_whose_values_are_all_recomputed_later_leaves_no_loop():
    g, c = np.linspace(-1.0, 1.0, 6), np.linspace(0.5, 2.0, 3)
    value = tp.jit(gated)
    np.testing.assert_allclose(value(g, c), gated(g, c), rtol=1e-14)
    source = _source(value)
    assert "no loop" in source
    assert source.count("vector_exp(") == 2   # each sigmoid once, both in the one loop


def slices_read(x):
    return np.sum(np.sin(x[0:3]) * x[2:5])


def overlapping_accumulate(x):
    d = x.copy()
    e = d[0:3]
    d[1:4] = d[1:4] + e
    return d * 2.0


def test_a_sum_written_back_into_its_slice_is_added_in_place():
    x = np.array([0.3, -0.2, 0.8, 1.1, -0.5])
    grad = tp.jit(tp.grad(slices_read))
    want = np.zeros(5)
    want[0:3] += np.cos(x[0:3]) * x[2:5]
    want[2:5] += np.sin(x[0:3])
    np.testing.assert_allclose(grad(x), want, rtol=1e-14)
    assert _source(grad).count("add_into(") == 2
    value = tp.jit(overlapping_accumulate)
    np.testing.assert_array_equal(value(x), overlapping_accumulate(x))   # reads the old d[1:3], as NumPy
    assert "add_into(" in _source(value)


def rebound_after_the_group(x, y):
    a = np.exp(x) * y
    b = a * 2.0 + y
    s = np.dot(b[0], y[0])
    a = y * s
    return a + b


def test_a_value_rebound_before_anything_reads_it_is_not_stored():
    x, y = _arguments(rebound_after_the_group, np.float64, np.random.default_rng(12))
    value = tp.jit(rebound_after_the_group)
    np.testing.assert_allclose(value(x, y), rebound_after_the_group(x, y), rtol=1e-14)
    source = _source(value)
    assert "a_i = " in source and "a = fused_empty" not in source and "a[i" not in source


def test_show_names_the_user_line():
    x, r, y = np.ones((4, 5)), np.ones(5), np.ones((4, 5))
    compiled = tp.jit(cases.gauss_sum)
    compiled(x, r, 0.5, y)
    source = _source(compiled)
    assert "for i in range(n0):" in source
    assert "return np.sum(np.exp(-(x - r) ** 2 / s) * y)" in source


def test_untypable_fused_code_runs_unfused_with_a_warning(monkeypatch):
    from transpile.transforms import fuse

    def wrong_kinds(fdef, namespace, param_kinds):  # a kind-inference bug: the scalar s "is" a matrix
        kinds = real_infer(fdef, namespace, param_kinds)
        kinds["s"] = ("f", 2)
        return kinds

    real_infer = fuse.infer
    monkeypatch.setattr(fuse, "infer", wrong_kinds)
    x = np.random.default_rng(6).standard_normal((4, 5))
    compiled = tp.jit(cases.scalar_only, cache=False)
    with pytest.warns(tp.errors.FusionFallbackWarning, match="running it unfused"):
        got = compiled(x, 0.7)
    np.testing.assert_allclose(got, cases.scalar_only(x, 0.7), rtol=1e-12)
    np.testing.assert_allclose(compiled(x, 0.7), got)  # later calls reuse the unfused code quietly


# ---- rematerialization (transforms/rematerialize.py) ---------------------------------------------

def gaussian_weighted_sum(x, m, s, w):
    return np.sum(np.exp(-(x - m) ** 2 / s) * w)


def _forward_loop(source):
    """The first fused loop of the generated function (its lines up to its `else`)."""
    start = source.index("for i in range")
    return source[start:source.index("else:", start)]


def test_gradient_recomputes_forward_temporaries_instead_of_storing_them():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(1000), rng.uniform(0.0, 1.0, 1000)
    grad = tp.jit(tp.grad(gaussian_weighted_sum))
    source = tp.show(grad, x, 0.3, 0.5, w)
    assert "] = " not in _forward_loop(source)   # the forward loop writes no array
    assert "vector_exp(-(x[i_2] - m) ** 2 / s)" in source
    d = x - 0.3
    want = np.exp(-d * d / 0.5) * w * (-2.0 * d / 0.5)
    np.testing.assert_allclose(grad(x, 0.3, 0.5, w), want, rtol=1e-13)
    np.testing.assert_allclose(tp.jit(tp.grad(gaussian_weighted_sum), fuse=False)(x, 0.3, 0.5, w), want, rtol=1e-13)


def written_in_place_between(x, w):
    y = x.copy()
    t = y * 2.0 + 1.0
    u = t * w
    y[0] = 100.0
    v = t * 3.0 + w + y
    return u + v


def rebound_between(x, w):
    t = np.exp(x) * w
    u = t + w
    x = x * 0.5
    z = np.sum(x)
    return u * z + t * x


def view_written_in_place_between(x, w):
    y = x.copy()
    v = y[1:4]
    t = v * w[1:4]
    y[1:4] = 7.0
    return t + 1.0 + w[1:4]


def copy_then_rebound(x, w):
    y = x * 2.0
    z = y
    y = np.sin(y) + y
    v = np.dot(y.ravel(), w.ravel())
    return z * v


@pytest.mark.parametrize("fn", [written_in_place_between, rebound_between, view_written_in_place_between,
                                copy_then_rebound])
def test_no_recomputation_from_values_that_changed(fn):
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    want = fn(x.copy(), w)
    np.testing.assert_allclose(tp.jit(fn)(x.copy(), w), want, rtol=1e-14)
    np.testing.assert_allclose(tp.jit(fn, fuse=False)(x.copy(), w), want, rtol=1e-14)


def _joined_cell(w, h, x):
    n = h.shape[0]
    z = np.concatenate((x, h)) * w
    a = np.tanh(z[:n])
    b = np.sin(z[n:])
    h = a * b
    return h, a + b


def recurrent_pair(w, h0, xs):
    h = h0
    total = 0.0
    for t in range(xs.shape[0]):
        h, c = _joined_cell(w, h, xs[t])
        total += np.sum(h * c)
    return total


def test_a_cotangent_passed_back_through_a_loop_keeps_its_kind_in_the_helpers_vjp():
    """The helper's vjp takes the pair's cotangent (dh, dc) as one tuple, and the loop passes back dh
    from the pieces split_like cuts from the joined input's adjoint: both kinds are known, so the
    vjp's statements reading dh fuse (the LSTM's cell: three arrays fewer per step)."""
    rng = np.random.default_rng(12)
    w, h0, xs = rng.standard_normal(6), rng.standard_normal(3), rng.standard_normal((5, 3))
    grad = tp.jit(tp.grad(recurrent_pair, argnums=(0, 1)))
    step = 1e-6
    for k, arg in enumerate((w, h0)):
        got = grad(w, h0, xs)[k]
        for i in range(arg.size):
            up, down = [a.copy() for a in (w, h0)], [a.copy() for a in (w, h0)]
            up[k][i] += step
            down[k][i] -= step
            expected = (recurrent_pair(*up, xs) - recurrent_pair(*down, xs)) / (2 * step)
            assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    vjp = _function_source(_source(grad), "_joined_cell_vjp")
    assert "dh[i" in vjp  # read element by element in a fused loop
