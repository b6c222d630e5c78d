"""Functions that tests/test_grad.py differentiates: plain Python and NumPy, one construct or rule
group each, written as a NumPy user would."""
import math
from collections import namedtuple

import numpy as np

import transpile as tp

Params = namedtuple("Params", ["w", "b"])


# -- helpers called by the cases -----------------------------------------------------------------

def square(v):
    return v * v


def sum_of_squares(v):
    return np.sum(square(v))


def scaled_shift(v, scale=1.0, shift=0.0):
    return v * scale + shift


def pair(v):
    return np.sin(v), np.cos(v)


def make_scaler(factor):
    def scale(v):
        return factor * v
    return scale


triple = make_scaler(3.0)


def cumulative_sines(x):
    y = np.zeros(x.shape[0])
    acc = 0.0
    for i in range(x.shape[0]):
        acc = acc + np.sin(x[i])
        y[i] = acc
    return y


# -- straight-line code --------------------------------------------------------------------------

def straight_line(x, y):
    a = x * y
    b = a + np.sin(x)
    c = b * b - y / x
    return c + 2.0 * a


def straight_line_arrays(w, x):
    h = np.tanh(x @ w)
    return np.sum(h ** 2) + 0.5 * np.dot(w, w)


def logistic_loss(w, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def reassign_variable(x):
    y = x * 2.0
    y = np.sin(y) + y
    y = y * x
    return np.sum(y)


# -- branches ------------------------------------------------------------------------------------

def if_elif_else(x):
    if x > 1.0:
        y = x * x
    elif x > 0.0:
        y = np.sin(x) * 3.0
    else:
        y = -x * np.exp(x)
    return y + x


def branch_on_array_value(x):
    if np.sum(x) > 0.0:
        return np.sum(x ** 2)
    return np.sum(np.exp(x))


def conditional_expression(x, y):
    z = x * y if x > y else x + y
    return z * z


# -- loops ---------------------------------------------------------------------------------------

def range_one_arg(x):
    for i in range(3):
        x = np.sin(x) + x * 0.5
    return x


def range_two_args(x):
    s = 0.0
    for i in range(1, len(x)):
        s += x[i] * x[i - 1]
    return s


def range_three_args(x):
    s = 0.0
    for i in range(len(x) - 1, -1, -2):
        s = s * 0.5 + x[i] ** 2
    return s


def loop_over_array(x):
    s = 0.0
    for v in x:
        s += v ** 3
    return s


def loop_over_rows(X):
    acc = np.zeros(X.shape[1])
    for row in X:
        acc = acc + np.tanh(row)
    return np.sum(acc * acc)


def loop_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * np.cos(v)
    return s


def loop_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s += a * b + np.exp(a - b)
    return s


def nested_loops(A, B):
    n, m = A.shape
    p = B.shape[1]
    C = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            for k in range(m):
                C[i, j] += A[i, k] * B[k, j]
    return np.sum(C * C)


def loop_carried_state(x, steps):
    h = 0.0
    for t in range(steps):
        h = np.tanh(h * x[0] + x[1])
    return h


def while_newton_sqrt(a):
    x = a
    it = 0
    while abs(x * x - a) > 1e-12 and it < 50:
        x = 0.5 * (x + a / x)
        it += 1
    return x


def while_data_stop(x):
    s = 0.0
    i = 0
    while i < len(x) and s < 2.0:
        s += x[i] * x[i]
        i += 1
    return s


def while_growth(x):
    y = x
    while y < 10.0:
        y = y * 1.5 + np.sin(y)
    return y


def break_in_loop(x, t):
    s = 0.0
    for v in x:
        if v > t:
            break
        s += v * v
    return s


def continue_in_loop(x):
    s = 0.0
    for v in x:
        if v < 0.0:
            continue
        s += np.sin(v)
    return s


def while_break_continue(x):
    i = -1
    s = 0.0
    while i < len(x) - 1:
        i += 1
        if x[i] < 0.0:
            continue
        if x[i] > 1.5:
            break
        s += x[i] * s + x[i]
    return s


def early_return(x):
    if x < 0.0:
        return x * x
    return np.exp(x)


def multiple_returns(x):
    if x > 2.0:
        return np.log(x)
    elif x > 1.0:
        return x ** 3
    y = np.sin(x)
    if y < 0.0:
        return -y
    return y * x


def return_in_loop(x, t):
    s = 0.0
    for v in x:
        if v > t:
            return s * v
        s += v * v
    return s


def return_in_nested_loops(X, t):
    s = 1.0
    for row in X:
        for v in row:
            s = s * 0.9 + v
            if s > t:
                return s * s
    return s


# -- reads by index and slice --------------------------------------------------------------------

def index_reads(x):
    return x[0] * x[-1] + np.sum(x[1:-1] ** 2) + x[2] / x[1]


def index_reads_2d(X):
    return X[0, 1] * X[1, 2] + np.sum(X[:, 1] ** 2) + np.sum(X[1:, :-1] * X[0, 1:])


def strided_slices(x):
    return np.sum(x[::2] * x[1::2]) + np.sum(x[::-1] * x)


# -- in-place writes on arrays the function created ----------------------------------------------

def write_elements(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = x[i] ** 2
    return np.sum(np.sin(y))


def augmented_writes(x):
    y = np.ones(3)
    for i in range(len(x)):
        y[i % 3] += x[i] * y[(i + 1) % 3]
        y[0] *= 1.0 + 0.1 * x[i]
    return np.sum(y * y)


def write_columns(X):
    Y = np.zeros_like(X)
    Y[:, 0] = X[:, 1] * 2.0
    Y[:, 1] = np.exp(X[:, 0])
    Y[:, 2] = Y[:, 0] * Y[:, 1]
    Y[1] = Y[1] + X[2]
    return np.sum(Y * X)


def overwrite_same_element(x):
    y = np.zeros(2)
    for v in x:
        y[0] = np.sin(y[0] + v) * 1.5
        y[1] = y[1] * v + y[0]
    return y[0] * y[1]


def recurrence_writes(x):
    n = x.shape[0]
    y = np.ones(n)
    for i in range(1, n):
        y[i] = y[i - 1] * x[i] + np.cos(y[i - 1])
    return np.sum(y)


def write_rows_2d(X):
    n, m = X.shape
    Y = np.empty((n, m))
    for i in range(n):
        Y[i] = X[i] * (i + 1.0)
        Y[i, 0] = Y[i, 0] ** 2
    return np.sum(np.tanh(Y))


def write_on_copy(x):
    y = x.copy()
    y[0] = 0.0
    y[1] = y[1] * 3.0
    y[1:3] += x[:2]
    return np.sum(y * y)


# -- calls to user functions ---------------------------------------------------------------------

def calls_helper(x):
    return np.sum(square(np.sin(x)) + square(x))


def helper_chain(x):
    return sum_of_squares(x * 2.0) + sum_of_squares(np.cos(x))


def helper_keywords(x, y):
    return np.sum(scaled_shift(x, shift=y, scale=2.0) ** 2) + np.sum(scaled_shift(x) * y)


def uses_closure(x):
    return np.sum(triple(x) ** 2)


def helper_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        s = s + square(x[i]) * s + x[i]
    return s


def helper_pair(x):
    s, c = pair(x)
    return np.sum(s * c + c)


def helper_with_loop_and_writes(x):
    return np.sum(cumulative_sines(x) ** 2)


# -- stop_gradient -------------------------------------------------------------------------------

def stop_gradient_scale(x):
    return np.sum(x * tp.stop_gradient(np.exp(x)))


def stop_gradient_in_loop(x):
    s = 1.0
    for v in x:
        s = s + tp.stop_gradient(s) * v
    return s


# -- argnums -------------------------------------------------------------------------------------

def three_args(x, y, z):
    return np.sum(x * np.sin(y)) + z ** 2 * np.sum(y)


# -- pytrees -------------------------------------------------------------------------------------

def mlp(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.sum(out ** 2)


def tuple_params(wb, x):
    w, b = wb
    return np.sum(np.sin(x * w + b))


def nested_params(p, x):
    w, b = p["layer"]
    return np.sum((w * x + b) ** 2) * p["scale"]


def namedtuple_params(p, x):
    return np.sum(np.exp(p.w * x) + p.b)


def list_params(ws, x):
    return np.sum(ws[0] * x) * np.sum(ws[1] * x)


# -- rules: elementwise --------------------------------------------------------------------------

def unary_basic(x):
    return np.sum(np.negative(x) * np.abs(x) + np.square(x) + np.reciprocal(x))


def unary_roots(x):
    return np.sum(np.sqrt(x) + np.cbrt(x) * x)


def unary_exponentials(x):
    return np.sum(np.exp(x) + np.exp2(x) * np.expm1(x))


def unary_logarithms(x):
    return np.sum(np.log(x) + np.log2(x) * np.log10(x) + np.log1p(x))


def unary_trig(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x))


def unary_inverse_trig(x):
    return np.sum(np.arcsin(x) + np.arccos(x) * np.arctan(x))


def unary_hyperbolic(x):
    return np.sum(np.sinh(x) + np.cosh(x) * np.tanh(x))


def unary_inverse_hyperbolic(x):
    return np.sum(np.arcsinh(x) + np.arccosh(1.5 + x * x) + np.arctanh(x))


def unary_scalar(x):
    return np.exp(np.sin(x)) * np.log(x) + np.sqrt(x)


# -- rules: binary with broadcasting -------------------------------------------------------------

def arithmetic_scalar_array(a, x):
    return np.sum(np.add(a, x) * np.subtract(x, a) + np.multiply(a, x) / np.divide(x, a) - a * x / (a + x))


def arithmetic_row_column(r, c):
    return np.sum((r + c) * (r - c) / (r * c + 3.0))


def power_forms(x, p):
    return np.sum(x ** 2 + np.power(x, p) + p ** x + x ** 0.5)


def max_min_row_column(r, c):
    return np.sum(np.maximum(r, c) * np.minimum(r, 2.0 * c))


def fmax_fmin(x, y):
    return np.sum(np.fmax(x, y) + np.fmin(x * 2.0, y))


def arctan2_hypot(y, x):
    return np.sum(np.arctan2(y, x) * np.hypot(x, y))


def logaddexp_forms(x, y):
    return np.sum(np.logaddexp(x, y) + np.logaddexp2(x, 0.5))


def where_clip(x, y):
    z = np.where(x > 0.0, x * y, y - x)
    return np.sum(np.clip(z, -0.5, 0.7) + np.clip(x, y - 1.0, y + 1.0))


# -- rules: reductions ---------------------------------------------------------------------------

def sum_mean_axes(X):
    return np.sum(np.sum(X, axis=0) ** 2) + np.sum(np.mean(X, axis=1, keepdims=True) * X) + np.mean(X)


def prod_reduction(X):
    return np.sum(np.prod(X, axis=1)) + np.prod(X)


def max_min_reductions(X):
    return np.sum(np.max(X, axis=0) * np.min(X, axis=1, keepdims=True)) + np.max(X) - np.min(X)


def var_std(X):
    return np.sum(np.var(X, axis=0)) + np.std(X) + np.sum(np.std(X, axis=1, ddof=1, keepdims=True) * X)


def cumsum_forms(X):
    return np.sum(np.cumsum(X, axis=1) ** 2) + np.sum(np.cumsum(X) * np.ravel(X))


def reduction_3d(X):
    return np.sum(np.sum(X, axis=(0, 2)) ** 2) + np.sum(np.mean(X, axis=-1) * np.max(X, axis=2))


# -- rules: linear algebra -----------------------------------------------------------------------

def dot_matmul(A, x):
    y = A @ x
    z = np.dot(A, x) + np.matmul(A.T, y)[: y.shape[0]]
    return np.dot(y, z) + np.sum(A @ A.T)


def outer_inner_vdot(x, y):
    return np.sum(np.outer(x, y) ** 2) + np.inner(x, y) * np.vdot(x, y)


def trace_norm(A):
    return np.trace(A @ A) + np.linalg.norm(A) + np.linalg.norm(A[0])


def inv_solve_det(A, b):
    return np.sum(np.linalg.inv(A)) + np.sum(np.linalg.solve(A, b) ** 2) + np.linalg.det(A)


# -- rules: shapes -------------------------------------------------------------------------------

def reshape_ravel_transpose(x):
    X = np.reshape(x, (2, 3))
    Y = X.reshape(3, 2)
    return np.sum(np.transpose(X) * Y) + np.sum(np.ravel(X.T) * x)


def swapaxes_expand_squeeze(X):
    Y = np.swapaxes(X, 0, 2)
    Z = np.expand_dims(X[:, 0], 1)
    return np.sum(Y[0] ** 2) + np.sum(np.squeeze(Z, axis=1) * X[:, 1]) + np.sum(np.transpose(X, (1, 0, 2))[0] * X[:, 0])


def broadcast_to_form(x):
    B = np.broadcast_to(x, (3, x.shape[0]))
    return np.sum(B * np.arange(3.0).reshape(3, 1) * B)


def concatenate_stack(x, y):
    c = np.concatenate((x, y, x * y))
    s = np.stack([x, y], axis=1)
    return np.sum(c ** 2) + np.sum(s[:, 0] * s[:, 1] * np.arange(s.shape[0]))


def concatenate_flat(X, y):
    c = np.concatenate((X, y * y), axis=None)   # axis=None joins the arrays ravelled
    return np.sum(c * np.arange(c.shape[0]) * c)


def hstack_vstack(x, y):
    h = np.hstack((x, y ** 2))
    v = np.vstack((x, y))
    return np.sum(h * np.arange(h.shape[0])) + np.sum(v[0] * np.sin(v[1]))


def flip_forms(X):
    return np.sum(np.flip(X) * X) + np.sum(np.flip(X, axis=1)[0] * X[1])


def copy_array_asarray(a, b):
    v = np.array([a, b, a * b])
    w = np.asarray(v) * np.copy(v)
    return np.sum(w) + np.sum(np.array([a, b]) ** 3)


def creation_in_code(x):
    n = x.shape[0]
    z = np.zeros(n) + x
    o = np.ones_like(x) * x
    e = np.empty(n)
    e[:] = x * 2.0
    d = np.empty_like(x)
    d[:] = np.zeros_like(x) + x[0]
    f = np.full(n, 2.5) * x + np.full_like(x, 0.5)
    return np.sum(z * o + e * f * d + np.arange(n) * x + np.linspace(0.0, 1.0, n) * x) + np.sum(np.eye(n) @ x) \
        + np.sum(np.full(n, x[1]) * x)


# -- math module and builtins on scalars ---------------------------------------------------------

def math_trig(x):
    return math.sin(x) * math.cos(x) + math.tan(x) + math.asin(x) * math.acos(x) + math.atan(x) \
        + math.atan2(x, 1.5)


def math_hyperbolic_exp(x):
    return math.sinh(x) + math.cosh(x) * math.tanh(x) + math.exp(x) + math.expm1(x) * math.erf(x) + math.erfc(x)


def math_logs_powers(x):
    return math.log(x) + math.log1p(x) * math.log2(x) + math.log10(x) + math.sqrt(x) * math.pow(x, 1.5) \
        + math.fabs(x - 2.0) + math.hypot(x, 2.0)


def math_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += math.sin(x[i]) * math.exp(-x[i])
    return s


def builtins_scalar(x, y):
    return abs(x - y) * max(x, y) + min(x * y, 1.0) + float(x) * pow(y, 3) + pow(x, 2.0)


def builtins_on_array(x):
    return sum(x) * max(x) + min(x) + abs(x[0])


# -- array methods -------------------------------------------------------------------------------

def array_methods(X, v):
    return X.sum() + np.sum(X.mean(axis=0) * v) + X.max() + np.sum(X.reshape(-1) ** 2) \
        + np.sum(X.T.dot(v[:X.shape[0]]))


# -- second derivatives (R -> R, no loops) -------------------------------------------------------

def poly_exp(x):
    return x ** 3 * np.exp(x)


def sin_log(x):
    return np.sin(x) * np.log(x)


def tanh_sq(x):
    return np.tanh(x) ** 2


def rational(x):
    return x / (1.0 + x * x)


def math_mix(x):
    return math.sqrt(x) * math.cos(x)


# -- errors --------------------------------------------------------------------------------------

def int_power(x, n):
    return x ** n


def vector_output(x):
    return np.sin(x)


def no_rule(x):
    return np.sum(np.sinc(x))


def squeeze_without_axis(X):
    return np.sum(np.squeeze(X) ** 2)


# -- vjp / has_aux -------------------------------------------------------------------------------

def vector_map(x, y):
    return np.tanh(x) * y + np.outer(x, y) @ y


def matrix_map(A):
    return np.exp(A) @ A.T


def loss_with_aux(w, x):
    pred = x @ w
    loss = np.sum(pred ** 2)
    return loss, pred


def reductions_along(x, axis):
    return np.sum(np.sum(x, axis=axis) ** 2) + np.sum(np.mean(x, axis=axis, keepdims=True) * x) \
        + np.sum(np.max(x, axis=axis) * np.min(x, axis=axis)) + np.sum(np.prod(np.cos(x), axis=axis))


def loop_over_leading_axis(x):
    acc = 0.0 * x[0]
    for row in x:
        acc = acc * 0.5 + np.sin(row) * row
    return np.sum(acc * acc)


def loop_power_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i) * s + x
    return s
