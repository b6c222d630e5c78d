"""Helpers that generated code calls (`from transpile.runtime import *`).

Each is a plain NumPy function with a Numba `@overload` twin, so the same generated source runs as
Python and compiles under `numba.njit` (nopython). The derivative helpers also have rules in
`transpile/rules/`, so generated code can itself be differentiated.
"""
from numba import prange

from .accumulate import add_into
from .array_tape import grown_for, lacks_room, latest_array, push_array, push_shape, restore_array, restore_shape
from .batching import (
    batch_alloc,
    batch_broadcast,
    check_batch_size,
    erf_elementwise,
    matmul_rows_parallel,
    move_axis,
    row_dot,
    scale_rows,
    scale_rows_parallel,
)
from .broadcast import adjoint_zero, balanced_eq, broadcast_like, cast_like, reshape_as, select, unbroadcast, zero_like
from .fused import fused_cast, fused_empty, shaped_like
from .jacobian import basis_vector, flat_size, flat_values, jacobian_shaped
from .linalg import dot_vjp_a, dot_vjp_b, eye_like, matmul, summed_dot_vjp_a
from .markers import stop_gradient
from .numpy_twins import concatenate_ravelled, inner, reduce_std, reduce_var, squeeze_axes
from .pooled_tape import give_back_tape, take_tape
from .reduce import (
    chooser_weights,
    mean_vjp,
    prod_others,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    reduced_size,
    sum_vjp,
)
from .shape import flip_axes, hstack_axis, join_like, split_like, untranspose
from .tape import (
    grad_seed,
    new_tape,
    range_length,
    saved_copy,
    shape_restore,
    shape_stand_in,
    tape_reserve,
    tape_restore,
)
from .vector_math import vector_erf, vector_exp, vector_log, vector_tanh

__all__ = [
    "add_into", "adjoint_zero", "balanced_eq", "cast_like", "batch_alloc", "batch_broadcast", "broadcast_like", "check_batch_size", "chooser_weights", "dot_vjp_a", "dot_vjp_b", "summed_dot_vjp_a", "erf_elementwise",
    "eye_like", "flip_axes", "grad_seed", "hstack_axis", "join_like", "matmul", "matmul_rows_parallel", "mean_vjp", "move_axis", "new_tape", "prange",
    "prod_others", "range_length", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum", "reduced_size",
    "reshape_as", "row_dot", "saved_copy", "shape_restore", "shape_stand_in", "scale_rows", "scale_rows_parallel", "select", "split_like", "stop_gradient", "sum_vjp", "tape_reserve",
    "tape_restore", "unbroadcast", "untranspose", "zero_like", "take_tape", "give_back_tape",
    "grown_for", "lacks_room", "latest_array", "push_array", "push_shape", "restore_array", "restore_shape",
    "fused_cast", "fused_empty", "shaped_like",
    "concatenate_ravelled", "inner", "reduce_std", "reduce_var", "squeeze_axes",
    "basis_vector", "flat_size", "flat_values", "jacobian_shaped",
    "vector_erf", "vector_exp", "vector_log", "vector_tanh",
]

# Arguments (by position) that a helper reads only for their shape/rank, never their values:
# reverse mode need not keep those values alive for the backward sweep.
SHAPE_ONLY_ARGS = {
    zero_like: (0,), adjoint_zero: (0,), cast_like: (1,), shape_stand_in: (0,), shape_restore: (1,), reshape_as: (1,), unbroadcast: (1,), broadcast_like: (1,),
    sum_vjp: (1,), mean_vjp: (1,), reduced_size: (0,), hstack_axis: (0,),
    split_like: (1,), join_like: (1,), dot_vjp_a: (1,), dot_vjp_b: (2,), summed_dot_vjp_a: (1, 3), eye_like: (0,),
    jacobian_shaped: (1, 2),
}
