"""Full reductions in fused kernels, in two deterministic passes.

Pass one, inside each fused kernel: every thread holds the reduction of its own elements; the
block combines them by a tree in shared memory (`block_reduce`) and writes one partial result per
block. Pass two (`combine_partials`, one block): thread k combines partials k, k + THREADS, ...,
then the same tree. The order of operations depends only on the sizes, so a float64 sum is the
same on every run; atomics across blocks would not be.
"""
import math

from numba import cuda, float64
from numba.extending import register_jitable

from .cuda_host import THREADS
from .device_math import maximum, minimum

SUM, PROD, MAX, MIN = 0, 1, 2, 3
OPS = {"sum": SUM, "mean": SUM, "prod": PROD, "max": MAX, "min": MIN}


@register_jitable
def identity(op):
    if op == PROD:
        return 1.0
    if op == MAX:
        return -math.inf
    if op == MIN:
        return math.inf
    return 0.0


@register_jitable
def combine(op, a, b):
    if op == PROD:
        return a * b
    if op == MAX:
        return maximum(a, b)
    if op == MIN:
        return minimum(a, b)
    return a + b


@cuda.jit(device=True)
def block_reduce(value, op, partials):
    """Combine `value` over the block's threads; thread 0 writes the result to partials[block].
    Every thread of the block must call it (it synchronizes them)."""
    shared = cuda.shared.array(THREADS, float64)
    lane = cuda.threadIdx.x
    shared[lane] = value
    cuda.syncthreads()
    step = THREADS // 2
    while step > 0:
        if lane < step:
            shared[lane] = combine(op, shared[lane], shared[lane + step])
        cuda.syncthreads()
        step //= 2
    if lane == 0:
        partials[cuda.blockIdx.x] = shared[0]


@cuda.jit
def combine_partials(partials, op, out):
    """One block: out[0] = the reduction of every partial result, in a fixed order."""
    lane = cuda.threadIdx.x
    value = identity(op)
    k = lane
    while k < partials.shape[0]:
        value = combine(op, value, partials[k])
        k += THREADS
    block_reduce(value, op, out)
