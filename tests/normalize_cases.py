"""Functions that tests/test_normalize.py normalizes, runs and compiles; one construct or mix each."""
import math

import numpy as np
import numpy as xp


def square(v):
    return v * v


def scaled(v, factor=2.0):
    return v * factor


def pair(v):
    return v + 1.0, v - 1.0


# -- loops ---------------------------------------------------------------------------------------

def range_one_arg(x, n):
    s = 0.0
    for i in range(n):
        s += i * x
    return s


def range_two_args(x, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s = s + x[i] * x[i]
    return s


def range_negative_step(x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n - 1, -1, -1):
        y[n - 1 - i] = x[i]
    return y


def range_step_expression(x, k):
    s = 0.0
    for i in range(len(x) - 1, 0, -(k + 1)):
        s += x[i]
    return s


def range_bound_rebound(n):
    total = 0
    for i in range(n):
        n = n - 1
        total += n * i
    return total, n


def loop_over_array(x):
    s = 0.0
    for v in x:
        s += v * v
    return s


def loop_over_rows(X):
    acc = np.zeros(X.shape[1])
    for row in X:
        acc = acc + row * 2.0
    return acc


def loop_over_expression(X):
    total = 0.0
    for col in X.T:
        total += col.sum() * col[0]
    return total


def loop_rows_unpacked(pairs):
    s = 0.0
    for a, b in pairs:
        s += a * b
    return s


def loop_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s += i * v
    return s


def loop_enumerate_start(x):
    s = 0.0
    for k, v in enumerate(x, 1):
        s += k * v
    return s


def loop_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s += a * b
    return s


def loop_enumerate_zip(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s += i * a - b
    return s


def loop_zip_range(x):
    s = 0.0
    for k, v in zip(range(10, 0, -2), x):
        s += k * v
    for j, k in enumerate(range(3, 9)):
        s += j * k
    return s


def nested_loops(A, B):
    n, m = A.shape
    p = B.shape[1]
    C = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            for k in range(m):
                C[i, j] += A[i, k] * B[k, j]
    return C


def while_newton(a):
    x = a
    it = 0
    while abs(x * x - a) > 1e-12 and it < 100:
        x = 0.5 * (x + a / x)
        it += 1
    return x, it


def while_scan(x, limit):
    i = 0
    s = 0.0
    while i < len(x) and s + x[i] <= limit:
        s += x[i]
        i += 1
    return i, s


def while_break_continue(x):
    i = -1
    s = 0.0
    while i < len(x) - 1:
        i += 1
        if x[i] < 0:
            continue
        if x[i] > 5:
            break
        s += x[i]
    return s, i


def while_true_return(x):
    i = 0
    while True:
        if x[i] > 1.5:
            return i
        i += 1


# -- break / continue / return -------------------------------------------------------------------

def break_in_nested_ifs(x, t):
    s = 0.0
    for v in x:
        if v > 0:
            if v > t:
                break
            s += v
        else:
            s -= v
    return s


def continue_in_nested_ifs(x):
    s = 0.0
    count = 0
    for v in x:
        if v < 0:
            if v < -1:
                continue
            s += 10.0
        count += 1
        s += v
    return s, count


def break_and_continue(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        elif x[i] > 3:
            break
        s += x[i] * i
    return s


def break_maybe_in_branch(x, t):
    s = 0.0
    for v in x:
        if v > 0:
            if v > t:
                break
            s += 1.0
        s += v
    return s


def nested_break(X):
    count = 0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] < 0:
                break
            count += 1
        if count > 7:
            break
    return count


def return_in_loop(x, t):
    for i in range(len(x)):
        if x[i] > t:
            return i
    return -1


def return_in_nested_loops(X, t):
    total = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            total += X[i, j]
            if total > t:
                return i, j
    return -1, -1


def return_in_while_with_rest(x):
    i = 0
    acc = 0.0
    while i < len(x):
        acc += x[i]
        if acc > 2.0:
            return acc * 10.0
        acc *= 0.5
        i += 1
    acc = acc - 1.0
    return acc


def early_returns_in_branches(x):
    if x < -1.0:
        return -1.0
    elif x < 0.0:
        return x * x
    y = math.sqrt(x)
    if y > 2.0:
        return 2.0
    return y


def return_in_one_branch(x, flag):
    y = x * 2.0
    if flag > 0:
        if flag > 1:
            return y
        y = y + 1.0
    return y - 3.0


def elif_chain(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        v = x[i]
        if v < -1:
            out[i] = -1.0
        elif v < 0:
            out[i] = v
        elif v < 1:
            out[i] = v * v
        else:
            out[i] = 1.0
    return out


def no_return_value(x):
    y = x * 2.0
    y = y + 1.0


def bare_return(x):
    if x > 0:
        return
    y = x + 1.0  # noqa: F841  (the function returns None on both paths)


# -- expressions ---------------------------------------------------------------------------------

def conditional_expressions(x, y):
    a = x if x > y else y  # noqa: FURB136
    b = 1.0 / x if x != 0.0 else 0.0
    c = (a if a > 0 else -a) + (b * 2.0 if b > 1.0 else b)
    return a, b, c


def chained_comparisons(x, lo, hi):
    inside = lo <= x <= hi
    strict = lo < x < hi < 10.0
    return inside, strict


def chained_comparison_lazy(lo, hi):
    ok = lo < hi < 1.0 / (hi - lo)
    return ok


def and_or_short_circuit(x, i):
    n = len(x)
    ok = i < n and x[i] > 0
    alt = i >= n or x[i] < 0
    both = i < n and x[i] > 0 and n > 2
    return ok, alt, both


def and_or_values(a, b):
    u = a and b
    v = a or b * 2
    w = (a > 0) and (b > 0) or (a < 0)
    return u, v, w


def tuple_unpacking(x):
    a, b = pair(x)
    (c, d), e = pair(a), b * 2.0
    p, q = x, x + 1.0
    return a + b + c + d + e + p + q


def swap_in_loop(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a, b


def rotate_three(x, y, z):
    x, y, z = y, z, x
    return x - 2.0 * y + 3.0 * z


def augmented_assignment(x):
    y = np.zeros((3, 4))
    s = 1.0
    s *= x
    s -= 0.5
    s /= 2.0
    for i in range(3):
        y[i] += s
        y[i, i] *= 3.0
        y[i, i + 1] -= i
    y[:, 0] += 1.0
    return y, s


def inplace_writes(X):
    n, m = X.shape
    Y = np.zeros((n, m))
    for j in range(m):
        Y[:, j] = X[:, j] * (j + 1)
    Y[0] = -1.0
    Y[1:n - 1, 0] = 7.0
    Y[n - 1, m - 1] = X[0, 0]
    return Y


def subscripts(x, i):
    a = x[i + 1] - x[-1]
    b = x[::2].sum() + x[1:len(x) - 1].sum()
    c = (x + 1.0)[0]
    return a + b + c


def helper_calls(x):
    s = 0.0
    for v in x:
        s += square(v) + scaled(v, factor=3.0) + scaled(v)
    return s


def method_calls(X):
    a = X.sum(axis=0)
    b = X.T
    c = X.reshape(X.shape[1], X.shape[0])
    d = X.mean() + X.max() - X.min() + X.var() + X.std() + X.prod()
    e = X.dot(X.T).copy().ravel()
    f = X.transpose(1, 0).cumsum()
    g = X.flatten()
    h = X.clip(0.2, 0.8).argmax()
    return a, b, c, d, e, f, g, h


def method_calls_bool(X):
    return (X > 0.5).any(), (X > 0.0).all(), X.astype(np.float64).sum()


def numpy_calls(x, w):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    z = np.zeros((x.shape[0], 3))
    z[:, 0] = p
    both = np.concatenate((p, p * 2.0))
    return np.sum(z) + both.sum() + math.pi + np.pi


def logistic_loss(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def builtins_in_expressions(x, a, b):
    return min(a, b) + max(a, b) + abs(a - b) + len(x) + float(int(a))


def numpy_alias(x):
    return xp.sum(x) + x.sum()


def methods_only(x):
    return x.sum() * 2.0


def local_named_np(x):
    np = 3.0
    return x.sum() * np


def clashing_names(x, exp_x, x_times_2):
    return xp.exp(x) + exp_x + x * 2 + x_times_2


def multiple_targets(x):
    a = b = x * 2.0
    c: float = a + 1.0
    return a + b + c


def docstring_and_pass(x):
    """A docstring, dropped."""
    y = x + 1.0
    if y > 0:
        pass
    else:
        y = -y
    return y


def keyword_only(x, *, scale=2.0, shift=1.0):
    return x * scale + shift


def scalar_loop_mix(a, n):
    s = a
    k = 0
    while k < n:
        k += 1
        if k % 2 == 0:
            continue
        s = s * 0.5 + (k if k > 2 else -k)
    return s


# -- mixes ---------------------------------------------------------------------------------------

def ret_while_in_for_continue(X):
    total = 0.0
    for i in range(X.shape[0]):
        if X[i, 0] < 0.2:
            continue
        j = 0
        while j < X.shape[1]:
            total += X[i, j]
            if total > 3.0:
                return total, i, j
            j += 1
        total *= 0.5
    return total, -1, -1


def break_in_else_elif(x):
    s = 0.0
    for v in x:
        if v < 0:
            s -= v
        elif v < 1:
            s += v
        else:
            s += 100.0
            break
        s *= 1.5
    return s


def ifexp_in_while_cond(x, n):
    i = 0
    s = 0.0
    while (x[i] if i < n else -1.0) > 0.0:
        s += x[i]
        i += 1
    return s, i


def nested_returns(a, b, x):
    if a > 0:
        if b > 0:
            return 1.0
        y = 2.0
    else:
        y = 3.0
    for v in x:
        if v > y:
            return v
    if b < -5:
        return -5.0
    return y


def swap_subscripts(x):
    y = x.copy()
    y[0], y[1] = y[1], y[0]
    z = y.copy()
    z[1], z[0] = z[:2]
    return y, z


def break_at_top(x):
    s = 0.0
    for v in x:
        s += v
        break
    for v in x:
        s += v
        if v > 0:
            continue
    return s


def implicit_none(x):
    if x > 0:
        return x


def misc_lazy(x, i, n, c):
    a = x[i] if i < n else 0.0
    b = i < n and x[i] > 0 or c
    s = 1.0
    s = s and (x[i] if i < n else 2.0)
    t = c
    t = (t > 0) or (x[i] < t if i < n else False)
    return a, b, s, t


def aug_complex(x):
    y = np.zeros(x.shape[0] + 1)
    for i in range(x.shape[0]):
        y[i + 1] += x[i] * 2
        y[i] -= y[i + 1] / 2
    return y


def while_continue_cond(x):
    i = 0
    s = 0.0
    while i < len(x):
        i += 1
        if x[i - 1] < 0:
            continue
        s += x[i - 1]
    return s


def loop_var_reassigned(n):
    s = 0
    for i in range(n):
        i = i * 2
        s += i
    for k, v in enumerate(range(n)):
        k = k + v
        s += k
    return s, i, k
