"""Markdown for the results that `runner` collects."""
from __future__ import annotations

MULTI_CORE = 1.3  # CPU seconds per wall second above which a pinned run evidently used more cores


def seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1.0:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def ratio(r: float | None) -> str:
    return "—" if r is None else f"{r:.3g}"


def header(result: dict) -> str:
    m, v = result["machine"], result["versions"]
    tools = ", ".join(f"{name} {version}" for name, version in v.items() if version)
    absent = [name for name, version in v.items() if version is None]
    lines = [
        f"## Benchmarks: {'one thread per tool' if result['threads'] == '1' else 'all threads'}"
        + (" (quick)" if result["quick"] else ""),
        "",
        f"Machine: {m['cpu_model']}, {m['logical_cores']} logical cores ({m['usable_cores']} usable), "
        f"{m['memory_gib']} GiB; {m['platform']}.",
        f"Versions: {tools}." + (f" Not installed: {', '.join(absent)}." if absent else ""),
        "",
        "Times are medians over repeats after a first call; *first call* includes tracing, "
        "transformation and compilation (each tool was first initialised with a trivial function). "
        "Ratios divide gradient times; *rel. err* is the gradient's max-norm error relative to the "
        "hand-written Numba one. The hand-written Numba kernels are cached on disk, so after the "
        "first run their *first call* is a cache load; the compile problem measures cold compiles.",
    ]
    if result["quick"]:
        lines += ["", "--quick: smallest sizes, gradients only (no primal), no fresh-process rows."]
    if m["load_average_1min"] and m["load_average_1min"] > 0.5 * (m["usable_cores"] or 1):
        lines += ["", f"Warning: the 1-minute load average was {m['load_average_1min']:.1f} at the "
                      "start: other processes compete for the cores, and timings are inflated."]
    return "\n".join(lines) + "\n"


def _timing_cell(entry: dict, kind: str, threads: str) -> str:
    timing = entry.get(kind)
    if not timing:
        return "—"
    cell = seconds(timing["s"])
    if timing["repeats"] < 3:
        cell += f" (n={timing['repeats']})"
    if threads == "1" and (timing.get("cpu_per_wall") or 0) > MULTI_CORE:
        cell += " †"
    return cell


def _row(entry: dict, threads: str, is_reference: bool) -> str:
    name = entry["row"] + (" *" if entry["fresh"] else "")
    if entry["status"] != "ok":
        return f"| {name} | {entry['status']}: {entry.get('note', '')} | | | | | |"
    cells = [
        name,
        seconds(entry.get("grad_first_call_s")),
        _timing_cell(entry, "grad", threads),
        _timing_cell(entry, "primal", threads),
        ratio(entry.get("grad_over_primal")),
        ratio(entry.get("grad_over_numba")),
        "reference" if is_reference else f"{entry['grad_rel_err']:.1e}",
    ]
    return "| " + " | ".join(cells) + " |"


def _first_call_table(result: dict) -> list[str]:
    labels = [size["label"] for size in result["sizes"]]
    lines = ["| tool | " + " | ".join(labels) + " |", "|---" + "|--:" * len(labels) + "|"]
    for i, entry in enumerate(result["sizes"][0]["rows"]):
        cells = []
        for size in result["sizes"]:
            e = size["rows"][i]
            cells.append(seconds(e.get("grad_first_call_s")) if e["status"] == "ok" else e["status"])
        lines.append(f"| {entry['row']} | " + " | ".join(cells) + " |")
    return lines


def problem(result: dict, threads: str) -> str:
    lines = [f"### {result['name']}: {result['title']}", ""]
    if result["first_call_table"]:
        lines += ["First call (transformation + compilation + one run) in a fresh process:", ""]
        lines += _first_call_table(result) + [""]
    for size in result["sizes"]:
        lines += [
            f"**{size['label']}**",
            "",
            "| tool | first call | gradient | primal | grad ÷ primal | grad ÷ numba | rel. err |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        lines += [_row(entry, threads, i == 0 and not entry["fresh"]) for i, entry in enumerate(size["rows"])]
        best = size["best_peer"]
        mine = size["transpile_over_best_peer"]
        lines += ["", f"transpile ÷ best peer ({best or 'none'}): {ratio(mine) if mine else 'n/a'}", ""]
    rows = [e for s in result["sizes"] for e in s["rows"]]
    if any(e["fresh"] for e in rows):
        lines.append("\\* measured in a fresh process (compile included in *first call*, no caches).")
    if threads == "1" and any(((e.get(k) or {}).get("cpu_per_wall") or 0) > MULTI_CORE
                              for e in rows for k in ("grad", "primal")):
        lines.append(f"† used more than {MULTI_CORE} CPU seconds per second despite the one-thread setting.")
    return "\n".join(lines) + "\n"
