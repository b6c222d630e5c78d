"""Name Numba-compiled functions in `perf report`, which otherwise shows them as bare addresses.

Linux perf reads the symbols of JIT code from /tmp/perf-<pid>.map. Call `record()` before the code
under study compiles (with a fresh NUMBA_CACHE_DIR: functions loaded from Numba's cache are not
seen), then `write()` once it has run; profile the process with `perf record -p <pid>` after that:

    import tools.perf_map as perf_map
    perf_map.record()
    grad = tp.jit(tp.grad(f)); grad(x)
    perf_map.write()
    while True: grad(x)          # perf record -g -p <pid>; perf report --sort dso,symbol

Each function's size is taken as the distance to the next one, so a sample in padding between
functions is charged to the one before it. Used to find where the GMM gradient spent its time
(the reductions' index tables, 14% of it) in session 9.
"""
import os

from numba.core import codegen

_libraries = []


def record():
    """From now on, remember every code library Numba finalizes."""
    finalize = codegen.CPUCodeLibrary._finalize_final_module
    if getattr(finalize, "records_libraries", False):
        return

    def finalize_and_remember(library):
        finalize(library)
        _libraries.append(library)
    finalize_and_remember.records_libraries = True
    codegen.CPUCodeLibrary._finalize_final_module = finalize_and_remember


def write(path=None):
    """Write the map of every function compiled since `record()`; returns its path."""
    names = {}
    for library in _libraries:
        for function in library._final_module.functions:
            if function.is_declaration:
                continue
            address = library.get_pointer_to_function(function.name)
            if address:
                names[address] = function.name
    addresses = sorted(names)
    path = path or f"/tmp/perf-{os.getpid()}.map"
    with open(path, "w", encoding="ascii") as out:
        for address, following in zip(addresses, addresses[1:] + [addresses[-1] + 4096] if addresses else []):
            out.write(f"{address:x} {min(following - address, 1 << 20):x} {names[address]}\n")
    return path
