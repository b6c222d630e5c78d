"""The runtime helpers agree between Python and numba.njit, and with NumPy where NumPy has a twin.

Each helper is called through a small twin function below, run as Python and compiled by the `nb`
fixture (once per argument type signature, cached on disk across runs).
"""
import types

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba import njit
from numba_test_cache import numba_for_tests

import transpile as tp
import transpile.runtime as rt

# derandomized: the same examples, hence the same compiled type signatures, on every run
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def all_helpers(x):
    """Every helper on x (reduce_mean/min/prod share reduce_sum's code but for the folding step,
    compiled for both float dtypes in test_reductions_under_numba)."""
    m = rt.reduce_max(x, None, False)
    total = rt.reduce_sum(x, None, False)
    return (rt.zero_like(x), rt.reshape_as(x, x), rt.unbroadcast(x, x), rt.broadcast_like(x, x),
            rt.select(x > 0, x, -x), rt.balanced_eq(x, m, x), total, rt.reduce_sum(x, None, True),
            rt.sum_vjp(total, x, None, False), rt.mean_vjp(total, x, None, False), rt.reduced_size(x, None),
            rt.chooser_weights(x, m, None), rt.prod_others(x, None))


def unbroadcast(v, x):
    return rt.unbroadcast(v, x)


def broadcast_like(v, x):
    return rt.broadcast_like(v, x)


def reshape_as(v, x):
    return rt.reshape_as(v, x)


def select(cond, a, b):
    return rt.select(cond, a, b)


def zero_like(x):
    return rt.zero_like(x)


def adjoint_zero(x):
    return rt.adjoint_zero(x)


def cast_like(v, x):
    return rt.cast_like(v, x)


def shaped_like(reference, a, b):
    """(the array for reference's shape, whether it is reference itself)"""
    carrier = rt.shaped_like(reference, a, b)
    return carrier.shape, carrier.itemsize, carrier.ctypes.data == reference.ctypes.data


def reduce_sum(x, axis):
    return rt.reduce_sum(x, axis, False), rt.reduce_sum(x, axis, True)


def reduce_mean(x, axis):
    return rt.reduce_mean(x, axis, False), rt.reduce_mean(x, axis, True)


def reduce_max(x, axis):
    return rt.reduce_max(x, axis, False), rt.reduce_max(x, axis, True)


def reduce_min(x, axis):
    return rt.reduce_min(x, axis, False), rt.reduce_min(x, axis, True)


def reduce_prod(x, axis):
    return rt.reduce_prod(x, axis, False), rt.reduce_prod(x, axis, True)


def adjoints(v, x, m, axis):
    return (rt.sum_vjp(v, x, axis, False), rt.mean_vjp(v, x, axis, False), rt.chooser_weights(x, m, axis),
            rt.prod_others(x, axis), rt.reduced_size(x, axis))


def split_like(v, arrays, axis):
    return rt.split_like(v, arrays, axis)


def join_like(pieces, v, axis):
    return rt.join_like(pieces, v, axis)


def split_join_list(v, a, b):
    return rt.split_like(v, [a, b], 0), rt.join_like([a, b], v, 0)


def flip_axes(v, axis):
    return rt.flip_axes(v, axis)


def untranspose(v, axes):
    return rt.untranspose(v, axes)


def dot_vjps(v, a, b):
    return rt.dot_vjp_a(v, a, b), rt.dot_vjp_b(v, a, b), rt.eye_like(np.ones((2, 3)))


def summed_dot_vjp_a(v, a, b, like):
    return rt.summed_dot_vjp_a(v, a, b, like)


def jacobian_pieces(out, x):
    n, m = rt.flat_size(out), rt.flat_size(x)
    matrix = np.arange(n * m * 1.0).reshape(n, m)
    return n, m, rt.basis_vector(x, m - 1), rt.flat_values(out), rt.jacobian_shaped(matrix, out, x)


def add_into_vector(d, c):
    a, b, e, f, h, k = d.copy(), d.copy(), d.copy(), d.copy(), d.copy(), d.copy()
    rt.add_into(a[1:4], c)
    rt.add_into(b[1:4], b[0:3])      # overlapping the part it adds into: behind it,
    rt.add_into(e[0:3], e[1:4])      # ahead of it,
    rt.add_into(f[1:4], f[3:0:-1])   # reversed
    rt.add_into(h[1:4], 2.5)
    rt.add_into(k[1:4], c[0:1])      # broadcast
    return a, b, e, f, h, k


def add_into_matrix(m, r):
    a, b, c = m.copy(), m.copy(), m.copy()
    rt.add_into(a[1:3], r)
    rt.add_into(b[1:3], b[0:2])
    rt.add_into(c[1:3, 1:], m[0:2, 0:3])
    return a, b, c


def concatenate_ravelled(a, b, i):
    return rt.concatenate_ravelled((a, b, i)), rt.concatenate_ravelled([a[0], b]), rt.concatenate_ravelled((b, b))


TWINS = [concatenate_ravelled, add_into_vector, add_into_matrix, all_helpers, unbroadcast, broadcast_like, reshape_as, select, zero_like, adjoint_zero, cast_like, reduce_sum, reduce_mean,
         reduce_max, reduce_min, reduce_prod, adjoints, split_like, join_like, split_join_list, flip_axes,
         untranspose, dot_vjps, summed_dot_vjp_a, jacobian_pieces, shaped_like]


@pytest.fixture(scope="module")
def nb():
    """The twins compiled by numba.njit, as attributes."""
    with numba_for_tests():
        yield types.SimpleNamespace(**{f.__name__: njit(cache=True)(f) for f in TWINS})


def _same(got, want):
    """Equal values, and the same kind: scalar vs array, shape, dtype, tuple/list length."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (type(got), type(want))
        for g, w in zip(got, want):
            _same(g, w)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == want.dtype, \
            (type(got), np.shape(got), getattr(got, "dtype", None), want.shape, want.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-6 if want.dtype == np.float32 else 1e-12)
    else:
        assert not isinstance(got, np.ndarray) and np.ndim(got) == 0, (type(got), want)
        np.testing.assert_allclose(got, want, rtol=1e-6)


# ---------------------------------------------------------------- every helper on every value kind

_RNG = np.random.default_rng(0)
VALUES = [2.5, -3, np.float32(1.5)] + [
    np.asarray(_RNG.uniform(0.5, 2.0, shape) * np.array([1, -1])[_RNG.integers(0, 2, shape)], dtype)
    for dtype in (np.float64, np.float32) for shape in [(), (3,), (2, 3), (2, 3, 2)]]


@pytest.mark.parametrize("x", VALUES, ids=lambda x: f"{np.asarray(x).dtype}-{np.shape(x)}-{type(x).__name__}")
def test_helpers_agree_on_every_kind_of_value(nb, x):
    want = all_helpers(x)
    _same(nb.all_helpers(x), want)
    if isinstance(x, np.ndarray) and x.dtype == np.float32:  # balanced_eq's shares are float64, as in np.where
        assert all(r.dtype == np.float32 for r in want if isinstance(r, np.ndarray) and r is not want[5])


def test_zero_like_is_float(nb):
    assert rt.zero_like(3) == 0.0 and isinstance(rt.zero_like(3), float)
    assert rt.zero_like(np.arange(3)).dtype == np.float64
    assert rt.zero_like(np.ones(2, np.float32)).dtype == np.float32
    _same(nb.zero_like(np.arange(3)), np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_adjoint_zero_is_at_least_float64_and_cast_like_gives_the_arguments_dtype(nb, dtype):
    x = np.ones((2, 3), dtype)
    for zero in (rt.adjoint_zero(x), nb.adjoint_zero(x)):
        _same(zero, np.zeros((2, 3)))
        assert zero.dtype == np.float64
    v = np.full((2, 3), 1.0 + 2.0 ** -30)
    for cast in (rt.cast_like(v, x), nb.cast_like(v, x)):
        assert cast.dtype == (np.float32 if dtype == np.float32 else np.float64)
        np.testing.assert_array_equal(cast, v.astype(cast.dtype))


def test_add_into_adds_in_place_as_numpy_would_into_a_copy(nb):
    """Where the addend overlaps the part it is added into, NumPy's `d[s] = d[s] + c` reads the
    old values (the sum is computed first); add_into must give the same."""
    d, c = np.arange(6.0) ** 2, np.array([0.5, -1.0, 2.0])
    want = []
    for part, addend in ((slice(1, 4), None), (slice(1, 4), slice(0, 3)), (slice(0, 3), slice(1, 4)),
                         (slice(1, 4), slice(3, 0, -1)), (slice(1, 4), 2.5), (slice(1, 4), c[0:1])):
        a = d.copy()
        a[part] = a[part] + (c if addend is None else a[addend] if isinstance(addend, slice) else addend)
        want.append(a)
    m, r = np.arange(12.0).reshape(3, 4) ** 2, np.array([1.0, -2.0, 3.0, 0.5])
    a, b, e = m.copy(), m.copy(), m.copy()
    a[1:3] = a[1:3] + r
    b[1:3] = b[1:3] + b[0:2]
    e[1:3, 1:] = e[1:3, 1:] + m[0:2, 0:3]
    for impl in (add_into_vector, nb.add_into_vector):
        for got, expected in zip(impl(d, c), want):
            np.testing.assert_array_equal(got, expected)
    for impl in (add_into_matrix, nb.add_into_matrix):
        for got, expected in zip(impl(m, r), (a, b, e)):
            np.testing.assert_array_equal(got, expected)


def test_shaped_like_is_its_reference_only_in_the_fused_dtype(nb):
    """A fused result read only for its shape may be the loop's reference array, when the dtypes agree."""
    x64, x32 = np.ones((2, 3)), np.ones((2, 3), np.float32)
    for impl in (shaped_like, nb.shaped_like):
        assert impl(x64, x64, x32) == ((2, 3), 8, True)
        assert impl(x32, x32, x32) == ((2, 3), 4, True)
        assert impl(x32, x64, x32) == ((2, 3), 8, False)  # float32 reference, float64 result: a new array
        assert impl(np.arange(6).reshape(2, 3), x64, x64) == ((2, 3), 8, False)


# ---------------------------------------------------------------- broadcasting, by property

dims = st.integers(1, 4)
shapes = st.lists(dims, max_size=3).map(tuple)


@st.composite
def broadcast_pairs(draw):
    """(big, small): small broadcasts to big (trailing alignment, 1s stretch)."""
    small = draw(shapes)
    lead = tuple(draw(st.lists(dims, max_size=3 - len(small))))
    big = lead + tuple(draw(dims) if n == 1 and draw(st.booleans()) else n for n in small)
    return big, small


@SETTINGS
@given(broadcast_pairs(), st.integers(0, 2**32 - 1))
def test_unbroadcast_is_the_adjoint_of_broadcasting(nb, pair, seed):
    big, small = pair
    rng = np.random.default_rng(seed)
    v, u = np.asarray(rng.normal(size=big)), np.asarray(rng.normal(size=small))
    reduced = rt.unbroadcast(v, u)
    assert reduced.shape == small
    np.testing.assert_allclose(np.sum(reduced * u), np.sum(v * np.broadcast_to(u, big)), rtol=1e-10, atol=1e-10)
    _same(nb.unbroadcast(v, u), reduced)
    spread = rt.broadcast_like(u, v)
    np.testing.assert_array_equal(spread, np.broadcast_to(u, big))
    _same(nb.broadcast_like(u, v), spread)


@SETTINGS
@given(shapes, st.integers(0, 2**32 - 1))
def test_unbroadcast_to_a_scalar_sums(nb, shape, seed):
    v = np.asarray(np.random.default_rng(seed).normal(size=shape))
    assert not isinstance(rt.unbroadcast(v, 1.0), np.ndarray)
    _same(nb.unbroadcast(v, 1.0), rt.unbroadcast(v, 1.0))
    np.testing.assert_allclose(rt.unbroadcast(v, 1.0), np.sum(v))


def test_unbroadcast_non_contiguous_and_float32(nb):
    v = np.arange(24.0).reshape(4, 6)[:, ::2].T.astype(np.float32)[:, ::-1]  # (3, 4), strided
    for x in (np.zeros(4), np.zeros((3, 1)), np.zeros((1, 4)), np.zeros((3, 4))):
        _same(nb.unbroadcast(v, x), rt.unbroadcast(v, x))
        assert rt.unbroadcast(v, x).dtype == np.float32


# ---------------------------------------------------------------- reductions, by property

@st.composite
def reductions(draw):
    shape = tuple(draw(st.lists(dims, min_size=1, max_size=3)))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True)))
    return shape, axis


def _numpy_reductions(name, x, axis):
    return tuple(getattr(np, name)(x, axis=axis, keepdims=keep) for keep in (False, True))


@SETTINGS
@given(reductions(), st.sampled_from(["sum", "mean", "max", "min", "prod"]), st.integers(0, 2**32 - 1))
def test_reductions_match_numpy(nb, reduction, name, seed):
    """Python for every operation; Numba for sums (the others share its code but for the folding
    step, checked below), to bound the type signatures compiled."""
    shape, axis = reduction
    x = np.random.default_rng(seed).uniform(0.5, 1.5, shape)
    want = _numpy_reductions(name, x, axis)
    _same(tuple(getattr(rt, f"reduce_{name}")(x, axis, keep) for keep in (False, True)), want)
    if name == "sum":
        _same(nb.reduce_sum(x, axis), tuple(w if isinstance(w, np.ndarray) else float(w) for w in want))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reductions_under_numba(nb, name, dtype):
    x = np.random.default_rng(1).uniform(0.5, 1.5, (2, 3, 2)).astype(dtype)
    for axis in [(0, 2), None]:
        want = _numpy_reductions(name, x, axis)
        _same(getattr(nb, f"reduce_{name}")(x, axis), tuple(w if isinstance(w, np.ndarray) else float(w) for w in want))


@SETTINGS
@given(reductions(), st.integers(0, 2**32 - 1))
def test_reduction_adjoints(reduction, seed):
    shape, axis = reduction
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(float)  # small integers: ties for max
    total = np.sum(x, axis=axis)
    v = rng.normal(size=np.shape(total)) if np.ndim(total) else float(rng.normal())
    spread = rt.sum_vjp(v, x, axis, False)
    np.testing.assert_allclose(np.sum(spread * x), np.sum(v * total), rtol=1e-10)
    np.testing.assert_allclose(rt.mean_vjp(v, x, axis, False), spread / rt.reduced_size(x, axis))
    weights = rt.chooser_weights(x, np.max(x, axis=axis), axis)
    np.testing.assert_allclose(np.sum(weights, axis=axis), 1.0)
    assert np.all((weights > 0) == (x == np.max(x, axis=axis, keepdims=True)))
    others = rt.prod_others(x, axis)
    nonzero = x != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(others[nonzero], (np.prod(x, axis=axis, keepdims=True) / x)[nonzero])


@pytest.mark.parametrize("shape, axis", [((4,), None), ((2, 3), 0), ((2, 3), -1), ((2, 3, 2), (0, 2)),
                                         ((2, 3, 2), None)])
def test_reduction_adjoints_under_numba(nb, shape, axis):
    x = np.random.default_rng(2).integers(0, 3, shape).astype(float)
    total = np.sum(x, axis=axis)
    v = np.ones(np.shape(total)) if np.ndim(total) else 1.0
    m = np.max(x, axis=axis)
    m = m if np.ndim(m) else float(m)
    _same(nb.adjoints(v, x, m, axis), adjoints(v, x, m, axis))


@pytest.mark.parametrize("axis", [(0, 3), (1, 4), (1, 3), (0, 2, 4)])
def test_reductions_over_alternating_axes(nb, axis):
    """Runs of kept and reduced axes alternating four times (the outer runs of the groups' plan
    take a table of offsets) or three times across a length-1 axis, on a strided view, against
    NumPy."""
    x = np.random.default_rng(3).integers(0, 3, (3, 5, 1, 2, 8)).astype(float)[:, ::2, :, :, ::2]
    assert x.shape == (3, 3, 1, 2, 4) and not x.flags.c_contiguous
    total = np.sum(x, axis=axis)
    m = np.max(x, axis=axis)
    v = np.arange(total.size, dtype=float).reshape(total.shape)
    want_sums = _numpy_reductions("sum", x, axis)
    _same(nb.reduce_sum(x, axis), want_sums)
    _same(nb.reduce_max(x, axis), _numpy_reductions("max", x, axis))
    spread, _, weights, _, _ = nb.adjoints(v, x, m, axis)
    np.testing.assert_array_equal(spread, np.broadcast_to(np.expand_dims(v, axis), x.shape))
    hits = x == np.expand_dims(m, axis)
    np.testing.assert_allclose(weights, hits / np.sum(hits, axis=axis, keepdims=True))
    _same(nb.unbroadcast(x, want_sums[1]), want_sums[1])
    _same(nb.broadcast_like(want_sums[1], x), np.broadcast_to(want_sums[1], x.shape).copy())


def test_keepdims_must_be_constant_under_numba():
    with numba_for_tests(), pytest.raises(numba.core.errors.TypingError, match="keepdims must be a constant"):
        njit(lambda x, k: rt.reduce_sum(x, 0, k))(np.ones(3), True)


# ---------------------------------------------------------------- joins and shape helpers

@st.composite
def joins(draw):
    """(element shapes, axis, numpy joiner): a concatenate/stack/hstack/vstack/array call."""
    kind = draw(st.sampled_from(["concatenate", "flat", "stack", "hstack", "vstack", "array"]))
    n = draw(st.integers(1, 3))
    base = list(draw(st.lists(dims, min_size=1, max_size=2)))
    if kind == "concatenate":
        axis = draw(st.integers(0, len(base) - 1))
        elements = [tuple(base[:axis] + [draw(dims)] + base[axis + 1:]) for _ in range(n)]
        return elements, axis, lambda a: np.concatenate(a, axis)
    if kind == "flat":
        return [tuple(draw(st.lists(dims, max_size=2))) for _ in range(n)], None, lambda a: np.concatenate(
            [np.ravel(e) for e in a])
    if kind == "stack":
        axis = draw(st.integers(-len(base) - 1, len(base)))
        return [tuple(base)] * n, axis, lambda a: np.stack(a, axis)
    if kind == "hstack":
        return [tuple(base[:1] + [draw(dims)] + base[2:]) if len(base) > 1 else (draw(dims),)
                for _ in range(n)], None, np.hstack
    if kind == "vstack":
        return [tuple(base)] * n, 0, np.vstack
    return [()] * n, 0, np.array


@settings(SETTINGS, max_examples=30)
@given(joins(), st.integers(0, 2**32 - 1))
def test_split_like_inverts_joins(nb, join, seed):
    shapes_, axis, joiner = join
    rng = np.random.default_rng(seed)
    elements = tuple(rng.normal(size=s) if s else float(rng.normal()) for s in shapes_)
    joined = joiner(elements)
    if joiner is np.hstack:
        axis = rt.hstack_axis(joined)
    pieces = rt.split_like(joined, elements, axis)
    for piece, element in zip(pieces, elements):
        _same(piece, element)
    _same(nb.split_like(joined, elements, axis), pieces)
    _same(rt.join_like(pieces, joined, axis), joined)
    _same(nb.join_like(pieces, joined, axis), joined)


def test_split_like_of_a_list_and_of_an_array(nb):
    v, a, b = np.arange(5.0), np.ones(2), np.ones(3)
    assert isinstance(rt.split_like(v, [a, b], 0), list)
    _same(nb.split_join_list(v, a, b), ([np.arange(2.0), np.arange(2.0, 5.0)], np.ones(5)))
    _same(rt.split_like(np.ones((2, 3)), np.zeros((2, 3)), 0), np.ones((2, 3)))


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_flip_axes(nb, axis):
    x = np.arange(24.0).reshape(2, 3, 4)
    _same(nb.flip_axes(x, axis), np.flip(x, axis).copy())
    _same(rt.flip_axes(x, axis), np.flip(x, axis))


@pytest.mark.parametrize("axes", [None, (1, 2, 0), (-1, 0, 1)])
def test_untranspose(nb, axes):
    x = np.arange(24.0).reshape(2, 3, 4)
    y = np.transpose(x, axes)
    _same(rt.untranspose(y, axes), x)
    _same(np.ascontiguousarray(nb.untranspose(y, axes)), x)


def test_reshape_as_and_select_keep_scalars_scalar(nb):
    assert rt.reshape_as(np.array([2.0]), 1.0) == 2.0 and not isinstance(rt.reshape_as(np.ones(1), 1.0), np.ndarray)
    _same(nb.reshape_as(np.array([[2.0]]), 1.0), 2.0)
    _same(nb.reshape_as(3.0, np.zeros((1, 1))), np.full((1, 1), 3.0))
    assert rt.select(True, 1.0, 2.0) == 1.0 and not isinstance(rt.select(False, 1.0, 2.0), np.ndarray)
    _same(nb.select(np.array([True, False]), 1.0, np.zeros(2)), np.array([1.0, 0.0]))
    assert rt.balanced_eq(1.0, 1.0, 1.0) == 0.5 and rt.balanced_eq(2.0, 2.0, 1.0) == 1.0


@pytest.mark.parametrize("ranks", [(0, 1), (1, 0), (1, 1), (2, 1), (1, 2), (2, 2)])
def test_dot_vjps_are_adjoint(nb, ranks):
    rng = np.random.default_rng(sum(ranks))
    shapes_ = {(0, 1): [(), (3,)], (1, 0): [(3,), ()], (1, 1): [(3,), (3,)], (2, 1): [(2, 3), (3,)],
               (1, 2): [(3,), (3, 4)], (2, 2): [(2, 3), (3, 4)]}[ranks]
    a, b = (rng.normal(size=s) if s else float(rng.normal()) for s in shapes_)
    out = np.dot(a, b)
    v = rng.normal(size=np.shape(out)) if np.ndim(out) else float(rng.normal())
    da, db, _ = dot_vjps(v, a, b)
    np.testing.assert_allclose(np.sum(da * a), np.sum(v * out))
    np.testing.assert_allclose(np.sum(db * b), np.sum(v * out))
    if 0 not in ranks:  # Numba's np.dot takes arrays only
        _same(nb.dot_vjps(v, a, b), (da, db, np.eye(2, 3)))


@pytest.mark.parametrize("shapes", [[(5, 2), (5, 3), (3, 2), (3,)], [(5,), (5, 3), (3,), (3,)], [(5, 2), (5, 3), (3, 2), (1,)],
                                    [(5, 2), (5, 3), (3, 2), ()], [(5, 2), (5, 3), (3, 2), (1, 3)], [(5, 2), (5, 3), (3, 2), (5, 3)],
                                    [(3,), (2,), (2, 3), (2,)], [(6, 7), (6, 5), (5, 7), (5,)]],
                         ids=["matrix-rows", "vector-rows", "to-one", "to-scalar", "keepdims", "no-sum", "vector-matrix",
                              "many-columns"])
def test_summed_dot_vjp_a_is_the_summed_cotangent(nb, shapes):
    """Summing rows before the product gives unbroadcast(dot_vjp_a(...)), in Python and compiled."""
    rng = np.random.default_rng(len(shapes[0]) + len(shapes[3]))
    v, a, b, like = (rng.normal(size=s) if s else float(rng.normal()) for s in shapes)
    want = rt.unbroadcast(rt.dot_vjp_a(v, a, b), like)
    np.testing.assert_allclose(rt.summed_dot_vjp_a(v, a, b, like), want, rtol=1e-13)
    got = nb.summed_dot_vjp_a(v, a, b, like)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_shape_only_args_name_helpers():
    assert all(callable(fn) and all(isinstance(i, int) for i in pos) for fn, pos in rt.SHAPE_ONLY_ARGS.items())
    assert rt.SHAPE_ONLY_ARGS[rt.unbroadcast] == (1,)


@pytest.mark.parametrize("out, x", [(2.0, 3.0), (np.ones((2, 3)), 3.0), (2.0, np.ones(4)), (np.ones(2), np.ones((2, 2)))],
                         ids=["scalar-scalar", "matrix-scalar", "scalar-vector", "vector-matrix"])
def test_jacobian_helpers(nb, out, x):
    """Basis vectors and the final out.shape + x.shape of transforms/jacobian.py, scalars included."""
    n, m = np.size(out), np.size(x)
    basis = np.zeros(m)
    basis[-1] = 1.0
    matrix = np.arange(n * m * 1.0).reshape(n, m)
    expected = (n, m, basis.reshape(np.shape(x)) if np.ndim(x) else 1.0, np.ravel(out) * 1.0,
                matrix.reshape(np.shape(out) + np.shape(x)) if np.ndim(out) + np.ndim(x) else 0.0)
    _same(jacobian_pieces(out, x), expected)
    _same(nb.jacobian_pieces(out, x), expected)


def _joined_flat(a, b):
    parts = (a * 2.0, b)
    return np.concatenate(parts, axis=None)


def _joined_with_a_scalar(a):
    parts = (a, 2.0)
    return np.concatenate(parts, None)


def test_concatenate_without_an_axis_joins_a_tuple_held_in_a_variable(nb):
    """Numba's np.concatenate has no axis=None (it failed with a bare AssertionError): a tuple or
    list held in a variable is joined ravelled by concatenate_ravelled, as NumPy would."""
    a, b, i = np.arange(6.0).reshape(2, 3), np.array([0.5, -1.0]), np.array([3, 4])
    want = (np.concatenate((a, b, i), axis=None), np.concatenate([a[0], b], axis=None), np.concatenate((b, b), axis=None))
    _same(concatenate_ravelled(a, b, i), want)
    _same(nb.concatenate_ravelled(a, b, i), want)
    _same(tp.jit(_joined_flat)(a, b), _joined_flat(a, b))
    with pytest.raises(tp.CompileError, match="joins a tuple or list of arrays"):
        tp.jit(_joined_with_a_scalar)(b)
