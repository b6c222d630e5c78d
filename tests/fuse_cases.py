"""Array expressions for the fusion tests: each function is one chain a user might write.

Arguments: x, y are (4, 5) arrays; r a row (5,); c a column (4, 1); s a Python float. CASES says
which arguments each takes; `fused` whether a loop must replace the chain (False where a size-1
axis broadcasts, so the NumPy statements must run instead).
"""
import numpy as np

from transpile.runtime import scale_rows


def gauss_sum(x, r, s, y):
    return np.sum(np.exp(-(x - r) ** 2 / s) * y)


def poly(x, s):
    return 3.0 * x ** 3 - 2.0 * x * x + s * x - 1.0


def trig_chain(x, y):
    return np.sin(x) * np.cos(y) + np.tan(0.1 * x)


def exp_log(x, y):
    return np.log1p(np.exp(x)) - np.log(y + 1.5)


def softplus_mean(x):
    return np.mean(np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0))


def row_broadcast(x, r):
    return (x - r) * (x + r)


def row_sum_axis1(x, r):
    return np.sum((x - r) ** 2, axis=1)


def col_sum_axis0(x, r):
    return np.sum(x * r + 1.0, axis=0)


def column_broadcast(x, c):
    return np.exp(x - c) / (1.0 + c * c)


def column_sum(x, c):
    return np.sum(np.exp(x - c), axis=1)


def scalar_only(x, s):
    return np.sqrt(x * x + s) - s


def where_relu(x):
    return np.where(x > 0.0, x, 0.01 * x)


def where_two_arrays(x, y):
    return np.where(x < y, x * y, x - y) + 1.0


def clip_like(x, s):
    return np.minimum(np.maximum(x, -s), s) * 2.0


def compare_count(x, y):
    return np.sum(np.where(x > y, 1.0, 0.0) * x)


def logical_mask(x, y):
    return np.where(np.logical_and(x > 0.0, y > 0.0), x + y, -1.0)


def predicate_output(x, y):
    return (x * 2.0) > (y + 0.5)


def max_reduction(x, y):
    return np.max(x * y - 1.0)


def min_reduction_axis(x, r):
    return np.min(x + r, axis=0)


def max_axis1(x, y):
    return np.max(np.abs(x - y), axis=1)


def prod_reduction(x):
    return np.prod(1.0 + 0.1 * x)


def mean_axis0(x, y):
    return np.mean(x * y, axis=0)


def mean_axis_neg(x, y):
    return np.mean(x - 2.0 * y, axis=-1)


def sum_then_scalar(x, y):
    total = np.sum(x * y)
    return total * 2.0 + 1.0


def two_outputs(x, y):
    a = np.exp(x) + y
    b = np.sum(a * a, axis=1)
    return a, b


def reused_intermediate(x, y):
    t = x * y
    u = np.sin(t) + t
    return u * t


def hypot_atan2(x, y):
    return np.hypot(x, y) + np.arctan2(y, x)


def logaddexp_chain(x, y):
    return np.logaddexp(x, y) - np.logaddexp2(x, 0.5 * y)


def unary_family(x):
    return np.tanh(x) + np.sinh(0.5 * x) - np.cosh(0.1 * x) + np.arctan(x)


def sqrt_abs(x):
    return np.sqrt(np.abs(x)) * np.sign(x)


def square_reciprocal(x):
    return np.square(x) + np.reciprocal(x * x + 1.0)


def fmax_fmin(x, y):
    return np.fmax(x, y) - np.fmin(x, 0.5 * y)


def exp2_expm1(x):
    return np.exp2(0.5 * x) + np.expm1(0.1 * x)


def log_family(x):
    ax = np.abs(x) + 1.0
    return np.log2(ax) + np.log10(ax)


def power_arrays(x, y):
    return np.power(np.abs(x) + 1.0, 0.5 * y)


def negate_chain(x):
    return -(-x * 2.0) + (+x)


def divide_chain(x, y):
    return (x / (y * y + 1.0)) / 3.0


def loop_accumulate(x, y):
    acc = np.zeros(x.shape)
    for _ in range(3):
        acc = acc + x * y
        acc = acc * 0.5
    return acc


def branch_inside(x, y, s):
    if s > 0.0:
        out = np.exp(x) * y + s
    else:
        out = np.exp(-x) * y - s
    return out


def keepdims_untouched(x, y):
    return np.sum(x * y + 1.0, axis=1, keepdims=True)


def size_one_rows(x, r):
    return np.sum(x * r - 1.0, axis=0)


def vector_chain(r, s):
    return np.sum(np.exp(r * s) - r)


def row_cotangent(x, r):
    return np.sum(np.sin(x - r) * x)


def joined_arrays(x, r):
    """Chains over np.vstack, np.stack and np.hstack results: their ranks are known, so they fuse."""
    rows = np.vstack((r, r)) - np.stack((r, 2.0 * r))
    return np.sum(np.exp(rows) * 0.5) + np.sum(np.sin(np.hstack((x, x))) * 2.0)


def _squash(v):
    return 1.0 / (1.0 + np.exp(-v))


def _gate(v, w, steps):
    g = np.tanh(w) * 0.5 + 0.25
    for _ in range(steps):
        g = g * _squash(v) + 0.1 * v
    return g, v * w


def helper_chain(x, y):
    """Helpers with a loop stay functions, generated for the kinds of their calls; one returns a pair."""
    joined = np.concatenate((x, y)) * 0.5
    gated, product = _gate(_squash(joined), joined, 2)
    return np.sum(gated * product)


def _cdf(z):
    return 0.5 * (1.0 + np.tanh(z * 0.7978845608))


def priced(x, y):
    """A straight-line helper called twice: inlined, so the whole chain is one loop."""
    d = np.log1p(x * x) - y
    return np.sum(x * _cdf(d) - y * _cdf(d - 0.5))


def priced_one(a, b):
    """One example of `priced`, for vmap: the batched helper's batch-size checks run after the loop."""
    d = np.log1p(a * a) - b
    return a * _cdf(d) - b * _cdf(d - 0.5)


def alias_between(x, y):
    """`z = y` names an outside array between two elementwise statements."""
    a = np.exp(x) * 2.0
    z = y
    return np.sum(a * z + a)


def shape_only_result(x, y):
    """`a` is read after the loop only for its shape."""
    a = np.exp(x) * y
    return np.sum(a + 1.0) + a.shape[0]


def log_softmax_keepdims(x):
    shifted = x - np.max(x, axis=1, keepdims=True)
    return np.sum(shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True)) * x)


def logsumexp_reshaped(x):
    n = x.shape[0]
    top = np.max(x, axis=1)
    return np.sum(top + np.log(np.sum(np.exp(x - top.reshape(n, 1)), axis=1)))


def added_into_then_read(x, y):
    """A result added into a slice of `total`, which the next statement reads: the addition, moved
    after the loop it belongs to, must happen before that read."""
    total = np.ones_like(y)
    a = np.sin(x) * y
    b = a * 2.0
    total[0:4] = total[0:4] + b
    c = np.cos(x) * total
    return c + a


def added_into_then_not_read(x, y):
    """The same addition, with no later statement reading `total`: the chain stays one loop."""
    total = np.ones_like(y)
    a = np.sin(x) * y
    b = a * 2.0
    total[0:4] = total[0:4] + b
    c = np.cos(x) * a
    return c + b, total


def matvec_chain(x, r):
    """`x @ r` and np.dot(x, r) in a chain with nothing else reading rows of x: BLAS computes them
    before the loop, which then vectorizes tanh across rows."""
    return np.tanh(x @ r) * 2.0 + np.dot(x, r)


def matvec_sum(x, r):
    return np.sum(np.exp(0.1 * (x @ r)) - 1.0)


def per_row_gradients(x, r):
    """What vmap(grad) of a linear model becomes: each row's scalar from `x @ r`, then the row of x
    scaled by it (scale_rows). One loop over rows reads each row once, for both."""
    z = x @ r
    return scale_rows(np.tanh(z) * 2.0 - z, x)


def per_row_gradients_of_a_result(x, r):
    """The product needs all of `v`, which a loop of its own computes first."""
    v = np.sin(r) * 2.0
    z = x @ v
    return scale_rows(np.exp(-z) + 1.0, x)


def recomputed_into_one_statement(r, y):
    """`a` is recomputed in the one statement that reads it past the matrix products (rematerialize):
    that statement alone holds three array operations, enough for a loop."""
    a = np.exp(-r) * 0.5
    m = (y @ r) @ y
    b = a + m
    return y @ b


ALL = [gauss_sum, poly, trig_chain, exp_log, softplus_mean, row_broadcast, row_sum_axis1, col_sum_axis0,
       column_broadcast, column_sum, scalar_only, where_relu, where_two_arrays, clip_like, compare_count,
       logical_mask, predicate_output, max_reduction, min_reduction_axis, max_axis1, prod_reduction,
       mean_axis0, mean_axis_neg, sum_then_scalar, two_outputs, reused_intermediate, hypot_atan2,
       logaddexp_chain, unary_family, sqrt_abs, square_reciprocal, fmax_fmin, exp2_expm1, log_family,
       power_arrays, negate_chain, divide_chain, loop_accumulate, branch_inside, keepdims_untouched,
       size_one_rows, vector_chain, row_cotangent, joined_arrays, helper_chain, priced, log_softmax_keepdims,
       logsumexp_reshaped, added_into_then_read, added_into_then_not_read, matvec_chain, matvec_sum,
       per_row_gradients, per_row_gradients_of_a_result, recomputed_into_one_statement]

# chains with a matrix-vector product: a row at a time (runtime.row_dot) only beside scale_rows
MATRIX_VECTOR = [matvec_chain, matvec_sum]
ROWS_READ_ONCE = [per_row_gradients, per_row_gradients_of_a_result]

# chains whose code gives an operand a length-1 axis: read at index 0 inside the fused loop
UNIT_AXES = [log_softmax_keepdims, logsumexp_reshaped]

# chains where a size-1 axis broadcasts at run time: the guard sends them to the NumPy statements
BROADCASTS_SIZE_ONE = {column_broadcast, column_sum}

# smooth scalar-valued chains for gradient tests: (function, argnums)
GRADIENTS = [(gauss_sum, (0, 1, 3)), (softplus_mean, 0), (sum_then_scalar, (0, 1)), (prod_reduction, 0),
             (compare_count, 0), (max_reduction, (0, 1)), (vector_chain, 0), (row_cotangent, (0, 1)),
             (helper_chain, (0, 1)), (priced, (0, 1)), (matvec_sum, (0, 1))]
