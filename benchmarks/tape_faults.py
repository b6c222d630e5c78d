"""Fresh tape memory on every call: `python -m benchmarks.tape_faults [N]` prints a markdown table.

The Euler loop's gradient at N steps keeps about 3 N floats of tape. The hand-written Numba adjoint
allocates its tape on every call; transpile's compiled gradient keeps its tapes between calls
(runtime/pooled_tape.py). Whether a fresh block costs page faults depends on the allocator's
history: glibc hands large freed blocks back to the OS until a large free has raised its
thresholds. So each row runs in its own one-core process under three settings: glibc's defaults
in a fresh process; freed memory kept (the setting of `python -m benchmarks`, whose tables compare
computation); and every block of 64 KiB or more going back to the OS. Minor page faults per call
come from getrusage.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

from benchmarks.__main__ import KEEP_FREED_MEMORY, THREAD_VARIABLES, pin_to_one_core
from benchmarks.harness import Size
from benchmarks.peak_memory import MMAP_EVERY_LARGE_BLOCK

ROWS = ("numba (hand-written)", "transpile")
CALLS = 40


def measure(row, n):
    """{seconds per call (min, median), minor faults per call} of the gradient after a first call."""
    from benchmarks.problems import euler
    args = euler.make_args(Size(f"N={n}", n, {"n": n}))
    build = euler.build_numba if row == ROWS[0] else euler.build_transpile
    grad = build(None, args).grad
    grad()
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(CALLS):
        start = time.perf_counter()
        grad()
        times.append(time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    times.sort()
    return {"min": times[0], "median": times[len(times) // 2], "faults": faults / CALLS}


def _in_child(row, n, environment):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update({name: "1" for name in THREAD_VARIABLES}, **environment)
    out = subprocess.run([sys.executable, "-m", "benchmarks.tape_faults", "--child", row, str(n)],
                         env=env, capture_output=True, text=True, check=True, preexec_fn=pin_to_one_core)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("ROW", "N"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        row, n = options.child
        print(json.dumps(measure(row, int(n))))
        return
    print(f"### Euler gradient, N={options.n:,}: fresh tape memory per call (one core, {CALLS} calls after the first)\n")
    print("| allocator | tool | gradient min | median | minor faults per call |")
    print("|---|---|--:|--:|--:|")
    for label, environment in (("glibc defaults, fresh process", {}),
                               ("freed memory kept (the benchmark tables' setting)", KEEP_FREED_MEMORY),
                               ("every block >= 64 KiB returned to the OS", MMAP_EVERY_LARGE_BLOCK)):
        for row in ROWS:
            r = _in_child(row, options.n, environment)
            print(f"| {label} | {row} | {r['min'] * 1e3:.2f} ms | {r['median'] * 1e3:.2f} ms | {r['faults']:.0f} |")


if __name__ == "__main__":
    main()
