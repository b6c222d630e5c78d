"""Compile every function of a generated module with numba.njit (nopython, never object mode)."""
import inspect
import os
import re

import numba

from ..errors import CompileError
from ..transforms.fuse import REASSOCIATED


def compile_cpu(module, entry, function_names, options):
    flags = dict(cache=options.get("cache", True), parallel=options.get("parallel", False),
                 fastmath=options.get("fastmath", False), nogil=options.get("nogil", False),
                 error_model="numpy")  # x / 0 is inf or nan, as for NumPy arrays; no per-division checks
    for name in function_names:
        fn = getattr(module, name)
        if not isinstance(fn, numba.core.dispatcher.Dispatcher):  # compiled by an earlier load
            source = inspect.getsource(fn)
            # only functions with a prange loop are parallel: Numba warns about the others
            parallel = flags["parallel"] and "prange(" in source
            fastmath = flags["fastmath"]
            if REASSOCIATED in source and fastmath is False:
                fastmath = {"reassoc"}
            setattr(module, name, numba.njit(**{**flags, "parallel": parallel, "fastmath": fastmath})(fn))
    return getattr(module, entry)


_FILE_LINE = re.compile(r'File "([^"]+)", line (\d+)')


def user_location(generated_file, message):
    """The user's `file:line: code` that produced the generated line Numba complains about."""
    for path, line in _FILE_LINE.findall(message):
        if os.path.abspath(path) != os.path.abspath(generated_file):
            continue
        with open(generated_file, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for k in range(int(line) - 1, -1, -1):
            text = lines[k].strip()
            if text.startswith("# ") and ":" in text and not text.startswith("# transpile"):
                return text[2:]
    return None


def compile_error(generated_file, exc):
    """A CompileError naming the user's line for a Numba typing failure in generated code."""
    from ..runtime.tape import USER_MESSAGE
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # Numba colours its messages
    where = user_location(generated_file, message)
    ours = [line for line in message.splitlines() if USER_MESSAGE in line]
    if ours:
        first = ours[0][ours[0].index(USER_MESSAGE) + len(USER_MESSAGE):].strip()
    else:   # Numba's first line names its pipeline stage; the next one says what failed
        said = [line.strip() for line in message.splitlines() if line.strip() and not line.startswith("Failed in ")]
        first = said[0] if said else "typing failed"
    hint = "Use tp.jit(..., target='python') to run it as Python, or rewrite the line with supported NumPy calls."
    if _MIXED_PRECISION.search(message):
        hint = ("An array changes between float32 and float64 around a loop: float32 inputs meet float64 arrays "
                "(np.zeros(n) is float64) or Python floats (Numba computes float32 array * 0.5 in float64). Give "
                "them one dtype: np.zeros(n, dtype=x.dtype), or pass float64 arrays.")
    return CompileError(f"Numba cannot compile the generated code for {where or 'this function'}: {first}",
                        hint=f"Generated source: {generated_file}. {hint}")


_MIXED_PRECISION = re.compile(r"Cannot unify array\(float(32|64).*array\(float(32|64)")
