"""The main demo: grad, vmap and jit on real functions, with the code transpile generates.

Run: python samples/demo.py
"""
import time

import numpy as np

import transpile as tp


def oscillator(damping, stiffness, drive, n_steps=1000, dt=0.01):
    """Final energy of a damped, driven oscillator integrated with explicit Euler steps."""
    x = 1.0
    v = 0.0
    for i in range(n_steps):
        t = i * dt
        a = -stiffness * x - damping * v + drive * np.sin(t)
        x = x + dt * v
        v = v + dt * a
    return 0.5 * v * v + 0.5 * stiffness * x * x


def loss(w, x, y):
    """Logistic loss of one example (x, y) or of a batch."""
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def timed(fn, *args, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    print("=" * 72)
    print("1. grad of a function with a loop -- the loop stays a loop:\n")
    grad_osc = tp.grad(oscillator, argnums=(0, 1, 2))
    print(tp.show(grad_osc))
    fast = tp.jit(grad_osc)
    start = time.perf_counter()
    g = fast(0.1, 2.0, 0.5)
    first = time.perf_counter() - start
    eps = 1e-6
    fd = [(oscillator(*(p + (eps if k == j else 0) for k, p in enumerate((0.1, 2.0, 0.5)))) -
           oscillator(*(p - (eps if k == j else 0) for k, p in enumerate((0.1, 2.0, 0.5))))) / (2 * eps)
          for j in range(3)]
    print("jit(grad(oscillator))(0.1, 2.0, 0.5) =", np.array(g))
    print("central finite differences           =", np.array(fd))
    print(f"first call (generate + compile or load from cache): {first * 1e3:.1f} ms; "
          f"then {timed(fast, 0.1, 2.0, 0.5) * 1e6:.1f} us per gradient of 1,000 steps")

    print("=" * 72)
    print("2. per-example gradients with vmap(grad), compiled with jit:\n")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 100))
    y = (rng.random(4096) < 0.5).astype(np.float64)
    w = rng.normal(size=100) * 0.1
    per_example = tp.jit(tp.vmap(tp.grad(loss), in_axes=(None, 0, 0)))
    print(tp.show(tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))))
    grads = per_example(w, x, y)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    reference = (p - y)[:, None] * x
    print("per-example gradients:", grads.shape, " max |error| vs closed form:",
          f"{np.max(np.abs(grads - reference)):.2e}")
    print(f"time for 4096 per-example gradients: {timed(per_example, w, x, y) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
