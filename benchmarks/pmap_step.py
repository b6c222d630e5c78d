"""Time per data-parallel training step (samples/data_parallel.py's train_step under tp.pmap):
threads with 1 worker and with one per core, MPI ranks (mpiexec -n 2), and the same step without
pmap (tp.jit(tp.value_and_grad) on the whole batch) as the single-process baseline.

    python -m benchmarks.pmap_step [--shards 8] [--per-shard 10000] [--repeats 20] [--json out.json]

BLAS is pinned to one thread so that the parallelism measured is pmap's own.
"""
import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import transpile as tp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D, HIDDEN, LR = 32, 64, 0.5


def _sample():
    spec = importlib.util.spec_from_file_location("data_parallel", os.path.join(ROOT, "samples", "data_parallel.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_step(step, args, repeats):
    """Seconds per call: median of `repeats` after a warm-up (compile) call; and the first call's time."""
    start = time.perf_counter()
    step(*args)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), first


def _pmapped(dp, backend, devices=None):
    return tp.pmap(dp.train_step, axis_name="shards", in_axes=(None, None, None, None, 0, 0, None),
                   out_axes=None, backend=backend, devices=devices)


def measure_threads(shards, per_shard, repeats):
    dp = _sample()
    x, y = dp.make_data(shards, per_shard, D)
    params = dp.init_params(D, HIDDEN)
    rows = {}
    whole = tp.jit(tp.value_and_grad(dp.loss, argnums=(0, 1, 2, 3)))
    rows["no pmap: jit(value_and_grad) on the whole batch"] = _median_step(
        whole, (*params, x.reshape(-1, D), y.reshape(-1)), repeats)
    for workers in sorted({1, os.cpu_count() or 1}):
        rows[f"pmap threads, {workers} worker{'s' if workers > 1 else ''}"] = _median_step(
            _pmapped(dp, "threads", workers), (*params, x, y, LR), repeats)
    return rows


def measure_mpi_rank(shards, per_shard, repeats):
    """Run inside mpiexec: rank 0 prints its seconds per step as JSON."""
    from mpi4py import MPI
    dp = _sample()
    x, y = dp.make_data(shards, per_shard, D)
    params = dp.init_params(D, HIDDEN)
    step = _pmapped(dp, "mpi")
    median, first = _median_step(step, (*params, x, y, LR), repeats)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(json.dumps({"median": median, "first": first, "ranks": MPI.COMM_WORLD.Get_size()}))


def measure_mpi(shards, per_shard, repeats, ranks=2):
    if shutil.which("mpiexec") is None or importlib.util.find_spec("mpi4py") is None:
        return None, "mpiexec or mpi4py missing (pip install 'transpile[mpi]')"
    command = ["mpiexec", "-n", str(ranks), sys.executable, "-m", "benchmarks.pmap_step", "--mpi-rank",
               "--shards", str(shards), "--per-shard", str(per_shard), "--repeats", str(repeats)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if run.returncode != 0:
        return None, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    return (out["median"], out["first"]), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--per-shard", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="also write the numbers as JSON to this path")
    parser.add_argument("--mpi-rank", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.mpi_rank:
        return measure_mpi_rank(options.shards, options.per_shard, options.repeats)
    rows = measure_threads(options.shards, options.per_shard, options.repeats)
    mpi, why = measure_mpi(options.shards, options.per_shard, options.repeats)
    if mpi is not None:
        rows["pmap mpi, 2 ranks (mpiexec -n 2)"] = mpi
    one = rows["pmap threads, 1 worker"][0]
    print(f"Data-parallel step: {options.shards} shards x {options.per_shard} examples, MLP {D}-{HIDDEN}-1, "
          f"{os.cpu_count()} cores\n")
    print("| configuration | ms per step | vs 1 worker | first call (s) |")
    print("|---|---:|---:|---:|")
    for name, (median, first) in rows.items():
        print(f"| {name} | {median * 1e3:.2f} | {one / median:.2f}x | {first:.1f} |")
    if why:
        print(f"\nMPI row skipped: {why}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump({name: {"median_s": m, "first_call_s": f} for name, (m, f) in rows.items()}, out, indent=2)
    return rows


if __name__ == "__main__":
    main()
