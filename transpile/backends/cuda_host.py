"""Host-side steps of a kernel launch, called by generated launchers (transforms/kernel.py).

NumPy inputs are copied to the device and results copied back; device arrays stay on
the device, and so do the results of a call given one.
"""
import math

import numpy as np
from numba import cuda

from ..analysis.kinds import is_gpu_array as is_device_array

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
