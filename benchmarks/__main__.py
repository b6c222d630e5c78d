"""`python -m benchmarks`: time every problem with every installed tool; see README.md.

The timings run in a child process per thread setting, because the thread-count variables must be
set before NumPy, Numba, JAX and PyTorch are imported; this process only launches the children,
merges their JSON and writes it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.problems import PROBLEMS

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
SINGLE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
# glibc's malloc hands blocks over 32 MiB back to the OS when they are freed, so every call that
# allocates a large output pays a page fault per 4 KiB page again (about 8 us each on the VMs
# these tables come from: 150 ms for 80 MB). JAX and PyTorch keep their own pools; these settings
# let NumPy, Numba and transpile reuse freed memory too, so the tables compare computation.
KEEP_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31)}


def thread_environment(setting: str) -> dict:
    """The environment for a child: every library pinned to one thread, or left at its default."""
    env = dict(os.environ, BENCH_THREADS=setting, **KEEP_FREED_MEMORY)
    for name in THREAD_VARIABLES:
        env.pop(name, None)
    env.pop("XLA_FLAGS", None)
    if setting == "1":
        env.update({name: "1" for name in THREAD_VARIABLES}, XLA_FLAGS=SINGLE_THREAD_XLA_FLAGS)
    return env


def pin_to_one_core():
    """Run a one-thread child on one core. The thread variables do not reach every pool: XLA keeps
    helper threads that overlap its work (JAX used 1.3-2 cores under them), so the single-thread
    tables would otherwise compare JAX on two cores with the rest on one."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes, short sampling (< 1 minute)")
    parser.add_argument("--problems", default=",".join(PROBLEMS),
                        help=f"comma-separated subset of: {','.join(PROBLEMS)} (default: all)")
    parser.add_argument("--threads", default="1",
                        help="1 (every tool pinned to one thread), all, or both as '1,all' (default: 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': stdout)")
    parser.add_argument("--check", action="store_true",
                        help="verify the hand-written Numba adjoints against central differences, then exit")
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.problems = [p for p in args.problems.split(",") if p]
    unknown = [p for p in args.problems if p not in PROBLEMS]
    if unknown:
        parser.error(f"unknown problem(s): {', '.join(unknown)}; choose from {', '.join(PROBLEMS)}")
    args.threads = [t for t in args.threads.split(",") if t]
    if not args.threads or any(t not in ("1", "all") for t in args.threads):
        parser.error("--threads takes 1, all, or 1,all")
    return args


def run_child(args) -> int:
    from benchmarks import runner

    result = runner.run(args.problems, args.quick, os.environ.get("BENCH_THREADS", "all"))
    with open(args.child_output, "w") as f:
        json.dump(result, f)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.check:
        from benchmarks import checks

        return checks.run(args.problems)
    if args.child_output:
        return run_child(args)
    started = time.perf_counter()
    runs = []
    for setting in args.threads:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            output = os.path.join(tmp, "result.json")
            command = [sys.executable, "-m", "benchmarks", "--problems", ",".join(args.problems),
                       "--child-output", output] + (["--quick"] if args.quick else [])
            status = subprocess.run(command, env=thread_environment(setting),
                                    preexec_fn=pin_to_one_core if setting == "1" else None).returncode
            if status != 0:
                print(f"benchmark run with threads={setting} failed (exit status {status})", file=sys.stderr)
                return status
            with open(output) as f:
                runs.append(json.load(f))
    if args.json:
        document = {
            "command": " ".join(["python -m benchmarks"] + (argv if argv is not None else sys.argv[1:])),
            "machine": runs[0]["machine"],
            "versions": runs[0]["versions"],
            "elapsed_s": time.perf_counter() - started,
            "runs": runs,
        }
        text = json.dumps(document, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
