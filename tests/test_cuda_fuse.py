"""Fusion on the CUDA target (transforms/fuse_kernels.py): array code under jit(target="cuda")
becomes kernels whose results equal plain NumPy and the unfused kernels (one per operation) on
Numba's CUDA simulator, and compile to PTX for a real GPU where NVVM is present.

As in test_cuda.py, everything CUDA runs in subprocesses: one for all simulator cases, one for PTX.
"""
import json
import os

import cuda_fuse_cases
import numpy as np
import pytest
from test_cuda import ROOT, SIMULATOR, _without_simulator, nvvm_missing, run

CASES = os.path.join(ROOT, "tests", "cuda_fuse_cases.py")
pytestmark = pytest.mark.xdist_group("cuda")


@pytest.fixture(scope="module")
def simulated():
    return json.loads(run([CASES], SIMULATOR))


COMPARISONS = list(cuda_fuse_cases.comparison_cases())


def test_enough_expressions_and_gradients():
    assert len([n for n in COMPARISONS if not n.startswith("grad ")]) >= 15
    assert len([n for n in COMPARISONS if n.startswith("grad ")]) >= 8


@pytest.mark.parametrize("name", COMPARISONS)
def test_fused_equals_unfused_equals_numpy(simulated, name):
    result = simulated[name]
    assert "error" not in result, result.get("error")
    tol = 2e-5 if "float32" in name else 1e-12  # float32: NumPy's order of rounding is not the kernel's
    assert len(result["fused"]) == len(result["unfused"]) == len(result["numpy"]) > 0
    np.testing.assert_allclose(result["fused"], result["numpy"], rtol=tol, atol=tol)
    np.testing.assert_allclose(result["unfused"], result["numpy"], rtol=tol, atol=tol)
    fused_dtypes, numpy_dtypes = result["dtypes"]
    assert fused_dtypes == numpy_dtypes  # float32 arrays stay float32, predicates are bool
    assert 1 <= result["kernels"] <= result["unfused kernels"]


def test_fusion_launches_fewer_kernels(simulated):
    assert simulated["gauss_sum float64"]["kernels"] == 1
    assert simulated["gauss_sum float64"]["unfused kernels"] >= 6
    assert simulated["grad gauss_sum"]["kernels"] < simulated["grad gauss_sum"]["unfused kernels"]


def test_device_arrays_stay_on_device(simulated):
    result = simulated["device arrays"]
    assert result["stays on device"]
    np.testing.assert_allclose(result["fused"], result["numpy"], rtol=1e-12, atol=1e-12)


def test_element_loop_on_the_host_is_refused_at_its_line(simulated):
    refused = simulated["element loop"]
    assert refused["message"] is not None and "one element of an array outside a kernel" in refused["message"]
    assert refused["line"] == refused["expected line"]


PTX_CHECK = """
import sys
sys.path.insert(0, "tests")
import numpy as np
import cuda_fuse_cases as cc
import fuse_cases as cases
import transpile as tp
from transpile.backends.cuda import fused_kernels_ptx
checks = [cases.gauss_sum, cases.row_sum_axis1, cases.mean_axis0, cases.max_reduction, cases.predicate_output,
          cases.logical_mask, cases.logaddexp_chain, cases.unary_family, cases.sqrt_abs, cases.fmax_fmin,
          cases.exp2_expm1, cases.square_reciprocal, cases.power_arrays, cases.hypot_atan2,
          tp.grad(cases.gauss_sum, argnums=(0, 1, 3)), tp.grad(cases.softplus_mean)]
compiled = 0
for fun in checks:
    user_function = getattr(fun, "__wrapped__", fun)
    for dtype in (np.float64, np.float32):
        for ptx in fused_kernels_ptx(tp.jit(fun, target="cuda"), *cc.arguments(user_function, dtype), cc=(8, 0)):
            assert ".target sm_80" in ptx and ".entry" in ptx, ptx[:400]
            compiled += 1
print("compiled", compiled)
"""


def test_fused_kernels_compile_to_ptx_for_sm80():
    if nvvm_missing():
        pytest.skip("NVVM (libnvvm from a CUDA toolkit) is not installed, so no PTX can be generated")
    out = run(["-c", PTX_CHECK], _without_simulator()).strip()
    assert out.startswith("compiled ") and int(out.split()[1]) >= 32
