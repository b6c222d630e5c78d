"""Functions that tests/test_vmap.py batches: each is written for one example, as a NumPy user
would, and vmap must agree with a Python loop over examples."""
import math
from collections import namedtuple

import numpy as np

Params = namedtuple("Params", ["w", "b"])


# -- helpers called by the cases -----------------------------------------------------------------

def square(v):
    return v * v


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def norm_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# -- straight-line code --------------------------------------------------------------------------

def elementwise(x):
    return np.sin(x) * np.exp(-x) + x ** 2


def scalar_math(a, b):
    return math.exp(a) * math.sin(b) + math.sqrt(a * a + b * b)


def affine(x, w, b):
    return x @ w + b


def matrix_vector(m, v):
    return m @ v


def vector_matrix(v, m):
    return np.tanh(v @ m)


def dot_of_two(u, v):
    return u @ v


def total(x):
    return np.sum(x * x)


def mean_and_max(x):
    return np.mean(x), np.max(x)


def row_sums(x):
    return np.sum(x, axis=1)


def column_means(x):
    return x.mean(axis=0)


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def logistic_loss(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def index_reads(x):
    return x[0] * x[-1] + x[1:3].sum()


def column_read(m):
    return m[:, 1] * 2.0


def shape_use(x):
    n = x.shape[0]
    return np.sum(x) / n


def comparisons(x, y):
    return np.where(x > y, x, y) + (x >= 0.5)


def call_price(spot, strike, maturity, rate, vol):
    sqrt_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return spot * norm_cdf(d1) - strike * math.exp(-rate * maturity) * norm_cdf(d2)


# -- branches on batched values ------------------------------------------------------------------

def relu_scalar(a):
    if a > 0.0:
        y = a
    else:
        y = 0.1 * a
    return y


def branch_on_sum(x):
    if np.sum(x) > 1.5:
        y = x * 2.0
    else:
        y = x - 1.0
    return y


def piecewise(a):
    if a < 0.3:
        return a * a
    elif a < 0.6:
        return 2.0 * a
    return math.sqrt(a)


def branch_with_temporaries(x, w):
    s = x @ w
    if s > 0.5:
        t = np.exp(-s)
        out = x * t
    else:
        out = x + s
    return out


# -- loops ---------------------------------------------------------------------------------------

def running_sum(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc = acc + x[i] * x[i]
    return acc


def horner(coeffs, t):
    acc = 0.0
    for c in coeffs:
        acc = acc * t + c
    return acc


def power_iteration(m, v):
    for _ in range(5):
        v = m @ v
        v = v / np.sqrt(np.sum(v * v))
    return v


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def early_exit(x):
    for i in range(x.shape[0]):
        if x[i] > 0.8:
            return float(i)
    return -1.0


def data_dependent_steps(a):
    n = 0
    while a > 1.0:
        a = a / 2.0
        n += 1
    return a + n


# -- in-place writes -----------------------------------------------------------------------------

def cumulative(x):
    y = np.zeros(x.shape[0])
    acc = 0.0
    for i in range(x.shape[0]):
        acc = acc + x[i]
        y[i] = acc
    return y


def clipped_copy(x):
    y = np.copy(x)
    for i in range(x.shape[0]):
        if y[i] > 0.5:  # noqa: PLR1730  (an in-place write under a branch on batched values)
            y[i] = 0.5
    return y


def stencil(x):
    y = np.zeros(x.shape[0] - 2)
    for i in range(1, x.shape[0] - 1):
        y[i - 1] = x[i - 1] - 2.0 * x[i] + x[i + 1]
    return y


def outer_product(u, v):
    m = np.zeros((u.shape[0], v.shape[0]))
    for i in range(u.shape[0]):
        m[i, :] = u[i] * v
    return m


# -- helper calls --------------------------------------------------------------------------------

def calls_helper(x):
    return np.sum(square(x))


def calls_sigmoid(x, w):
    return sigmoid(x @ w)


def calls_scalar_helper(a):
    return square(a) + square(a + 1.0)


# -- tuples and pytrees --------------------------------------------------------------------------

def two_outputs(x):
    return np.sin(x), np.sum(x)


def nested_outputs(x):
    return x * 2.0, (np.sum(x), np.max(x))


def dict_params(params, x):
    return np.tanh(x @ params["w"] + params["b"])


def tuple_input(pair):
    a, b = pair
    return a * b


def namedtuple_params(p, x):
    return np.sum(p.w * x) + p.b


def list_of_arrays(arrays):
    return arrays[0] + 2.0 * arrays[1]


# -- matrices per example ------------------------------------------------------------------------

def trace_of_square(m):
    return np.trace(m @ m)


def quadratic_form(m, v):
    return v @ (m @ v)


def frobenius(m):
    return np.sqrt(np.sum(m * m))
