"""Functions run under jit(target="cuda") on Numba's CUDA simulator and under jit(target="cpu").

Run as a script (by test_cuda.py, in a process of its own with NUMBA_ENABLE_CUDASIM=1, so that no
other test module's numba import decides which CUDA target is loaded): prints one JSON object,
case name -> {"cuda": flat values, "cpu": flat values} or {"error": message}.
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import transpile as tp
from benchmarks.problems.blackscholes import call_price
from benchmarks.problems.euler import euler_loss
from benchmarks.problems.logreg import loss as logistic_loss

B = 37  # not a multiple of the block size: the last block has idle threads
RNG = np.random.default_rng(3)


def rand(low, high, size=B):
    return RNG.uniform(low, high, size)


# ---- the functions: plain Python on scalars, with loops and branches -------------------------

def smooth(x, y):
    return math.sin(x) * x + y / (1.0 + x * x)


def numpy_scalars(x, y):
    return np.exp(-x) * np.log(1.0 + y) + np.sqrt(x * y) + math.erf(x - y)


def fixed_loop(x):
    s = 0.0
    for i in range(16):
        s = s + math.sin(x * s + i)
    return s


def runtime_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * s + i)
    return s


def branchy(x, y):
    if x > y:
        z = math.sin(x) * y
    elif x > 0.5 * y:
        z = x * x - y
    else:
        z = math.exp(x - y)
    return z


def clipped(x, y):
    return max(x - 1.0, 0.0) * min(y, 1.5) + abs(x - y)


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-14 * a:
        x = 0.5 * (x + a / x)
    return x


def first_crossing(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
        if s > 10.0:
            break
    return s


def nested_fixed_loops(x, y):
    s = 0.0
    for i in range(4):
        for j in range(3):
            if s > 1.0:
                s = s * 0.5 + math.cos(x * j)
            else:
                s = s + y * math.sin(x + i)
    return s


def column_norm(column):
    total = 0.0
    for k in range(column.shape[0]):
        total = total + column[k] * column[k]
    return math.sqrt(total)


def doubled(row):
    return row * 2.0


def horner(x, coefficients):
    total = 0.0
    for k in range(len(coefficients)):
        total = total * x + coefficients[k]
    return total


def runtime_loop_tangent(x, n):
    value, tangent = tp.jvp(runtime_loop, (x, n), (1.0, 0))
    return value, tangent


def horner_tangent(x, coefficients, fixed):
    value, tangent = tp.jvp(horner, (x, coefficients), (1.0, fixed))
    return value, tangent


def horner_tangent_allocating(x, coefficients):
    value, tangent = tp.jvp(horner, (x, coefficients), (1.0, np.zeros_like(coefficients)))
    return value, tangent


def euler_sensitivities(damping, stiffness, amplitude, n):
    loss, d_damping = tp.jvp(euler_loss, (damping, stiffness, amplitude, n), (1.0, 0.0, 0.0, 0))
    _, d_stiffness = tp.jvp(euler_loss, (damping, stiffness, amplitude, n), (0.0, 1.0, 0.0, 0))
    _, d_amplitude = tp.jvp(euler_loss, (damping, stiffness, amplitude, n), (0.0, 0.0, 1.0, 0))
    return loss, d_damping, d_stiffness, d_amplitude


def logistic_loss_at(w_j, j, i, w, x, y):
    """Example i's loss with weight j replaced by w_j: its derivative is one entry of the
    per-example gradient matrix, and no allocation is needed to compute it."""
    z = (w_j - w[j]) * x[i, j]
    for k in range(w.shape[0]):
        z = z + x[i, k] * w[k]
    p = 1.0 / (1.0 + np.exp(-z))
    return -(y[i] * np.log(p) + (1.0 - y[i]) * np.log(1.0 - p))


# ---- the cases: (transformation, arguments) ------------------------------------------------------

X, Y = rand(0.1, 2.0), rand(0.1, 2.0)
SPOT, STRIKE, MATURITY, VOL = rand(80.0, 120.0), rand(80.0, 120.0), rand(0.25, 2.0), rand(0.1, 0.5)
COEFFICIENTS = rand(-1.0, 1.0, 6)
W, XS, YS = rand(-1.0, 1.0, 5), rand(-1.0, 1.0, (4, 5)), (rand(0, 1, 4) < 0.5).astype(np.float64)
FEATURE, EXAMPLE = np.tile(np.arange(5), 4), np.repeat(np.arange(4), 5)


def vmap(fun, in_axes=0):
    """vmap by a loop over examples: the strategy that the kernel's threads follow, and so the
    CPU reference that results must equal to 1e-12."""
    return tp.vmap(fun, in_axes=in_axes, method="loop")


def cases():
    return {
        "scalar math, one thread": (smooth, (0.7, 1.3)),
        "scalar grad, one thread": (tp.grad(smooth, argnums=(0, 1)), (0.7, 1.3)),
        "vmap scalar math": (vmap(smooth), (X, Y)),
        "vmap numpy ufuncs on scalars": (vmap(numpy_scalars), (X, Y)),
        "vmap loop, constant trip count": (vmap(fixed_loop), (X,)),
        "vmap loop, run-time trip count": (vmap(runtime_loop, in_axes=(0, None)), (X, 9)),
        "vmap jvp of a run-time loop": (vmap(runtime_loop_tangent, in_axes=(0, None)), (X, 9)),
        "vmap branches": (vmap(branchy), (X, Y)),
        "vmap while loop": (vmap(newton_sqrt), (X,)),
        "vmap loop with break": (vmap(first_crossing, in_axes=(0, None)), (X, 30)),
        "vmap loop over an unmapped array": (vmap(horner, in_axes=(0, None)), (X, COEFFICIENTS)),
        "vmap jvp over an unmapped array": (vmap(horner_tangent, in_axes=(0, None, None)),
                                            (X, COEFFICIENTS, np.zeros_like(COEFFICIENTS))),
        "vmap along axis 1 of a matrix": (vmap(column_norm, in_axes=1), (rand(-1.0, 1.0, (6, B)),)),
        "vmap grad, straight line": (vmap(tp.grad(smooth)), (X, Y)),
        "vmap grad through a constant loop (local tape)": (vmap(tp.grad(fixed_loop)), (X,)),
        "vmap grad through nested constant loops": (vmap(tp.grad(nested_fixed_loops, argnums=(0, 1))), (X, Y)),
        "vmap grad through max, min, abs": (vmap(tp.grad(clipped, argnums=(0, 1))), (X, Y)),
        "vmap grad of grad": (vmap(tp.grad(tp.grad(smooth))), (X, Y)),
        "vmap value_and_grad through branches": (vmap(tp.value_and_grad(branchy, argnums=(0, 1))), (X, Y)),
        "vmap grad through an inactive loop": (
            vmap(tp.grad(logistic_loss_at), in_axes=(0, 0, 0, None, None, None)),
            (W[FEATURE], FEATURE, EXAMPLE, W, XS, YS)),
        "Black-Scholes price": (vmap(call_price, in_axes=(0, 0, 0, None, 0)),
                                (SPOT, STRIKE, MATURITY, 0.02, VOL)),
        "Black-Scholes price, delta, vega": (
            vmap(tp.value_and_grad(call_price, argnums=(0, 4)), in_axes=(0, 0, 0, None, 0)),
            (SPOT, STRIKE, MATURITY, 0.02, VOL)),
        "Euler ODE jacfwd w.r.t. three scalars": (
            vmap(tp.jacfwd(euler_loss, argnums=(0, 1, 2)), in_axes=(0, 0, 0, None)),
            (rand(0.1, 0.5), rand(1.0, 3.0), rand(0.2, 0.6), 40)),
        "Euler ODE sensitivities by jvp": (
            vmap(euler_sensitivities, in_axes=(0, 0, 0, None)),
            (rand(0.1, 0.5), rand(1.0, 3.0), rand(0.2, 0.6), 40)),
    }


def flat(result):
    if isinstance(result, (tuple, list)):
        return [v for part in result for v in flat(part)]
    return np.atleast_1d(np.asarray(result, dtype=np.float64)).tolist()


def run_case(fun, args):
    try:
        return {"cuda": flat(tp.jit(fun, target="cuda")(*args)), "cpu": flat(tp.jit(fun, target="cpu")(*args))}
    except Exception as exc:  # noqa: BLE001  (reported per case: one failure must not hide the others)
        return {"error": f"{type(exc).__name__}: {exc}"}


def extra_checks():
    """Device arrays stay on the device; what a GPU thread cannot do is refused at generation time."""
    from numba import cuda
    out = {}
    kernel = tp.jit(tp.vmap(tp.grad(smooth)), target="cuda")
    result = kernel(cuda.to_device(X), cuda.to_device(Y))
    out["device arrays"] = {"stays on device": not isinstance(result, np.ndarray),
                            "cuda": flat(result.copy_to_host()), "cpu": flat(kernel(X, Y))}
    refused = {"growable tape": (tp.vmap(tp.grad(runtime_loop), in_axes=(0, None)), (X, 9), runtime_loop, 2),
               "array creation": (tp.vmap(horner_tangent_allocating, in_axes=(0, None)), (X, COEFFICIENTS),
                                  horner_tangent_allocating, 1),
               "while loop tape": (tp.vmap(tp.grad(newton_sqrt)), (X,), newton_sqrt, 2),
               "array result": (tp.vmap(doubled), (XS,), doubled, 1),
               "matrix product": (tp.vmap(logistic_loss, in_axes=(None, 0, 0)), (W, XS, YS),
                                  logistic_loss, 1)}
    for name, (fun, args, user_function, offset) in refused.items():
        try:
            tp.jit(fun, target="cuda")(*args)
            out[name] = {"message": None}
        except tp.TranspileError as exc:
            out[name] = {"message": str(exc), "line": exc.lineno,
                         "expected line": user_function.__code__.co_firstlineno + offset}
    return out


def main():
    from numba import config
    assert config.ENABLE_CUDASIM, "run with NUMBA_ENABLE_CUDASIM=1"
    results = {name: run_case(fun, args) for name, (fun, args) in cases().items()}
    results.update(extra_checks())
    print(json.dumps(results))


if __name__ == "__main__":
    main()
