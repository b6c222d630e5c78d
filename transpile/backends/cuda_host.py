"""Host-side steps of a kernel launch, called by generated launchers (transforms/kernel.py) and
by the host code of fused array kernels (transforms/fuse_kernels.py).

NumPy inputs are copied to the device and results copied back; device arrays stay on
the device, and so do the results of a call given one.
"""
import math

import numpy as np
from numba import cuda

from ..analysis.kinds import is_gpu_array as is_device_array
from ..runtime.fused import float_result

THREADS = 128  # threads per block: enough warps to hide latency, small enough for any GPU


def to_device(value, axis):
    """`value` on the device with its mapped axis first; scalars pass unchanged."""
    if is_device_array(value):
        if axis not in (None, 0):
            raise ValueError(f"a device array can be mapped along axis 0 only, not {axis}")
        return value
    if isinstance(value, np.ndarray):
        if axis not in (None, 0):
            value = np.moveaxis(value, axis, 0)
        return cuda.to_device(np.ascontiguousarray(value))
    return value


def mapped_size(arguments, axes):
    """The batch size shared by the mapped arguments."""
    sizes = {a.shape[0] for a, axis in zip(arguments, axes) if axis is not None}
    if len(sizes) != 1:
        raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {sorted(sizes)}")
    return sizes.pop()


def device_output(size):
    return cuda.device_array(size, dtype=np.float64)


def blocks_for(size):
    return max(1, math.ceil(size / THREADS))


def to_host(result, inputs):
    """The result as a NumPy array, or left on the device when an input was a device array."""
    if any(is_device_array(a) for a in inputs):
        return result
    return result.copy_to_host()


def first_value(result):
    """The single result of a one-thread launch, as a Python scalar."""
    return result.copy_to_host()[0].item()


# ---- fused array kernels ----------------------------------------------------------------------

def any_device(values):
    """Was the call given a device array? Then its array results stay on the device."""
    return any(is_device_array(v) for v in values)


def device_empty(shape, letter, *arrays):
    """An uninitialized device array for a fused result: bool for letter "b", else the float
    dtype NumPy gives a result computed from `arrays` (float32 stays float32)."""
    dtype = np.bool_ if letter == "b" else float_result([np.dtype(a.dtype) for a in arrays])
    return cuda.device_array(shape, dtype=dtype)


def launch(kernel, threads, *args):
    """`kernel` on `threads` threads (THREADS a block); host arrays are copied to the device."""
    args = [cuda.to_device(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a for a in args]
    kernel[blocks_for(threads), THREADS](*args)


def block_partials(threads):
    """One slot per block of a launch on `threads` threads, for a full reduction's first pass."""
    return cuda.device_array(blocks_for(threads), dtype=np.float64)


def reduced(partials, op):
    """The second pass of a full reduction (backends/cuda_reduce.py), as a NumPy float64."""
    from .cuda_reduce import OPS, combine_partials
    out = cuda.device_array(1, dtype=np.float64)
    launch(combine_partials, THREADS, partials, OPS[op], out)
    return on_host(out)[0]


def on_host(value):
    """`value` as a NumPy array, for a statement that runs through NumPy on the host."""
    return value.copy_to_host() if is_device_array(value) else value


def results(value, on_device):
    """A result leaf (or tuple, list, dict of them) on the device when the call was given a
    device array, else on the host."""
    if isinstance(value, (tuple, list)):
        return tuple(results(v, on_device) for v in value)
    if isinstance(value, dict):
        return {k: results(v, on_device) for k, v in value.items()}
    if on_device and isinstance(value, np.ndarray):
        return cuda.to_device(value)
    return value if on_device else on_host(value)
