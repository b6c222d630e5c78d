"""Helpers that vmapped code calls: allocate batched outputs, check batch sizes, move batch axes."""
import math

import numpy as np
from numba import prange
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable
from numba.np.numpy_support import as_dtype


def batch_alloc(first, n):
    """An array for `n` results shaped like `first` (a scalar or an array)."""
    first = np.asarray(first)
    return np.empty((n,) + first.shape, dtype=np.result_type(first.dtype, np.float64)
                    if first.dtype.kind in "biu" else first.dtype)


@overload(batch_alloc)
def _batch_alloc(first, n):
    if isinstance(first, types.Array):
        def impl(first, n):
            shape = (n,) + first.shape
            return np.empty(shape, dtype=first.dtype)
        return impl
    if isinstance(first, (types.Integer, types.Boolean)):
        return lambda first, n: np.empty(n, dtype=np.float64)
    return lambda first, n: np.empty(n, dtype=type(first))


def check_batch_size(size, expected, message):
    """Mapped arguments must agree on the batch size; `message` names the arguments."""
    if size != expected:
        raise ValueError(f"{message} (sizes {size} and {expected})")
    return size


@overload(check_batch_size, prefer_literal=True)
def _check_batch_size(size, expected, message):
    text = message.literal_value if isinstance(message, types.StringLiteral) else \
        "vmap got inconsistent sizes for the mapped axes"

    def impl(size, expected, message):
        if size != expected:
            raise ValueError(text)
        return size
    return impl


def _permutation(ndim, source, destination):
    """Axes order that moves axis `source` to position `destination` (both may be negative)."""
    source, destination = source % ndim, destination % ndim
    order = [k for k in range(ndim) if k != source]
    order.insert(destination, source)
    return tuple(order)


def move_axis(x, source, destination):
    """np.moveaxis(x, source, destination) as a contiguous array (constant axes under Numba)."""
    return np.ascontiguousarray(np.moveaxis(x, source, destination))


@overload(move_axis, prefer_literal=True)
def _move_axis(x, source, destination):
    if not (isinstance(source, types.IntegerLiteral) and isinstance(destination, types.IntegerLiteral)):
        raise TypingError("move_axis needs constant axes")
    order = _permutation(x.ndim, source.literal_value, destination.literal_value)
    return lambda x, source, destination: np.ascontiguousarray(np.transpose(x, order))


def batch_broadcast(x, n):
    """`n` copies of the unbatched value `x`, stacked on a new leading axis."""
    x = np.asarray(x)
    return np.broadcast_to(x, (n,) + x.shape).copy()


@overload(batch_broadcast)
def _batch_broadcast(x, n):
    if isinstance(x, types.Array):
        def impl(x, n):
            out = np.empty((n,) + x.shape, dtype=x.dtype)
            for b in range(n):
                out[b] = x
            return out
        return impl
    return lambda x, n: np.full(n, x)


def erf_elementwise(x):
    """math.erf of every element (NumPy has no erf ufunc): the batched form of math.erf."""
    return np.vectorize(math.erf, otypes=[np.float64])(x)


@overload(erf_elementwise)
def _erf_elementwise(x):
    def impl(x):
        out = np.empty(x.shape, dtype=np.float64)
        flat_x, flat_out = x.ravel(), out.ravel()
        for k in range(flat_x.size):
            flat_out[k] = math.erf(flat_x[k])
        return out
    return impl


def scale_rows(v, a):
    """Row i of `a` times `v[i]`: per example, a batched scalar times a batched vector."""
    return v[:, None] * a


def scale_rows_parallel(v, a):
    """scale_rows with its rows on every core: vmap's vectorized code under jit(parallel=True),
    where this product (a batch of per-example gradients) is most of the work."""
    return v[:, None] * a


def _rows_scaled(rows):
    def scaled(v, a):
        dtype = np.result_type(as_dtype(v.dtype), as_dtype(a.dtype))

        def impl(v, a):
            out = np.empty((a.shape[0], a.shape[1]), dtype=dtype)
            for i in rows(a.shape[0]):
                scale = v[i]   # read once: the stores to `out` might alias v as far as LLVM knows
                for j in range(a.shape[1]):
                    out[i, j] = scale * a[i, j]
            return out
        return impl
    return scaled


overload(scale_rows)(_rows_scaled(range))
overload(scale_rows_parallel, jit_options={"parallel": True})(_rows_scaled(prange))


def row_dot(a, i, v):
    """Row i of the matrix `a` times the vector `v`: `a @ v` one element at a time, so that a fused
    loop computes each element beside its other uses of row i (read once from memory, not twice)."""
    return a[i] @ v


@overload(row_dot, jit_options={"fastmath": {"reassoc"}})
def _row_dot(a, i, v):
    # reassociated, the sum runs in SIMD lanes as BLAS's does; results move by rounding only
    zero = np.result_type(as_dtype(a.dtype), as_dtype(v.dtype)).type(0)

    def impl(a, i, v):
        total = zero
        for k in range(v.shape[0]):
            total += a[i, k] * v[k]
        return total
    return impl


ROWS_PER_BLOCK = 64   # a BLAS call per block: enough rows that its overhead is small
MAX_BLOCKS = 64       # enough blocks to share out evenly over the threads of one machine


def matmul_rows_parallel(a, b):
    """a @ b for a 2-D `a` whose rows are examples, as one BLAS product per core on a block of rows:
    vmap's vectorized `x @ w` under jit(parallel=True), which one BLAS call would run on one core."""
    return a @ b


@overload(matmul_rows_parallel, jit_options={"parallel": True})
def _matmul_rows_parallel(a, b):
    if not (isinstance(a, types.Array) and a.ndim == 2 and isinstance(b, types.Array) and b.ndim in (1, 2)):
        raise TypingError(f"matmul_rows_parallel multiplies a 2-D array by a 1-D or 2-D one, not {a} and {b}")
    if a.layout != "C" or b.layout not in "CF" or a.dtype != b.dtype:
        return lambda a, b: a @ b  # BLAS blocks need C-contiguous rows of one dtype
    dtype = as_dtype(a.dtype)
    if b.ndim == 1:
        allocate = register_jitable(lambda n, b: np.empty(n, dtype))
        rows_of = register_jitable(lambda out, lo, hi: out[lo:hi])
    else:
        allocate = register_jitable(lambda n, b: np.empty((n, b.shape[1]), dtype))
        rows_of = register_jitable(lambda out, lo, hi: out.ravel()[lo * out.shape[1]:hi * out.shape[1]]
                                   .reshape((hi - lo, out.shape[1])))

    def impl(a, b):
        n, width = a.shape
        out = allocate(n, b)
        flat_a = a.ravel()
        # blocks of at least ROWS_PER_BLOCK rows, at most MAX_BLOCKS of them, whatever the thread count:
        # numba.get_num_threads() here would make every caller uncacheable (a ctypes pointer)
        blocks = max(1, min(MAX_BLOCKS, n // ROWS_PER_BLOCK))
        for k in prange(blocks):
            lo, hi = k * n // blocks, (k + 1) * n // blocks
            if hi > lo:
                np.dot(flat_a[lo * width:hi * width].reshape((hi - lo, width)), b, rows_of(out, lo, hi))
        return out
    return impl
