"""Backends turn a loaded generated module into a callable for one target."""
from .cpu import compile_cpu
from .python import compile_python


def compile_cuda(module, entry, function_names, options):
    """Numba's CUDA target, imported on first use (numba.cuda is slow to import)."""
    from .cuda import compile_cuda as compile_for_gpu
    return compile_for_gpu(module, entry, function_names, options)


TARGETS = {"python": compile_python, "cpu": compile_cpu, "cuda": compile_cuda}
