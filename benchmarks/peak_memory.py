"""Peak memory of one call, per row of the fusion and Black-Scholes problems:
`python -m benchmarks.peak_memory [--quick] [--problems fusion,blackscholes]` prints markdown tables.

Each row runs in its own process, one thread, after a first call (compilation, JAX tracing) and
with every block of 64 KiB or more taken from and given back to the OS (a fixed glibc mmap
threshold), so the resident set follows what is alive. The peak is Linux's high-water mark of
that resident set (VmHWM, reset through /proc/self/clear_refs) during one call, minus the
resident set before it: memory the call touched beyond its inputs, its output included. It sees
NumPy, Numba and PyTorch alike, where tracemalloc sees only NumPy's allocations. JAX is left out:
its CPU client keeps freed buffers in a pool of its own, so after the first call its resident set
does not move (it read 0 MB for a gradient whose output alone is 8 MB).
"""
import argparse
import json
import os
import subprocess
import sys

from benchmarks import tools
from benchmarks.__main__ import SINGLE_THREAD_XLA_FLAGS, THREAD_VARIABLES, pin_to_one_core
from benchmarks.problems import PROBLEMS

MEMORY_PROBLEMS = ("fusion", "blackscholes")
POOLED = ("jax",)  # tools whose own allocator hides their buffers from the resident set
# Fixed thresholds: glibc otherwise raises the mmap threshold after a large free and keeps later
# blocks in its heap, where they stay resident and later calls' peaks would not show.
MMAP_EVERY_LARGE_BLOCK = {"MALLOC_MMAP_THRESHOLD_": str(64 * 1024), "MALLOC_TRIM_THRESHOLD_": str(64 * 1024)}


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_bytes_of(call):
    """Resident-set high-water mark during `call()` above the resident set before it."""
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident set
    call()
    return (_status_kib("VmHWM") - before) * 1024


def measure_row(problem_name, row_name, quick):
    """{kind: peak bytes} for the gradient and primal calls of one row."""
    problem = PROBLEMS[problem_name]
    size = problem.sizes(quick)[0]
    row = next(r for r in problem.rows() if r.name == row_name)
    args = problem.make_args(size)
    impl = row.build(size, args)
    out = {}
    for kind in ("grad", "primal"):
        call = getattr(impl, kind)
        if call is None:
            continue
        call()
        out[kind] = peak_bytes_of(call)
    return {"size": size.label, "input_bytes": _input_bytes(args), **out}


def _input_bytes(args):
    return sum(getattr(a, "nbytes", 0) for a in args)


def _child_environment():
    env = dict(os.environ, **MMAP_EVERY_LARGE_BLOCK, XLA_FLAGS=SINGLE_THREAD_XLA_FLAGS)
    env.update({name: "1" for name in THREAD_VARIABLES})
    return env


def run_row(problem_name, row_name, quick):
    command = [sys.executable, "-m", "benchmarks.peak_memory", "--child", problem_name, row_name]
    command += ["--quick"] if quick else []
    done = subprocess.run(command, env=_child_environment(), preexec_fn=pin_to_one_core,
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail[:100]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(n):
    return f"{n / 1e6:,.1f} MB"


def table(problem_name, quick):
    problem = PROBLEMS[problem_name]
    lines = [f"### {problem_name}: peak memory of one call above its inputs", "",
             "| tool | gradient | primal |", "|---|--:|--:|"]
    inputs = None
    for row in problem.rows():
        if row.fresh or tools.missing(row.tool):
            continue
        if row.tool in POOLED:
            lines.append(f"| {row.name} | not measured: its own buffer pool | |")
            continue
        print(f"  … {problem_name}: {row.name}", file=sys.stderr, flush=True)
        result = run_row(problem_name, row.name, quick)
        if "error" in result:
            lines.append(f"| {row.name} | failed: {result['error']} | |")
            continue
        inputs = result["input_bytes"], result["size"]
        lines.append(f"| {row.name} | {_mb(result['grad'])} | "
                     f"{_mb(result['primal']) if 'primal' in result else '—'} |")
    if inputs:
        lines += ["", f"{inputs[1]}: the inputs take {_mb(inputs[0])}."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peak_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the problems' smallest sizes")
    parser.add_argument("--problems", default=",".join(MEMORY_PROBLEMS))
    parser.add_argument("--child", nargs=2, metavar=("PROBLEM", "ROW"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_row(*args.child, args.quick)))
        return 0
    for name in args.problems.split(","):
        print(table(name, args.quick) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
