"""The program fuzzer: random functions in the supported subset (tests/program_generator.py).

Properties, on random programs and inputs: the normalized code (run as Python) equals the
original; grad equals central differences where the function is smooth at the point; jvp agrees
with vjp (<u, J t> both ways); vmap equals a Python loop; and, on a smaller budget because each
program costs Numba compilations, jit equals Python for the value and the gradient.
TRANSPILE_FUZZ_EXAMPLES / TRANSPILE_FUZZ_JIT_EXAMPLES raise the budgets for a longer run by hand.
The totals are printed at the end of the test run (tests/conftest.py).
"""
import os

import numpy as np
from conftest import FUZZ_LOG
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from program_generator import load, programs

import transpile as tp

EXAMPLES = int(os.environ.get("TRANSPILE_FUZZ_EXAMPLES", "100"))
JIT_EXAMPLES = int(os.environ.get("TRANSPILE_FUZZ_JIT_EXAMPLES", "6"))
FUZZ = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

floats = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)
vectors = st.lists(floats, min_size=5, max_size=5).map(np.array)


def _count(what, n=1):
    path = os.environ.get(FUZZ_LOG)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{what} {n}\n")


def _close(a, b, tol=1e-9):
    return np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _slope(f, args, directions, h):
    plus = [a + h * d for a, d in zip(args, directions)]
    minus = [a - h * d for a, d in zip(args, directions)]
    return (f(*plus) - f(*minus)) / (2 * h)


def _smooth_slope(f, args, directions):
    """The directional derivative by central differences, or None where the function is not smooth
    at the point: a branch or an integer trip count switches there (one-sided slopes differ) or
    nearby (two step sizes disagree)."""
    h = 1e-6
    at = f(*args)
    ahead = (f(*[a + h * d for a, d in zip(args, directions)]) - at) / h
    behind = (at - f(*[a - h * d for a, d in zip(args, directions)])) / h
    coarse, fine = _slope(f, args, directions, 1e-4), _slope(f, args, directions, h)
    scale = 1e-4 * (1.0 + abs(fine))
    if not np.isfinite(fine) or abs(coarse - fine) > scale / 10 or abs(ahead - behind) > scale:
        return None
    return fine


@settings(max_examples=EXAMPLES, **FUZZ)
@given(programs(), floats, vectors, vectors, st.data())
def test_transformed_programs_match_references(source, x, v, w, data):
    f = load(source)
    with np.errstate(all="ignore"):
        want = f(x, v.copy(), w.copy())
    assume(np.isfinite(want) and abs(want) < 1e6)
    _count("programs")

    assert _close(tp.jit(f, target="python")(x, v, w), want), source
    _count("normalized == original")

    gx, gv, gw = tp.grad(f, argnums=(0, 1, 2))(x, v, w)
    tx = data.draw(floats)
    tv, tw = data.draw(vectors), data.draw(vectors)
    slope = _smooth_slope(f, (x, v, w), (tx, tv, tw))
    if slope is not None:
        exact = gx * tx + np.dot(gv, tv) + np.dot(gw, tw)
        assert abs(exact - slope) <= 1e-5 * (1.0 + abs(slope)), source
        _count("grad == central differences")

    _, tangent = tp.jvp(f, (x, v, w), (tx, tv, tw))
    assert _close(tangent, gx * tx + np.dot(gv, tv) + np.dot(gw, tw), 1e-8), source
    _count("jvp == vjp")

    xs, vs = np.array([x, 0.5 * x - 0.1]), np.stack([v, w])
    batched = tp.vmap(f, in_axes=(0, 0, None))(xs, vs, w)
    assert _close(batched, [f(xs[b], vs[b].copy(), w.copy()) for b in range(2)]), source
    _count("vmap == loop")


@settings(max_examples=JIT_EXAMPLES, **FUZZ)
@given(programs(max_statements=4), floats, vectors, vectors)
def test_compiled_programs_match_python(source, x, v, w):
    f = load(source)
    with np.errstate(all="ignore"):
        want = f(x, v.copy(), w.copy())
    assume(np.isfinite(want) and abs(want) < 1e6)
    assert _close(tp.jit(f)(x, v, w), want), source
    grads = tp.grad(f, argnums=(0, 1))
    for got, expected in zip(tp.jit(grads)(x, v, w), grads(x, v, w)):
        assert _close(got, expected), source
    _count("jit == python (value and grad)")
