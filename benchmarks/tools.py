"""The tools under comparison: lazy, configured imports, availability, versions, machine facts.

Peers are imported only when a row that needs them is built, and only in the process whose thread
environment is already set (see `benchmarks.__main__`). `LazyModule` lets problem modules write
`jnp.exp(...)` at module level without importing JAX until the first use.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform

# tool key -> (module to import, distributions whose versions are reported)
TOOLS = {
    "numba": ("numba", ("numba", "numpy")),
    "transpile": ("transpile", ()),
    "jax": ("jax", ("jax", "jaxlib")),
    "torch": ("torch", ("torch",)),
    "autograd": ("autograd", ("autograd",)),
}

_configured: set[str] = set()


def _configure(root: str, module) -> None:
    if root in _configured:
        return
    _configured.add(root)
    if root == "jax":
        module.config.update("jax_enable_x64", True)
    elif root == "torch":
        module.set_default_dtype(module.float64)
        if os.environ.get("BENCH_THREADS") == "1":
            module.set_num_threads(1)
            module.set_num_interop_threads(1)


def load(name: str):
    """Imports module `name` (e.g. "jax.numpy"), configuring its package on first import."""
    root = name.split(".")[0]
    _configure(root, importlib.import_module(root))
    return importlib.import_module(name)


class LazyModule:
    """A module imported (through `load`) at the first attribute access."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(load(self._name), attr)


def missing(tool: str) -> str | None:
    """None if the tool can be imported, else a short reason."""
    try:
        load(TOOLS[tool][0])
    except ImportError as exc:
        return f"not installed ({exc.name or tool})"
    return None


def _distribution_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict:
    """Versions of Python and of every tool's distributions (None: not installed)."""
    out = {"python": platform.python_version()}
    for tool, (_, dists) in TOOLS.items():
        for dist in dists:
            out[dist] = _distribution_version(dist)
    out["transpile"] = _transpile_version()
    return out


def _transpile_version() -> str:
    try:
        module = load("transpile")
    except ImportError as exc:
        return f"not importable ({exc})"
    return getattr(module, "__version__", "unversioned (source tree)")


def machine() -> dict:
    """CPU model (from /proc/cpuinfo), logical cores, usable cores, memory, OS, and the current
    load average (other processes on the machine disturb timings)."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gib = None
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
        memory_gib = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpu_model": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_gib,
        "platform": platform.platform(),
    }


def warm_up(tool: str) -> None:
    """Initialises a tool with a trivial function (compiler start-up, modules that its first
    transformation imports), so that a first call measures the benchmarked function itself."""
    if tool == "jax":
        jax = load("jax")
        load("jax.scipy.special")
        jax.block_until_ready(jax.jit(jax.vmap(jax.grad(_square)))(load("jax.numpy").ones(2)))
    elif tool == "torch":
        torch, func = load("torch"), load("torch.func")
        func.vmap(func.grad(_square))(torch.ones(2))
    elif tool == "autograd":
        load("autograd.scipy.special")
        load("autograd").grad(_square)(1.0)
    elif tool == "numba":
        load("numba").njit(_square)(1.0)
    elif tool == "transpile":
        tp = load("transpile")
        try:
            tp.jit(tp.grad(_square))(1.0)
        except Exception:  # transforms not ready: the benchmarked call reports why
            pass


def _square(x):
    return x * x
