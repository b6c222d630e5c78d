"""Runs the problems for one thread setting (this process's environment) and collects results."""
from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks import harness, report, tools
from benchmarks.problems import PROBLEMS

PEERS = ("jax", "torch", "autograd")
FRESH_MARGIN_S = 15.0  # a fresh process's time limit: compile limit + start-up + steady-state sampling

# Results of fresh-process rows, by (build function, size): problems that share a row (the Euler
# loop's unrolled JAX in "euler" and "compile") compile it once per run.
_fresh_results: dict[tuple, dict] = {}


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


class RowHistory:
    """What a row did at smaller sizes: the call time that projects its cost at the next size, or
    why it stopped being tried. A fresh-process row's first call (its compile time) is not
    projected, since not growing with the size is what some tools are measured for: it stops
    after a first call over the compile limit, or, for a row whose compile time is known to grow
    with the size (`compile_grows`), once its projected first call is over that limit."""

    def __init__(self):
        self.last: dict[str, tuple[float, float]] = {}  # row -> (work, seconds per call)
        self.stopped: dict[str, str] = {}  # row -> note

    def skip_note(self, row: harness.Row, size: harness.Size, limit: float) -> str | None:
        if row.name in self.stopped:
            return self.stopped[row.name]
        if row.name in self.last:
            work, seconds = self.last[row.name]
            projected = seconds * size.work / work
            if projected > limit:
                what = "first call" if row.fresh else "call"
                self.stopped[row.name] = f"not tried: {what} projected ≥ {projected:.0f} s (limit {limit:.0f} s)"
                return self.stopped[row.name]
        return None

    def record(self, row: harness.Row, size: harness.Size, result: dict, limit: float) -> None:
        status = result["status"]
        first = result.get("grad_first_call_s")
        if status == "timeout" or (status == "error" and "memory" in result.get("note", "")):
            self.stopped[row.name] = f"not tried: {size.label} was stopped ({result['note']})"
        elif row.fresh and first is not None and first > limit:
            self.stopped[row.name] = f"not tried: the first call at {size.label} took {first:.0f} s > {limit:.0f} s"
        elif status == "ok" and not row.fresh:
            self.last[row.name] = (size.work, result["grad"]["s"])
        elif status == "ok" and row.compile_grows and first is not None:
            self.last[row.name] = (size.work, first)


def measure_row(name: str, row: harness.Row, size: harness.Size, args: tuple, reference: dict | None,
                quick: bool, budget: harness.Budget) -> tuple[dict, dict]:
    """(result, outputs) of one row; outputs are empty for a row measured in a fresh process."""
    if row.fresh:
        key = (row.build, size.label)
        if key not in _fresh_results:
            timeout = budget.compile_limit_s + FRESH_MARGIN_S
            result = harness.measure_in_fresh_process(name, row.name, size.label, quick, timeout)
            for kind, leaves in result.pop("values", {}).items():
                if result["status"] == "ok":
                    harness.verify(result, kind, [np.asarray(leaf) for leaf in leaves], reference[kind])
            _fresh_results[key] = result
        return dict(_fresh_results[key]), {}
    try:
        return harness.measure(row.build(size, args), budget, reference)
    except Exception as exc:  # a tool that cannot run this problem is a table entry, not a crash
        return harness.failure(row.tool, exc), {}


def add_ratios(entries: list[dict]) -> dict:
    """Per row: gradient ÷ hand-written Numba gradient, gradient ÷ own primal; and for the size:
    transpile ÷ the best (fastest correct) peer."""
    ok = [e for e in entries if e["status"] == "ok"]
    reference = entries[0] if entries[0]["status"] == "ok" else None
    for e in ok:
        if reference:
            e["grad_over_numba"] = e["grad"]["s"] / reference["grad"]["s"]
        if "primal" in e:
            e["grad_over_primal"] = e["grad"]["s"] / e["primal"]["s"]
    peers = [e for e in ok if e["tool"] in PEERS]
    best = min(peers, key=lambda e: e["grad"]["s"]) if peers else None
    mine = next((e for e in ok if e["tool"] == "transpile"), None)
    return {
        "best_peer": best["row"] if best else None,
        "transpile_over_best_peer": mine["grad"]["s"] / best["grad"]["s"] if best and mine else None,
    }


def run_problem(name: str, quick: bool, budget: harness.Budget) -> dict:
    """Every row at every size. The first row, the hand-written Numba one, is the reference that
    the others are checked against (computed apart when that row runs in a fresh process)."""
    problem = PROBLEMS[name]
    rows = problem.rows()
    absent = {row.tool: tools.missing(row.tool) for row in rows}
    history = RowHistory()
    out = {"name": name, "title": problem.TITLE, "first_call_table": getattr(problem, "FIRST_CALL_TABLE", False),
           "sizes": []}
    for size in problem.sizes(quick):
        args = problem.make_args(size)
        reference = problem.reference(args) if rows[0].fresh else None
        entries = []
        for i, row in enumerate(rows):
            limit = budget.compile_limit_s if row.fresh else budget.call_limit_s
            note = absent[row.tool] or history.skip_note(row, size, limit)
            if row.fresh and not budget.fresh_rows:
                note = "fresh-process rows do not run with --quick"
            elif i > 0 and reference is None:
                note = "no reference: the hand-written Numba row failed"
            if note:
                result = {"status": "skipped", "note": note}
            else:
                progress(f"{name} {size.label}: {row.name}")
                result, outputs = measure_row(name, row, size, args, reference, quick, budget)
                history.record(row, size, result, limit)
                if i == 0 and reference is None and result["status"] == "ok":
                    reference = outputs
                    result["grad_rel_err"] = 0.0
            entries.append({"row": row.name, "tool": row.tool, "fresh": row.fresh, **result})
        out["sizes"].append({"label": size.label, "rows": entries, **add_ratios(entries)})
    return out


def warm_up(names: list[str]) -> dict:
    """Initialises every installed tool that the problems use; returns {tool: seconds}."""
    used = {row.tool for name in names for row in PROBLEMS[name].rows()}
    seconds = {}
    for tool in tools.TOOLS:
        if tool in used and not tools.missing(tool):
            progress(f"warming up {tool}")
            started = time.perf_counter()
            tools.warm_up(tool)
            seconds[tool] = time.perf_counter() - started
    return seconds


def run(names: list[str], quick: bool, threads: str) -> dict:
    """Runs the named problems; prints each one's markdown table as soon as it is done."""
    budget = harness.QUICK if quick else harness.FULL
    started = time.perf_counter()
    result = {
        "threads": threads,
        "quick": quick,
        "machine": tools.machine(),
        "versions": tools.versions(),
        "budget": vars(budget),
        "problems": [],
    }
    print(report.header(result), flush=True)
    result["warm_up_s"] = warm_up(names)
    for name in names:
        problem_result = run_problem(name, quick, budget)
        result["problems"].append(problem_result)
        print(report.problem(problem_result, threads), flush=True)
    result["elapsed_s"] = time.perf_counter() - started
    result["load_average_1min_at_end"] = tools.machine()["load_average_1min"]
    print(f"_Elapsed: {result['elapsed_s']:.0f} s._\n", flush=True)
    return result
