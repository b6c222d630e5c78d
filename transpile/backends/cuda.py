"""Compile a generated CUDA module: kernels with cuda.jit, the functions they reach as device
functions; the entry (the launcher, transforms/kernel.py) stays host Python."""
import types
from unittest import mock

import numba
from numba import cuda


def is_kernel(fn):
    """Generated kernels are the only functions that ask for their thread index."""
    return {"cuda", "grid"} <= set(fn.__code__.co_names)


def compile_cuda(module, entry, function_names, options):
    flags = {"fastmath": options.get("fastmath", False)}
    for name in function_names:
        fn = getattr(module, name)
        if name == entry or not isinstance(fn, types.FunctionType):  # host code, or compiled by an earlier load
            continue
        setattr(module, name, cuda.jit(**flags)(fn) if is_kernel(fn) else cuda.jit(device=True, **flags)(fn))
    return getattr(module, entry)


def kernel_ptx(transformed, *example_args, cc=(8, 0)):
    """PTX of the kernel that `transformed` (a jit(..., target="cuda") function) launches for
    NumPy `example_args`, compiled through NVVM for compute capability `cc`; no GPU needed.

    Numba's device-function compiler asks the current device for its compute capability; here it
    is told `cc`. Fresh dispatchers are used so that nothing compiled for `cc` is ever launched.
    """
    from numba.cuda import dispatcher

    module = transformed.generated_for(*example_args).module
    namespace = dict(vars(module))
    kernel = None
    for name, fn in vars(module).items():
        py_func = getattr(fn, "py_func", None)
        if py_func is None or py_func.__module__ != module.__name__:
            continue
        fresh = types.FunctionType(py_func.__code__, namespace, py_func.__name__, py_func.__defaults__)
        if is_kernel(py_func):
            kernel = fresh
        else:
            namespace[name] = cuda.jit(device=True)(fresh)
    outputs = kernel.__code__.co_argcount - len(example_args)
    signature = tuple(numba.typeof(a) for a in example_args) + (numba.float64[::1],) * outputs
    device = types.SimpleNamespace(compute_capability=cc)
    with mock.patch.object(dispatcher, "get_current_device", lambda: device):
        ptx, _ = cuda.compile_ptx(kernel, signature, cc=cc)
    return ptx


def fused_kernels_ptx(transformed, *example_args, cc=(8, 0)):
    """PTX of every kernel that `transformed` (jit(..., target="cuda") of array code: fused
    kernels, transforms/fuse_kernels.py) launches for NumPy `example_args`, for compute
    capability `cc`; no GPU needed.

    The host function runs with NumPy arrays standing for device arrays, and each launch compiles
    its kernel for the arguments it is given instead of running it (the results are garbage).
    """
    import numpy as np
    from numba.cuda import dispatcher

    from . import cuda_host
    compiled = []

    def compile_instead(kernel, threads, *args):
        ptx, _ = cuda.compile_ptx(kernel.py_func, tuple(numba.typeof(a) for a in args), cc=cc)
        compiled.append(ptx)

    host_arrays = types.SimpleNamespace(device_array=lambda shape, dtype: np.empty(shape, dtype),
                                        to_device=lambda array: array)
    device = types.SimpleNamespace(compute_capability=cc)
    with mock.patch.object(cuda_host, "cuda", host_arrays), mock.patch.object(cuda_host, "launch", compile_instead), \
            mock.patch.object(dispatcher, "get_current_device", lambda: device):
        transformed.generated_for(*example_args).callable(*example_args)
    return compiled
