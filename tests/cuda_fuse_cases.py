"""Array code under jit(target="cuda"), fused and not, against plain NumPy, on Numba's CUDA simulator.

Run as a script by test_cuda_fuse.py, in a process of its own with NUMBA_ENABLE_CUDASIM=1 (as
cuda_cases.py): prints one JSON object, case name -> {"fused", "unfused", "numpy": flat values,
"dtypes": [fused, numpy dtypes of the array results], "kernels" and "unfused kernels": the launches in the
generated sources} or {"error": message}. Sizes are tiny: the simulator runs each GPU thread as a Python thread.
"""
import inspect
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuse_cases as cases  # noqa: E402

import transpile as tp  # noqa: E402

SHAPES = {"x": (5, 7), "y": (5, 7), "r": (7,), "c": (5, 1)}

PRIMALS = [cases.gauss_sum, cases.poly, cases.trig_chain, cases.exp_log, cases.softplus_mean,
           cases.row_broadcast, cases.row_sum_axis1, cases.col_sum_axis0, cases.column_broadcast,
           cases.where_relu, cases.where_two_arrays, cases.clip_like, cases.logical_mask, cases.predicate_output,
           cases.max_reduction, cases.min_reduction_axis, cases.max_axis1, cases.prod_reduction, cases.mean_axis0,
           cases.mean_axis_neg, cases.sum_then_scalar, cases.two_outputs, cases.reused_intermediate,
           cases.hypot_atan2, cases.logaddexp_chain, cases.unary_family, cases.sqrt_abs, cases.square_reciprocal,
           cases.fmax_fmin, cases.exp2_expm1, cases.log_family, cases.power_arrays, cases.negate_chain,
           cases.divide_chain, cases.loop_accumulate, cases.branch_inside, cases.vector_chain]
FLOAT32 = [cases.gauss_sum, cases.row_sum_axis1, cases.where_two_arrays, cases.two_outputs, cases.mean_axis0,
           cases.max_axis1, cases.predicate_output]
# helper calls in array code have no CUDA form (a clear CompileError says so): CPU-only cases
GRADIENTS = [(fn, argnums) for fn, argnums in cases.GRADIENTS if fn not in (cases.helper_chain, cases.priced)]


def arguments(fn, dtype):
    rng = np.random.default_rng(7)
    args = []
    for name in inspect.signature(fn).parameters:
        if name == "s":
            args.append(0.7)
        else:
            args.append((rng.standard_normal(SHAPES[name]) + (2.0 if name == "y" else 0.0)).astype(dtype))
    return args


def leaves(result):
    if isinstance(result, (tuple, list)):
        return [leaf for part in result for leaf in leaves(part)]
    return [np.asarray(result)]


def flat(result):
    return [v for leaf in leaves(result) for v in np.atleast_1d(leaf.astype(np.float64)).ravel().tolist()]


def array_dtypes(result):
    return [str(leaf.dtype) for leaf in leaves(result) if leaf.ndim]


def kernel_launches(compiled):
    source = next(iter(compiled._by_kinds.values())).source
    return source.count("cuda_host.launch(")


def compare(fused, unfused, reference, args):
    try:
        got = fused(*args)
        return {"fused": flat(got), "unfused": flat(unfused(*args)), "numpy": flat(reference(*args)),
                "dtypes": [array_dtypes(got), array_dtypes(reference(*args))],
                "kernels": kernel_launches(fused), "unfused kernels": kernel_launches(unfused)}
    except Exception as exc:  # noqa: BLE001  (reported per case: one failure must not hide the others)
        return {"error": f"{type(exc).__name__}: {exc}"}


def comparison_cases():
    """name -> (function, float dtype); a gradient's reference is tp.grad run by NumPy."""
    out = {}
    for fn in PRIMALS:
        for dtype in (np.float64, np.float32) if fn in FLOAT32 else (np.float64,):
            out[f"{fn.__name__} {np.dtype(dtype).name}"] = (fn, fn, dtype)
    for fn, argnums in GRADIENTS:
        out[f"grad {fn.__name__}"] = (tp.grad(fn, argnums=argnums), fn, np.float64)
    return out


def comparisons():
    return {name: compare(tp.jit(fn, target="cuda"), tp.jit(fn, target="cuda", fuse=False), fn,
                          arguments(user_function, dtype))
            for name, (fn, user_function, dtype) in comparison_cases().items()}


def element_loop(x):
    total = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        total[0] = total[0] + x[i, 0]
    return total


def extra_checks():
    """Device arrays stay on the device; element-by-element host code is refused at its line."""
    from numba import cuda
    x, r = arguments(cases.row_broadcast, np.float64)
    fused = tp.jit(cases.row_broadcast, target="cuda")
    result = fused(cuda.to_device(x), cuda.to_device(r))
    out = {"device arrays": {"stays on device": not isinstance(result, np.ndarray),
                             "fused": flat(result.copy_to_host()), "numpy": flat(cases.row_broadcast(x, r))}}
    try:
        tp.jit(element_loop, target="cuda")(x)
        out["element loop"] = {"message": None}
    except tp.TranspileError as exc:
        out["element loop"] = {"message": str(exc), "line": exc.lineno,
                               "expected line": element_loop.__code__.co_firstlineno + 3}
    return out


def main():
    from numba import config
    assert config.ENABLE_CUDASIM, "run with NUMBA_ENABLE_CUDASIM=1"
    results = comparisons()
    results.update(extra_checks())
    print(json.dumps(results))


if __name__ == "__main__":
    main()
