"""Tape memory and time of the Euler loop's gradient with and without loop checkpointing
(problems/checkpoint.py): `python -m benchmarks.checkpoint_memory [N]` prints a markdown table."""
import sys
import time

from benchmarks.harness import Size
from benchmarks.problems import checkpoint


def best_time(fun, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fun()
        best = min(best, time.perf_counter() - started)
    return best


def main(steps=checkpoint.STEPS):
    args = checkpoint.make_args(Size("", steps, {"n": steps}))
    print(f"Gradient of the Euler loop, N = {steps:,} steps, w.r.t. 3 floats\n")
    print("| variant | tape memory (tracemalloc peak) | first call, jit (compile) | gradient, jit | max rel. diff vs plain |")
    print("|---|---:|---:|---:|---:|")
    plain = None
    for name, every in checkpoint.VARIANTS.items():
        grad = checkpoint.gradient(every)
        started = time.perf_counter()
        value = grad(*args)
        first = time.perf_counter() - started
        seconds = best_time(lambda: grad(*args))
        plain = value if plain is None else plain
        diff = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(value, plain))
        peak = checkpoint.tape_peak_bytes(every, args)
        print(f"| {name} | {peak / 1024:,.1f} KiB | {first:.2f} s | {seconds * 1e3:.2f} ms | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else checkpoint.STEPS)
