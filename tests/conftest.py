"""Shared fixtures, and the fuzzer's count of programs and properties checked (printed at the end)."""
import collections
import os
import tempfile

import pytest

FUZZ_LOG = "TRANSPILE_FUZZ_LOG"


@pytest.fixture(params=["python", "cpu"])
def target(request):
    """Where transformed code runs: "python" (the generated source as Python) or "cpu" (tp.jit, Numba)."""
    return request.param


def _fuzz_log():
    """A file where the fuzzer's processes (the xdist workers inherit this variable) count what they checked."""
    if FUZZ_LOG not in os.environ:
        with tempfile.NamedTemporaryFile(prefix="transpile_fuzz_", suffix=".log", delete=False) as log:
            os.environ[FUZZ_LOG] = log.name


_fuzz_log()


def pytest_terminal_summary(terminalreporter):
    if hasattr(terminalreporter.config, "workerinput"):
        return
    path = os.environ.get(FUZZ_LOG)
    if not path or not os.path.exists(path):
        return
    totals = collections.Counter()
    with open(path, encoding="utf-8") as log:
        for line in log:
            what, _, count = line.rpartition(" ")
            totals[what] += int(count)
    os.unlink(path)
    if totals:
        terminalreporter.write_line("fuzzer: " + "; ".join(f"{what}: {n}" for what, n in sorted(totals.items())))
