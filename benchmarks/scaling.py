"""Two cores against one in the same process: `python -m benchmarks.scaling [--rounds R]` prints a
markdown table for the parallel rows of the logreg and Black-Scholes problems.

`python -m benchmarks --threads 1,all` times one thread and all threads in separate processes; on a
VM whose processes run in one of two speed modes (about 1.6x apart on ours) the ratio of two such
runs is mostly noise. Here each row runs in one process (freed memory kept, as the main tables),
and the rounds alternate `numba.set_num_threads(1)` and `(2)`, so both counts see the same mode.
Reported: the best and the median round (each round the mean of enough calls for ~0.2 s) and the
speed-up of the best rounds.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks.__main__ import KEEP_FREED_MEMORY
from benchmarks.problems import PROBLEMS

PROBLEMS_TIMED = ("logreg", "blackscholes")
ROWS = ("transpile (vectorize, parallel)", "transpile (loop, parallel)", "numba (hand-written, prange)")
THREADS = (1, 2)


def measure(problem_name, row_name, rounds):
    import numba
    problem = PROBLEMS[problem_name]
    size = problem.sizes(False)[0]
    row = next(r for r in problem.rows() if r.name == row_name)
    args = problem.make_args(size)
    grad = row.build(size, args).grad
    grad()
    start = time.perf_counter()
    grad()
    calls = max(1, int(0.2 / (time.perf_counter() - start)))
    seconds = {t: [] for t in THREADS}
    for _ in range(rounds):
        for threads in THREADS:
            numba.set_num_threads(threads)
            start = time.perf_counter()
            for _ in range(calls):
                grad()
            seconds[threads].append((time.perf_counter() - start) / calls)
    return {str(t): sorted(s) for t, s in seconds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--child", nargs=2, metavar=("PROBLEM", "ROW"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(measure(*options.child, options.rounds)))
        return
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("benchmarks.scaling needs two cores")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(KEEP_FREED_MEMORY, NUMBA_NUM_THREADS="2")
    print("| problem | row | 1 core best / median | 2 cores best / median | speed-up (best) |")
    print("|---|---|--:|--:|--:|")
    for problem in PROBLEMS_TIMED:
        for row in ROWS:
            out = subprocess.run([sys.executable, "-m", "benchmarks.scaling", "--rounds", str(options.rounds),
                                  "--child", problem, row], env=env, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            one, two = r["1"], r["2"]
            print(f"| {problem} | {row} | {_ms(one[0])} / {_ms(one[len(one) // 2])} | "
                  f"{_ms(two[0])} / {_ms(two[len(two) // 2])} | {one[0] / two[0]:.2f}x |")


def _ms(seconds):
    return f"{seconds * 1e3:.3g} ms"


if __name__ == "__main__":
    main()
