"""Helpers that generated code calls (`from transpile.runtime import *`).

Each is a plain NumPy function with a Numba `@overload` twin, so the same generated source runs as
Python and compiles under `numba.njit` (nopython). The derivative helpers also have rules in
`transpile/rules/runtime.py`, so generated code can itself be differentiated.
"""
from numba import prange

from .batching import batch_alloc, check_batch_size
from .broadcast import balanced_eq, broadcast_like, reshape_as, select, unbroadcast, zero_like
from .linalg import dot_vjp_a, dot_vjp_b, eye_like, matmul
from .markers import stop_gradient
from .reduce import (chooser_weights, mean_vjp, prod_others, reduce_max, reduce_mean, reduce_min,
                     reduce_prod, reduce_sum, reduced_size, sum_vjp)
from .shape import flip_axes, hstack_axis, join_like, split_like, untranspose
from .tape import (grad_seed, new_tape, range_length, saved_copy, tape_push, tape_reserve,
                   tape_restore)

__all__ = [
    "zero_like", "reshape_as", "unbroadcast", "broadcast_like", "select", "balanced_eq",
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
    "sum_vjp", "mean_vjp", "reduced_size", "chooser_weights", "prod_others",
    "untranspose", "flip_axes", "hstack_axis", "split_like", "join_like",
    "dot_vjp_a", "dot_vjp_b", "eye_like", "matmul",
    "stop_gradient", "tape_restore", "saved_copy", "grad_seed", "new_tape", "tape_push",
    "tape_reserve", "range_length",
    "batch_alloc", "check_batch_size", "prange",
]

# Arguments (by position) that a helper reads only for their shape/rank, never their values:
# reverse mode need not keep those values alive for the backward sweep.
SHAPE_ONLY_ARGS = {
    zero_like: (0,), reshape_as: (1,), unbroadcast: (1,), broadcast_like: (1,),
    sum_vjp: (1,), mean_vjp: (1,), reduced_size: (0,), hstack_axis: (0,),
    split_like: (1,), join_like: (1,), dot_vjp_a: (1,), dot_vjp_b: (2,), eye_like: (0,),
}
