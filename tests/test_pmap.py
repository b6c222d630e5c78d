"""pmap through the public API on the functions of pmap_cases.py: the sharded result must equal the
reference (one Python thread per shard, collectives meeting at a barrier) and vmap with the same
axis name, for shard counts 1, 2, 3, 4 and 13 (more shards than workers); gradients through
collectives against finite differences; the errors users meet.

The backend is threads unless TRANSPILE_PMAP_BACKEND says "mpi": the last test reruns this whole
file under `mpiexec -n 2` that way, so the same checks hold on MPI ranks.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pmap_cases as pc
import pytest
import trees

import transpile as tp

BACKEND = os.environ.get("TRANSPILE_PMAP_BACKEND", "threads")
SHARD_COUNTS = [1, 2, 3, 4, 13]
MPI_RUN = "TRANSPILE_PMAP_BACKEND" in os.environ


def pmap(fn, **options):
    return tp.pmap(fn, axis_name=pc.AXIS, backend=BACKEND, **options)


def assert_tree_close(actual, expected):
    """Shards compute what one thread per shard computes: equal to rounding."""
    trees.assert_tree_close(actual, expected, rtol=1e-12, atol=1e-12)


# the cases' pmapped functions, built once so that each compiles once for all shard counts
PMAPPED = {case.fn.__name__: pmap(case.fn, in_axes=case.in_axes, out_axes=case.out_axes) for case in pc.CASES}


def _expected(case, args, n):
    expected = pc.reference(case.fn, args, case.in_axes, n)
    if case.out_axes == (0, None):
        expected = (expected[0], expected[1][0])
    return expected


@pytest.mark.parametrize("n", SHARD_COUNTS)
@pytest.mark.parametrize("case", pc.CASES, ids=lambda c: c.fn.__name__)
def test_pmap_equals_one_thread_per_shard(case, n):
    args = case.make(np.random.default_rng(n), n)
    assert_tree_close(PMAPPED[case.fn.__name__](*args), _expected(case, args, n))


@pytest.mark.parametrize("case", [c for c in pc.CASES if c.fn is not pc.dict_parameters],
                         ids=lambda c: c.fn.__name__)
def test_pmap_equals_vmap(case):
    n = 5
    args = case.make(np.random.default_rng(0), n)
    vmapped = tp.vmap(case.fn, in_axes=case.in_axes, out_axes=case.out_axes, axis_name=pc.AXIS)
    assert_tree_close(PMAPPED[case.fn.__name__](*args), vmapped(*args))


@pytest.mark.parametrize("devices", [1, 3, 4])
def test_more_shards_than_workers_and_fewer(devices):
    x = np.random.default_rng(1).normal(size=(13, 4))
    sharded = pmap(pc.softmax_across_shards, devices=devices)
    assert_tree_close(sharded(x), pc.reference(pc.softmax_across_shards, (x,), 0, 13))


def test_in_axes_one_moves_the_shard_axis():
    x = np.random.default_rng(2).normal(size=(3, 6))
    sharded = pmap(pc.pmean_of_vector, in_axes=1)
    assert_tree_close(sharded(x), pc.reference(pc.pmean_of_vector, (x.T,), 0, 6))


def test_out_axes_one():
    x = np.random.default_rng(3).normal(size=(4, 3))
    sharded = pmap(pc.pmean_of_vector, out_axes=1)
    assert_tree_close(sharded(x), pc.reference(pc.pmean_of_vector, (x,), 0, 4).T)


# -- derivatives through collectives --------------------------------------------------------------

def total_over_shards(fn, x, n):
    return float(np.sum(pc.reference(fn, (x,), 0, n)))


def finite_difference_grad(fn, x, n, h=1e-6):
    """d/dx of the sum over shards of fn's (scalar) results: what grad of a per-shard function
    with collectives means, as in JAX (the cotangent of psum is a psum)."""
    out = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        out[index] = (total_over_shards(fn, up, n) - total_over_shards(fn, down, n)) / (2 * h)
    return out


def share_of_total(x):
    s = np.sum(x * x)
    return s / tp.psum(s, pc.AXIS)


def times_mean(x):
    m = tp.pmean(x, pc.AXIS)
    return np.sum(np.sin(x) * m)


def gathered_quadratic(x):
    everyone = tp.all_gather(x, pc.AXIS)
    return np.sum(everyone @ x)


GRAD_CASES = [share_of_total, times_mean, gathered_quadratic]


@pytest.mark.parametrize("n", [1, 3, 4])
@pytest.mark.parametrize("fn", GRAD_CASES, ids=lambda f: f.__name__)
def test_pmap_of_grad_through_collectives(fn, n):
    x = np.random.default_rng(n).normal(size=(n, 3))
    got = pmap(tp.grad(fn))(x)
    np.testing.assert_allclose(got, finite_difference_grad(fn, x, n), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, tp.vmap(tp.grad(fn), axis_name=pc.AXIS)(x), rtol=1e-12, atol=1e-12)


def test_data_parallel_gradient_step_matches_one_process():
    rng = np.random.default_rng(4)
    w, x, y = rng.normal(size=3), rng.normal(size=(4, 8, 3)), rng.normal(size=(4, 8))
    stepped = pmap(pc.grad_inside, in_axes=(None, 0, 0))(w, x, y)
    full = tp.grad(pc.squared_error)(w, x.reshape(32, 3), y.reshape(32)) / 4
    for row in stepped:  # every shard holds the same updated parameters
        np.testing.assert_allclose(row, w - 0.1 * full, rtol=1e-12)


def test_jit_of_pmap_and_show():
    x = np.random.default_rng(5).normal(size=(4, 3))
    sharded = tp.jit(pmap(pc.psum_of_total), fastmath=False)
    assert_tree_close(sharded(x), pc.reference(pc.psum_of_total, (x,), 0, 4))
    source = tp.show(sharded, x)
    assert "# ---- collective: psum_s = psum(s) over every shard" in source
    assert "def psum_of_total_segment_vmap" in source and "segment 1" in source


# -- errors ---------------------------------------------------------------------------------------

def test_mismatched_shard_counts_are_refused():
    with pytest.raises(ValueError, match="inconsistent sizes for the mapped axes"):
        pmap(pc.integer_data, in_axes=(0, 0))(np.zeros((3, 2)), np.zeros((4, 3), dtype=np.int64))


def test_collective_over_an_axis_pmap_does_not_bind():
    with pytest.raises(tp.TranspileError, match="psum over axis 'i', but the innermost pmap around it binds 'j'") as info:
        tp.pmap(pc.psum_of_total, axis_name="j", backend=BACKEND)(np.ones((2, 3)))
    assert "pmap_cases.py" in str(info.value) and "^" in str(info.value)
    with pytest.raises(tp.TranspileError, match="binds no axis name"):
        tp.pmap(pc.psum_of_total, backend=BACKEND)(np.ones((2, 3)))


def test_transforming_a_pmapped_function_is_refused():
    with pytest.raises(TypeError, match="pmap must be the outermost"):
        tp.grad(pmap(pc.no_collective))
    with pytest.raises(TypeError, match="nest vmap inside pmap"):
        tp.pmap(pmap(pc.no_collective))


def test_scalar_mapped_argument_and_bad_backend():
    with pytest.raises(ValueError, match="pmap was requested to map argument 'x'"):
        pmap(pc.pmean_of_vector)(1.0)
    with pytest.raises(ValueError, match="pmap backend='gpu'"):
        tp.pmap(pc.pmean_of_vector, backend="gpu")


# -- MPI --------------------------------------------------------------------------------------------

def _mpi_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which("mpiexec") is not None


needs_mpi = pytest.mark.skipif(MPI_RUN or not _mpi_available(),
                               reason="needs mpi4py and mpiexec (pip install 'transpile[mpi]')")


@needs_mpi
def test_mpi_backend_outside_mpiexec_is_a_clear_error(tmp_path):
    script = tmp_path / "not_under_mpiexec.py"
    script.write_text("import numpy as np\nimport transpile as tp\n\n\ndef double(x):\n    return x * 2.0\n\n\n"
                      "tp.pmap(double, backend='mpi')(np.ones((2, 3)))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MPI_"))}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode != 0
    assert "not started by mpiexec" in run.stderr and "mpiexec -n 2 python" in run.stderr


@needs_mpi
def test_this_file_passes_on_two_mpi_ranks():
    env = {**os.environ, "TRANSPILE_PMAP_BACKEND": "mpi"}
    here = os.path.dirname(__file__)
    command = ["mpiexec", "-n", "2", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-p", "no:xdist", os.path.join(here, "test_pmap.py")]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200, cwd=here)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # one summary per rank; the two ranks share stdout, so a summary may not start its own line
    summaries = re.findall(r"\d+ passed", run.stdout)
    assert len(summaries) == 2 and not re.search(r"\d+ failed", run.stdout), run.stdout[-2000:]


# -- CUDA (Numba's simulator, in a fresh process: the simulator is chosen at numba.cuda's import) --

def test_cuda_backend_equals_threads_on_the_simulator():
    pytest.importorskip("numba.cuda")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    script = os.path.join(os.path.dirname(__file__), "pmap_cuda_check.py")
    run = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    compared = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(compared) == 18 and "grad through psum/13" in compared
