"""Adjoints of np.dot for the operand ranks NumPy and Numba share: scalars, 1-D and 2-D.

dot_vjp_a(v, a, b) is the cotangent of a in np.dot(a, b) given the cotangent v of the result;
dot_vjp_b likewise for b. Both are linear in v and in the other operand, so their own derivative
rules close over np.dot and each other. Compiled, the float64 matrix products multiply a
cotangent's underflowed rows apart (runtime/tiny_rows.py).
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from ._numba import float_dtype, is_array
from .broadcast import _float_dtype, unbroadcast
from .tiny_rows import dot_lifting_rows, dot_summing_lifted_rows


def dot_vjp_a(v, a, b):
    """Cotangent of a in np.dot(a, b)."""
    ranks = (np.ndim(a), np.ndim(b))
    if 0 in ranks:
        return unbroadcast(v * b, a)
    return {(1, 1): lambda: v * b, (2, 1): lambda: np.outer(v, b),
            (1, 2): lambda: np.dot(b, v), (2, 2): lambda: np.dot(v, b.T)}[ranks]()


def dot_vjp_b(v, a, b):
    """Cotangent of b in np.dot(a, b)."""
    ranks = (np.ndim(a), np.ndim(b))
    if 0 in ranks:
        return unbroadcast(v * a, b)
    return {(1, 1): lambda: v * a, (2, 1): lambda: np.dot(v, a),
            (1, 2): lambda: np.outer(a, v), (2, 2): lambda: np.dot(a.T, v)}[ranks]()


def _ranks(a, b):
    ranks = (a.ndim if is_array(a) else 0, b.ndim if is_array(b) else 0)
    if max(ranks) > 2:
        raise TypingError("np.dot derivatives support operands of ndim <= 2")
    return ranks


def _all_float64(*ts):
    return all(is_array(t) and t.dtype == types.float64 for t in ts)


@overload(dot_vjp_a)
def _dot_vjp_a(v, a, b):
    ranks = _ranks(a, b)
    if 0 in ranks:
        return lambda v, a, b: unbroadcast(v * b, a)
    if ranks == (2, 2) and _all_float64(v, b):  # a cotangent's underflowed rows: runtime/tiny_rows.py
        return lambda v, a, b: dot_lifting_rows(v, b.T)
    return {(1, 1): lambda v, a, b: v * b, (2, 1): lambda v, a, b: np.outer(v, b),
            (1, 2): lambda v, a, b: np.dot(b, v), (2, 2): lambda v, a, b: np.dot(v, b.T)}[ranks]


@overload(dot_vjp_b)
def _dot_vjp_b(v, a, b):
    ranks = _ranks(a, b)
    if 0 in ranks:
        return lambda v, a, b: unbroadcast(v * a, b)
    if ranks == (2, 2) and _all_float64(v, a):
        return lambda v, a, b: dot_summing_lifted_rows(a, v)
    return {(1, 1): lambda v, a, b: v * a, (2, 1): lambda v, a, b: np.dot(v, a),
            (1, 2): lambda v, a, b: np.outer(a, v), (2, 2): lambda v, a, b: np.dot(a.T, v)}[ranks]


def summed_dot_vjp_a(v, a, b, like):
    """unbroadcast(dot_vjp_a(v, a, b), like), summing v's rows before the product where `like` has
    at most one axis: the rows of v @ b.T add up to b @ (sum of v's rows), a matrix-vector product."""
    ranks = (np.ndim(a), np.ndim(b))
    if np.ndim(v) == 2 and np.ndim(like) <= 1 and ranks == (2, 2):
        return unbroadcast(np.dot(b, np.sum(v, axis=0)), like)
    if np.ndim(v) == 1 and np.ndim(like) <= 1 and ranks == (2, 1):
        return unbroadcast(np.sum(v) * b, like)
    return unbroadcast(dot_vjp_a(v, a, b), like)


@register_jitable(fastmath={"reassoc"})
def _column_sums(v):
    """np.sum(v, axis=0) for a 2-D v: down each of a few columns (each sum spread over SIMD lanes
    by reassociation), else a row at a time (contiguous reads; Numba's axis sum strides)."""
    sums = np.zeros(v.shape[1], dtype=v.dtype)
    if v.shape[1] <= 4:
        for j in range(v.shape[1]):
            total = sums[j]
            for i in range(v.shape[0]):
                total += v[i, j]
            sums[j] = total
        return sums
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            sums[j] += v[i, j]
    return sums


@overload(summed_dot_vjp_a)
def _summed_dot_vjp_a(v, a, b, like):
    ranks = _ranks(a, b)
    like_rank = like.ndim if is_array(like) else 0
    v_rank = v.ndim if is_array(v) else 0
    if v_rank == 2 and like_rank <= 1 and ranks == (2, 2):
        return lambda v, a, b, like: unbroadcast(np.dot(b, _column_sums(v)), like)
    if v_rank == 1 and like_rank <= 1 and ranks == (2, 1):
        return lambda v, a, b, like: unbroadcast(np.sum(v) * b, like)
    return lambda v, a, b, like: unbroadcast(dot_vjp_a(v, a, b), like)


def eye_like(a):
    """Float identity matrix of a's (2-D) shape: the derivative of np.trace."""
    return np.eye(a.shape[0], a.shape[1], dtype=_float_dtype(a))


@overload(eye_like)
def _eye_like(a):
    dtype = float_dtype(a)
    return lambda a: np.eye(a.shape[0], a.shape[1], 0, dtype)


@register_jitable
def matmul(a, b):
    """np.matmul for 1-D and 2-D operands, through the @ operator that Numba compiles."""
    return a @ b
