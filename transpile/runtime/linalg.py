"""Adjoints of np.dot for the operand ranks NumPy and Numba share: scalars, 1-D and 2-D.

dot_vjp_a(v, a, b) is the cotangent of a in np.dot(a, b) given the cotangent v of the result;
dot_vjp_b likewise for b. Both are linear in v and in the other operand, so their own derivative
rules close over np.dot and each other.
"""
import numpy as np
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from ._numba import float_dtype, is_array
from .broadcast import _float_dtype, unbroadcast


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


@overload(dot_vjp_a)
def _dot_vjp_a(v, a, b):
    ranks = _ranks(a, b)
    if 0 in ranks:
        return lambda v, a, b: unbroadcast(v * b, a)
    return {(1, 1): lambda v, a, b: v * b, (2, 1): lambda v, a, b: np.outer(v, b),
            (1, 2): lambda v, a, b: np.dot(b, v), (2, 2): lambda v, a, b: np.dot(v, b.T)}[ranks]


@overload(dot_vjp_b)
def _dot_vjp_b(v, a, b):
    ranks = _ranks(a, b)
    if 0 in ranks:
        return lambda v, a, b: unbroadcast(v * a, b)
    return {(1, 1): lambda v, a, b: v * a, (2, 1): lambda v, a, b: np.dot(v, a),
            (1, 2): lambda v, a, b: np.outer(a, v), (2, 2): lambda v, a, b: np.dot(a.T, v)}[ranks]


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
