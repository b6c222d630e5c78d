"""jit(target="cuda"): kernels equal target="cpu" to 1e-12 on Numba's CUDA simulator, compile to
PTX for a real GPU where NVVM is present, and refuse at generation time what a GPU thread cannot do.

Everything CUDA runs in subprocesses: the simulator is chosen by NUMBA_ENABLE_CUDASIM when
numba.cuda is first imported, which other test modules in the same worker may already have done.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "cuda_cases.py")
SIMULATOR = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
pytestmark = pytest.mark.xdist_group("cuda")


def run(args, env, timeout=600):
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.fixture(scope="module")
def simulated():
    return json.loads(run([CASES], SIMULATOR))


def case_names():
    """The names of the comparisons, read without importing numba.cuda here."""
    import ast
    with open(CASES, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    cases = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "cases")
    ret = next(n for n in ast.walk(cases) if isinstance(n, ast.Return))
    return [k.value for k in ret.value.keys] + ["device arrays"]


@pytest.mark.parametrize("name", case_names())
def test_cuda_equals_cpu(simulated, name):
    result = simulated[name]
    assert "error" not in result, result.get("error")
    assert len(result["cuda"]) == len(result["cpu"]) > 0
    np.testing.assert_allclose(result["cuda"], result["cpu"], rtol=1e-12, atol=1e-12)


def test_device_arrays_stay_on_device(simulated):
    assert simulated["device arrays"]["stays on device"]


def test_growable_tape_is_refused_at_its_loop(simulated):
    refused = simulated["growable tape"]
    assert refused["message"] is not None
    assert "growable tape" in refused["message"] and "tp.jvp" in refused["message"]
    assert "cuda_cases.py" in refused["message"] and "for i in range(n):" in refused["message"]
    assert refused["line"] == refused["expected line"]


def test_while_loop_tape_is_refused_at_the_while(simulated):
    refused = simulated["while loop tape"]
    assert refused["message"] is not None and "growable tape" in refused["message"]
    assert refused["line"] == refused["expected line"]


@pytest.mark.parametrize(("name", "reason"), [("array creation", "zeros_like()"),
                                              ("array result", "returns an array"),
                                              ("matrix product", "matrix product")])
def test_allocation_is_refused_at_its_line(simulated, name, reason):
    refused = simulated[name]
    assert refused["message"] is not None and reason in refused["message"]
    assert refused["line"] == refused["expected line"]


PTX_CHECK = """
import sys
sys.path.insert(0, "tests")
import cuda_cases as cc
import transpile as tp
from transpile.backends.cuda import kernel_ptx
checks = [
    (cc.vmap(tp.value_and_grad(cc.call_price, argnums=(0, 4)), in_axes=(0, 0, 0, None, 0)),
     (cc.SPOT, cc.STRIKE, cc.MATURITY, 0.02, cc.VOL)),
    (cc.vmap(cc.euler_sensitivities, in_axes=(0, 0, 0, None)), (cc.X, cc.X, cc.X, 40)),
    (cc.vmap(cc.numpy_scalars), (cc.X, cc.Y)),
    (cc.branchy, (0.3, 0.4)),
    (cc.vmap(tp.grad(cc.nested_fixed_loops, argnums=(0, 1))), (cc.X, cc.Y)),
    (cc.vmap(tp.grad(cc.clipped, argnums=(0, 1))), (cc.X, cc.Y)),
    (cc.vmap(cc.first_crossing, in_axes=(0, None)), (cc.X, 30)),
    (cc.vmap(tp.jacfwd(cc.euler_loss, argnums=(0, 1, 2)), in_axes=(0, 0, 0, None)), (cc.X, cc.X, cc.X, 40)),
]
for fun, args in checks:
    ptx = kernel_ptx(tp.jit(fun, target="cuda"), *args, cc=(8, 0))
    assert ".target sm_80" in ptx and ".entry" in ptx, ptx[:400]
print("compiled", len(checks))
"""


def nvvm_missing():
    done = subprocess.run([sys.executable, "-c", "from numba.cuda.cudadrv.nvvm import NVVM; NVVM()"],
                          cwd=ROOT, capture_output=True, text=True, env=_without_simulator(), check=False)
    return done.returncode != 0


def _without_simulator():
    return {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}


def test_kernels_compile_to_ptx_for_sm80():
    if nvvm_missing():
        pytest.skip("NVVM (libnvvm from a CUDA toolkit) is not installed, so no PTX can be generated")
    assert run(["-c", PTX_CHECK], _without_simulator()).strip() == "compiled 8"


def test_gpu_benchmark_smoke_runs_on_the_simulator():
    out = run([os.path.join("benchmarks", "gpu.py"), "--smoke"], SIMULATOR)
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ") and "problem" not in line]
    problems = {row[0].strip() for row in rows}
    assert problems == {"Black-Scholes price, delta, vega", "Per-example gradients of logistic regression",
                        "Euler ODE, d loss / d 3 parameters (jvp)", "Fusion chain, 6 ops and a sum",
                        "Fusion chain, gradient w.r.t. x"}
    # device arrays and host copies for each, fuse=False too for the fused chains; no GPU JAX here
    assert len(rows) == 12
    assert all(float(row[-1]) < 1e-12 for row in rows)  # the error against the CPU reference
