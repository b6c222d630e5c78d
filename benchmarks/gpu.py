"""GPU benchmark of jit(target="cuda"): one command on a machine with an NVIDIA GPU.

    python benchmarks/gpu.py            # full sizes, about a minute
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu.py --smoke   # tiny sizes, Numba's simulator

Three batches, each one thread per example:
- Black-Scholes price, delta and vega (value_and_grad w.r.t. spot and vol) for 10^7 options;
- per-example gradients of logistic regression (4096 examples x 100 features), one thread per
  (example, feature) entry of the gradient matrix;
- Euler ODE sensitivities: 10^5 trajectories of N=1000 steps, the derivative w.r.t. the three
  parameters by forward mode (tp.jvp; reverse mode would need a tape per thread).
And array code made into fused kernels (transforms/fuse_kernels.py): the fusion chain of
benchmarks/problems/fusion.py, sum(exp(-(x - m)^2 / s) * w) over 10^7 elements, and its gradient
w.r.t. x; also with fuse=False (one kernel per NumPy operation).
Each is timed with device arrays in and out, and with NumPy arrays (host copies included), and
against jax.jit on the same GPU when JAX has a GPU backend. Times are medians after a warm-up;
bandwidth is the bytes each batch must read and write once, divided by the time. Results are
checked against the hand-written CPU versions in benchmarks/problems.
"""
import argparse
import functools
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import numpy as np
    from numba import config, cuda

    import transpile as tp
    from benchmarks.harness import Size
    from benchmarks.problems import blackscholes, euler, fusion, logreg
    from benchmarks.problems.euler import euler_loss
except ImportError as missing:
    sys.exit(f"benchmarks/gpu.py needs the Python package {missing.name!r}: "
             f"pip install {missing.name} (or, in the repository, pip install -e '.[cuda]')")


# ---- the user's functions: plain Python, one example each --------------------------------------

def logistic_loss_at(w_j, j, i, w, x, y):
    """Example i's loss with weight j replaced by w_j: its derivative w.r.t. w_j is entry (i, j)
    of the per-example gradient matrix, computed without allocating anything."""
    z = (w_j - w[j]) * x[i, j]
    for k in range(w.shape[0]):
        z = z + x[i, k] * w[k]
    p = 1.0 / (1.0 + math.exp(-z))
    return -(y[i] * math.log(p) + (1.0 - y[i]) * math.log(1.0 - p))


def euler_sensitivities(damping, stiffness, amplitude, n):
    loss, d_damping = tp.jvp(euler_loss, (damping, stiffness, amplitude, n), (1.0, 0.0, 0.0, 0))
    _, d_stiffness = tp.jvp(euler_loss, (damping, stiffness, amplitude, n), (0.0, 1.0, 0.0, 0))
    _, d_amplitude = tp.jvp(euler_loss, (damping, stiffness, amplitude, n), (0.0, 0.0, 1.0, 0))
    return loss, d_damping, d_stiffness, d_amplitude


# ---- timing ------------------------------------------------------------------------------------

def median_seconds(run, repeats):
    run()  # warm-up: compiles, and moves nothing twice that a later call would not
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def leaves(result):
    if isinstance(result, (tuple, list)):
        return [leaf for part in result for leaf in leaves(part)]
    return [result]


def on_host(array):
    return array.copy_to_host() if hasattr(array, "copy_to_host") else np.asarray(array)


def max_error(result, reference):
    """Largest error relative to 1 + |reference| over every result leaf."""
    return max(float(np.max(np.abs(on_host(g).reshape(np.shape(w)) - w) / (1.0 + np.abs(w))))
               for g, w in zip(leaves(result), leaves(reference)))


class Problem:
    """One batch: transpile's kernel, its inputs, a CPU reference, JAX's version, bytes moved."""

    def __init__(self, title, size, kernel, host_args, reference, bytes_moved, jax_build=None,
                 reshape=None, unfused=None):
        self.title, self.size, self.kernel, self.host_args = title, size, kernel, host_args
        self.reference, self.bytes_moved, self.jax_build = reference, bytes_moved, jax_build
        self.reshape = reshape or (lambda result: result)
        self.unfused = unfused  # the same array code as one kernel per operation, when it has one


def black_scholes(n):
    args = blackscholes.make_args(Size("", n, {"n": n}))
    kernel = tp.jit(tp.vmap(tp.value_and_grad(blackscholes.call_price, argnums=blackscholes.ARGNUMS), in_axes=blackscholes.IN_AXES),
                    target="cuda")

    def jax_build():
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import erf
        f = functools.partial(blackscholes.call_price_xp, jnp, erf)
        greeks = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=blackscholes.ARGNUMS), in_axes=blackscholes.IN_AXES))
        data = [jnp.asarray(a) for a in args]
        return lambda: jax.block_until_ready(greeks(*data))

    reference = blackscholes.numba_price_delta_vega(*args)
    return Problem("Black-Scholes price, delta, vega", f"{n:,} options", kernel, args, reference,
                   8 * n * (4 + 3), jax_build)


def logistic_regression(n, features):
    w, x, y = logreg.make_args(Size("", n * features, {"n": n, "f": features}))
    feature, example = np.tile(np.arange(features), n), np.repeat(np.arange(n), features)
    args = (w[feature], feature, example, w, x, y)
    kernel = tp.jit(tp.vmap(tp.grad(logistic_loss_at), in_axes=(0, 0, 0, None, None, None)),
                    target="cuda")

    def jax_build():
        import jax
        import jax.numpy as jnp
        f = functools.partial(logreg.loss_xp, jnp)
        grads = jax.jit(jax.vmap(jax.grad(f), in_axes=logreg.IN_AXES))
        data = [jnp.asarray(a) for a in (w, x, y)]
        return lambda: jax.block_until_ready(grads(*data))

    reference = logreg.numba_per_example_grads(w, x, y)
    return Problem("Per-example gradients of logistic regression", f"{n} x {features}", kernel, args,
                   reference, 8 * (2 * n * features + n + features), jax_build,
                   reshape=lambda g: on_host(g).reshape(n, features))


def euler_batch(trajectories, steps):
    rng = np.random.default_rng(0)
    damping, stiffness, amplitude = (rng.uniform(lo, hi, trajectories)
                                     for lo, hi in ((0.1, 0.5), (1.0, 3.0), (0.2, 0.6)))
    args = (damping, stiffness, amplitude, steps)
    kernel = tp.jit(tp.vmap(euler_sensitivities, in_axes=(0, 0, 0, None)), target="cuda")

    def jax_build():
        import jax
        import jax.numpy as jnp
        f = functools.partial(euler.euler_loss_fori, n=steps)
        both = jax.jit(jax.vmap(lambda *p: (f(*p), jax.jacfwd(f, argnums=(0, 1, 2))(*p))))
        data = [jnp.asarray(a) for a in args[:3]]
        return lambda: jax.block_until_ready(both(*data))

    checked = min(trajectories, 64)  # the CPU reference (reverse mode, serial) on a prefix
    reference = [np.array([euler.numba_loss(*(a[i] for a in args[:3]), steps) for i in range(checked)])]
    reference += list(np.array([euler.numba_gradient(*(a[i] for a in args[:3]), steps)
                                for i in range(checked)]).T)
    return Problem("Euler ODE, d loss / d 3 parameters (jvp)", f"{trajectories:,} x N={steps}", kernel,
                   args, reference, 8 * trajectories * (3 + 4), jax_build,
                   reshape=lambda result: [on_host(r)[:checked] for r in leaves(result)])


def fusion_chain(n, gradient):
    """Array code, not a vmap: fused into one kernel (a block tree and a second pass for the sum);
    the gradient is one more kernel for the elementwise backward chain."""
    args = fusion.make_args(Size("", n, {"n": n}))
    f = tp.grad(fusion.gaussian_weighted_sum) if gradient else fusion.gaussian_weighted_sum

    def jax_build():
        import jax
        import jax.numpy as jnp

        def xp_chain(x, m, s, w):
            return jnp.sum(jnp.exp(-(x - m) ** 2 / s) * w)
        compiled = jax.jit(jax.grad(xp_chain) if gradient else xp_chain)
        data = [jnp.asarray(a) if hasattr(a, "shape") else a for a in args]
        return lambda: jax.block_until_ready(compiled(*data))

    reference = (fusion.numba_gradient if gradient else fusion.numba_value)(*args)
    title = "Fusion chain, gradient w.r.t. x" if gradient else "Fusion chain, 6 ops and a sum"
    bytes_moved = 8 * n * (3 if gradient else 2)  # read x and w (and write the gradient) once
    return Problem(title, f"{n:,} elements", tp.jit(f, target="cuda"), args, reference, bytes_moved, jax_build,
                   unfused=tp.jit(f, target="cuda", fuse=False))


# ---- the table ---------------------------------------------------------------------------------

def jax_gpu_note():
    try:
        import jax
    except ImportError:
        return "jax is not installed"
    if not any(d.platform == "gpu" for d in jax.devices()):
        return "jax has no GPU backend here (install jax[cuda12])"
    jax.config.update("jax_enable_x64", True)  # float64, as transpile computes
    return None


def measure(problem, repeats, jax_note):
    rows = []
    device_args = [cuda.to_device(a) if hasattr(a, "shape") else a for a in problem.host_args]

    def on_device():
        problem.kernel(*device_args)
        cuda.synchronize()

    result = problem.kernel(*device_args)
    error = max_error(problem.reshape(result), problem.reference)
    seconds = median_seconds(on_device, repeats)
    rows.append((problem.title, problem.size, "transpile cuda, device arrays", seconds, problem.bytes_moved, error))
    if problem.unfused is not None:
        unfused_error = max_error(problem.reshape(problem.unfused(*device_args)), problem.reference)
        seconds = median_seconds(lambda: (problem.unfused(*device_args), cuda.synchronize()), repeats)
        rows.append((problem.title, problem.size, "transpile cuda fuse=False, device arrays", seconds,
                     problem.bytes_moved, unfused_error))
    seconds = median_seconds(lambda: problem.kernel(*problem.host_args), repeats)
    rows.append((problem.title, problem.size, "transpile cuda, host copies", seconds, problem.bytes_moved, error))
    if jax_note is None:
        run = problem.jax_build()
        jax_error = max_error(problem.reshape(run()), problem.reference)
        rows.append((problem.title, problem.size, "jax.jit (GPU)", median_seconds(run, repeats),
                     problem.bytes_moved, jax_error))
    return rows


def print_table(rows, notes):
    print("| problem | size | implementation | median time (ms) | bandwidth (GB/s) | max rel. error vs CPU |")
    print("|---|---|---|---:|---:|---:|")
    for title, size, impl, seconds, moved, error in rows:
        print(f"| {title} | {size} | {impl} | {seconds * 1e3:.3f} | {moved / seconds / 1e9:.2f} | {error:.1e} |")
    for note in notes:
        print(f"\n{note}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, to check the script (e.g. under NUMBA_ENABLE_CUDASIM=1)")
    args = parser.parse_args(argv)
    if not cuda.is_available():
        print("No CUDA GPU is available to Numba here: nothing to benchmark. "
              "To check the script without a GPU: NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu.py --smoke")
        return 0
    if config.ENABLE_CUDASIM and not args.smoke:
        print("NUMBA_ENABLE_CUDASIM=1 runs kernels in the simulator: use --smoke for tiny sizes")
        return 0
    if args.smoke:
        problems = [black_scholes(64), logistic_regression(4, 5), euler_batch(8, 20),
                    fusion_chain(130, gradient=False), fusion_chain(130, gradient=True)]
        repeats = 1
    else:
        problems = [black_scholes(10_000_000), logistic_regression(4096, 100), euler_batch(100_000, 1000),
                    fusion_chain(10_000_000, gradient=False), fusion_chain(10_000_000, gradient=True)]
        repeats = 5
    jax_note = jax_gpu_note()
    started = time.perf_counter()
    rows = [row for problem in problems for row in measure(problem, repeats, jax_note)]
    notes = [f"jax.jit skipped: {jax_note}."] if jax_note else []
    device = "CUDA simulator" if config.ENABLE_CUDASIM else cuda.get_current_device().name
    device = device.decode() if isinstance(device, bytes) else device
    notes.append(f"Device: {device}; {repeats} timed repeats after a warm-up; "
                 f"{time.perf_counter() - started:.0f} s in all.")
    print_table(rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
