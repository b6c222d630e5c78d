"""The timing harness: what a problem declares, how one implementation is timed and checked.

A problem module declares `Size`s and `Row`s. Each row's `build` returns an `Impl`: zero-argument
closures with the data already bound (and converted to the tool's array type), so that the timed
call is the call a user makes and nothing else. Timing is the median of repeats after a warm-up;
the number of calls per sample and of samples adapts to the cost of one call (like `timeit`).
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

TOLERANCE = 1e-6  # relative error vs the hand-written Numba gradient above which an answer is wrong


@dataclass
class Size:
    label: str  # shown in the table, e.g. "d=10,K=25,n=1000"
    work: float  # relative cost; a row's time at one size projects its time at the next
    params: dict = field(default_factory=dict)


@dataclass
class Impl:
    grad: Callable[[], Any]  # computes the derivative outputs (the timed "gradient" call)
    primal: Callable[[], Any] | None = None  # computes the undifferentiated outputs


@dataclass
class Row:
    name: str  # table label, e.g. "jax (fori_loop)"
    tool: str  # key of benchmarks.tools.TOOLS
    build: Callable[[Size, tuple], Impl]
    fresh: bool = False  # measured in a fresh process, so that its first call is a cold compile
    compile_grows: bool = False  # its first call grows with the size (JAX unrolling a loop): projected


@dataclass
class Budget:
    seconds: float  # target time spent sampling one function (after its first call)
    sample_s: float  # each sample lasts at least this long (many calls per sample for fast calls)
    max_repeats: int
    call_limit_s: float  # a row whose projected call time exceeds this is skipped
    compile_limit_s: float  # a fresh-process row whose first call exceeds this stops growing
    fresh_rows: bool  # whether rows measured in a fresh process run at all
    primal: bool  # whether the primal is timed too (its compilation costs as much again)


FULL = Budget(seconds=1.0, sample_s=0.01, max_repeats=15, call_limit_s=60.0, compile_limit_s=120.0,
              fresh_rows=True, primal=True)
QUICK = Budget(seconds=0.1, sample_s=0.002, max_repeats=5, call_limit_s=5.0, compile_limit_s=30.0,
               fresh_rows=False, primal=False)


def to_numpy(out) -> list[np.ndarray]:
    """Flattens a (nested tuple of) JAX/torch/NumPy/float result into a list of float64 arrays."""
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in to_numpy(item)]
    if hasattr(out, "detach"):  # torch.Tensor
        out = out.detach()
    return [np.asarray(out, dtype=np.float64)]


def relative_error(out, reference) -> float:
    """max |out - reference| / max |reference|, over all leaves (inf if the structure differs)."""
    got, want = to_numpy(out), to_numpy(reference)
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want)):
        return float("inf")
    scale = max(float(np.max(np.abs(w), initial=0.0)) for w in want) or 1.0
    return max(float(np.max(np.abs(g - w), initial=0.0)) for g, w in zip(got, want)) / scale


def _timed(fn, number: int) -> tuple[float, float]:
    """Wall and CPU seconds for `number` calls of fn."""
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - t0, time.process_time() - c0


def first_call(fn):
    """(seconds, result) of the first call: tracing, transformation and compilation included."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def steady_state(fn, budget: Budget) -> dict:
    """Median seconds per call of an already-warm fn, with the sampling details."""
    estimate, estimate_cpu = _timed(fn, 1)
    number = max(1, int(budget.sample_s / max(estimate, 1e-9)))
    wanted = int(budget.seconds / (estimate * number))
    repeats = min(budget.max_repeats, max(wanted, 3 if estimate < 1.0 else 1))
    samples, wall, cpu = ([estimate], estimate, estimate_cpu) if number == 1 else ([], 0.0, 0.0)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while len(samples) < repeats:
            w, c = _timed(fn, number)
            samples.append(w / number)
            wall, cpu = wall + w, cpu + c
    finally:
        if gc_was_enabled:
            gc.enable()
    return {
        "s": statistics.median(samples),
        "repeats": len(samples),
        "calls_per_repeat": number,
        "cpu_s_mean": cpu / (len(samples) * number),
        "cpu_per_wall": round(cpu / wall, 2) if wall else None,
    }


def short_reason(exc: BaseException, limit: int = 90) -> str:
    """One line naming the exception, cut to `limit` characters."""
    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def measure(impl: Impl, budget: Budget, reference: dict | None) -> tuple[dict, dict]:
    """Times impl.grad and impl.primal: first call, then the steady state.

    Returns (result, outputs): outputs holds each function's first result by kind ("grad",
    "primal"). With a reference of the same form, each first result is checked, and a wrong one
    stops the measurement (result status "wrong").
    """
    result, outputs = {"status": "ok"}, {}
    for kind in ("grad", "primal") if budget.primal else ("grad",):
        fn = getattr(impl, kind)
        if fn is None:
            continue
        result[f"{kind}_first_call_s"], outputs[kind] = first_call(fn)
        if reference is not None and not verify(result, kind, outputs[kind], reference[kind]):
            break
        result[kind] = steady_state(fn, budget)
    return result, outputs


def verify(result: dict, kind: str, out, reference) -> bool:
    """Records out's relative error against reference in result; marks result wrong if too large."""
    err = relative_error(out, reference)
    result[f"{kind}_rel_err"] = err
    if err <= TOLERANCE:
        return True
    result.update(status="wrong", note=f"{kind} rel. err {err:.1e} vs hand-written Numba")
    return False


def failure(tool: str, exc: BaseException) -> dict:
    """The result of a row that raised: "n/a" for transpile (a transform not ready), else "error";
    the note is one short line, the detail the message's start."""
    return {"status": "n/a" if tool == "transpile" else "error", "note": short_reason(exc),
            "detail": f"{type(exc).__name__}: {exc}"[:2000]}


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _memory_limit_bytes() -> int:
    """A fresh process may use a quarter of this machine's memory (JAX unrolling a long loop
    takes tens of GiB before its compile-time limit is reached)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError):
        return 8 * 2**30


def measure_in_fresh_process(problem: str, row: str, size: str, quick: bool, timeout_s: float) -> dict:
    """Runs `python -m benchmarks.fresh` for one row and size, so that nothing is cached.

    Transpile and Numba get new, empty cache folders (TRANSPILE_CACHE_DIR, NUMBA_CACHE_DIR); the
    thread environment is inherited. The process is killed past timeout_s or past a quarter of
    the machine's memory. Its outputs come back as lists under "values", for the caller to `verify`.
    """
    work_dir = tempfile.mkdtemp(prefix="bench-fresh-")
    env = {**os.environ, "TRANSPILE_CACHE_DIR": os.path.join(work_dir, "transpile-cache"),
           "NUMBA_CACHE_DIR": os.path.join(work_dir, "numba-cache")}
    command = [sys.executable, "-m", "benchmarks.fresh", problem, row, size] + (["--quick"] if quick else [])
    limit = _memory_limit_bytes()
    try:
        with open(os.path.join(work_dir, "out"), "w+") as out, open(os.path.join(work_dir, "err"), "w+") as err:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
            deadline = time.monotonic() + timeout_s
            killed = None
            while process.poll() is None:
                if time.monotonic() > deadline:
                    killed = {"status": "timeout", "note": f"killed after {timeout_s:.0f} s"}
                elif _resident_bytes(process.pid) > limit:
                    killed = {"status": "error", "note": f"killed above {limit / 2**30:.0f} GiB of memory"}
                if killed:
                    process.kill()
                    process.wait()
                    return killed
                time.sleep(0.1)
            out.seek(0)
            err.seek(0)
            lines = out.read().strip().splitlines()
            if process.returncode != 0 or not lines:
                tail = (err.read().strip().splitlines() or ["no output"])[-1]
                return {"status": "error", "note": f"fresh process failed: {tail[:90]}"}
            return json.loads(lines[-1])
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
