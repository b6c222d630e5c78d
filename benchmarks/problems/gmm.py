"""ADBench GMM: log-posterior of a Gaussian mixture and its gradient w.r.t. (alphas, means, icf).

Exactly ADBench's definition (src/cpp/shared/gmm.h and the PyTorch module): component k has
log-weight alphas[k], mean means[k] and inverse-covariance factor icf[k]: its first d entries are
the log of the diagonal of a lower-triangular L_k, the rest its strict lower triangle column by
column. With x_c = x_i - means[k], main[i, k] = alphas[k] + sum(icf[k, :d]) - |L_k x_c|^2 / 2 and

    f = -n d/2 log(2 pi) + sum_i logsumexp_k main[i, k] - n logsumexp(alphas) + wishart prior,

the prior (gamma = 1, m = 0) being sum_k gamma^2/2 |L_k|_F^2 - m sum(icf[k, :d]) - K C(d, gamma, m).
Data as ADBench's generator: alphas, icf and x standard normal, means uniform on [0, 1).
"""
import math

import numba
import numpy as np

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")
jax_special = LazyModule("jax.scipy.special")
torch = LazyModule("torch")
anp = LazyModule("autograd.numpy")
autograd = LazyModule("autograd")
autograd_special = LazyModule("autograd.scipy.special")

TITLE = "ADBench GMM: objective and gradient w.r.t. (alphas, means, icf)"
WISHART_GAMMA = 1.0
WISHART_M = 0
ARGNUMS = (0, 1, 2)


# ---- the user's function, plain Python/NumPy: what transpile consumes -------------------------

def log_gamma_distrib(a, p):
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    n, d = x.shape
    k = alphas.shape[0]
    main_term = np.zeros((n, k))
    prior = 0.0
    for ik in range(k):
        log_diag = icf[ik, :d]
        q_diag = np.exp(log_diag)
        L = np.zeros((d, d))
        idx = d
        for i in range(d):
            L[i, i] = q_diag[i]
            for j in range(i + 1, d):
                L[j, i] = icf[ik, idx]
                idx += 1
        qx = (x - means[ik]) @ L.T
        main_term[:, ik] = alphas[ik] + np.sum(log_diag) - 0.5 * np.sum(qx * qx, axis=1)
        frobenius = np.sum(q_diag * q_diag) + np.sum(icf[ik, d:] ** 2)
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * np.sum(log_diag)
    mx = np.max(main_term, axis=1)
    slse = np.sum(mx + np.log(np.sum(np.exp(main_term - mx.reshape(n, 1)), axis=1)))
    ma = np.max(alphas)
    lse_alphas = ma + np.log(np.sum(np.exp(alphas - ma)))
    n_w = d + wishart_m + 1
    c = n_w * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma_distrib(0.5 * n_w, d)
    return -n * d * 0.5 * math.log(2.0 * math.pi) + slse - n * lse_alphas + prior - k * c


# ---- sizes and data -----------------------------------------------------------------------------

def sizes(quick):
    all_sizes = [(2, 5, 1000), (10, 25, 1000), (64, 100, 10000)]
    chosen = all_sizes[:1] if quick else all_sizes
    # work: the products L x cost n K d^2, the elementwise terms n K d (weighted as observed)
    return [Size(f"d={d},K={k},n={n}", n * k * d * (d + 8), {"d": d, "k": k, "n": n}) for d, k, n in chosen]


def check_sizes():
    return [Size("d=4,K=3,n=20", 0, {"d": 4, "k": 3, "n": 20})]


def make_args(size):
    d, k, n = size.params["d"], size.params["k"], size.params["n"]
    rng = np.random.default_rng(0)
    alphas = rng.standard_normal(k)
    means = rng.uniform(0.0, 1.0, (k, d))
    icf = rng.standard_normal((k, d + d * (d - 1) // 2))
    x = rng.standard_normal((n, d))
    return alphas, means, icf, x, WISHART_GAMMA, WISHART_M



def plain_primal(args):
    return gmm_objective(*args)


# ---- hand-written Numba primal and adjoint ------------------------------------------------------
# Per component, with dense matrix products (BLAS through np.dot): Y = Xc L^T for all points at
# once. Pass 1 computes main[:, k]; pass 2 recomputes Y (cheaper than keeping n*K*d values) and
# back-propagates the softmax weights W[i, k] = exp(main[i, k] - lse_i):
#   dY = -W[:, k] * Y,  dL = dY^T Xc (lower part),  d means[k] = -(sum_i dY[i]) L.

@numba.njit(cache=True)
def _lower(icf_k, d):
    """Dense L_k: diagonal exp(icf_k[:d]), strict lower triangle from icf_k[d:] column by column."""
    L = np.zeros((d, d))
    idx = d
    for c in range(d):
        L[c, c] = math.exp(icf_k[c])
        for r in range(c + 1, d):
            L[r, c] = icf_k[idx]
            idx += 1
    return L


@numba.njit(cache=True)
def _project(x, mean, L, xc, y):
    """xc = x - mean and y = xc L^T, in the given (n, d) buffers."""
    n, d = x.shape
    for i in range(n):
        for r in range(d):
            xc[i, r] = x[i, r] - mean[r]
    np.dot(xc, L.T, y)


@numba.njit(cache=True)
def _main_terms(alphas, means, icf, x, xc, y):
    n, d = x.shape
    k = alphas.shape[0]
    main = np.empty((n, k))
    for ik in range(k):
        _project(x, means[ik], _lower(icf[ik], d), xc, y)
        offset = alphas[ik]
        for r in range(d):
            offset += icf[ik, r]
        for i in range(n):
            sq = 0.0
            for r in range(d):
                sq += y[i, r] * y[i, r]
            main[i, ik] = offset - 0.5 * sq
    return main


@numba.njit(cache=True)
def _logsumexp(v):
    mx = v[0]
    for j in range(1, v.shape[0]):
        mx = max(mx, v[j])
    s = 0.0
    for j in range(v.shape[0]):
        s += math.exp(v[j] - mx)
    return mx + math.log(s)


@numba.njit(cache=True)
def _constant(n, d, k, wishart_gamma, wishart_m):
    n_w = d + wishart_m + 1
    lgd = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        lgd += math.lgamma(0.5 * n_w + 0.5 * (1 - j))
    c = n_w * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - lgd
    return -n * d * 0.5 * math.log(2.0 * math.pi) - k * c


@numba.njit(cache=True)
def numba_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    n, d = x.shape
    k = alphas.shape[0]
    main = _main_terms(alphas, means, icf, x, np.empty((n, d)), np.empty((n, d)))
    slse = 0.0
    for i in range(n):
        slse += _logsumexp(main[i])
    prior = 0.0
    for ik in range(k):
        for r in range(d):
            prior += 0.5 * wishart_gamma**2 * math.exp(2.0 * icf[ik, r]) - wishart_m * icf[ik, r]
        for j in range(d, icf.shape[1]):
            prior += 0.5 * wishart_gamma**2 * icf[ik, j] ** 2
    return _constant(n, d, k, wishart_gamma, wishart_m) + slse - n * _logsumexp(alphas) + prior


@numba.njit(cache=True)
def numba_gradient(alphas, means, icf, x, wishart_gamma, wishart_m):
    n, d = x.shape
    k = alphas.shape[0]
    xc = np.empty((n, d))
    y = np.empty((n, d))
    d_l = np.empty((d, d))
    main = _main_terms(alphas, means, icf, x, xc, y)
    for i in range(n):  # main becomes the weights d slse / d main[i, k]: a softmax over k
        lse = _logsumexp(main[i])
        for ik in range(k):
            main[i, ik] = math.exp(main[i, ik] - lse)
    d_alphas = np.empty(k)
    lse_alphas = _logsumexp(alphas)
    d_means = np.zeros((k, d))
    d_icf = np.empty_like(icf)
    gamma2 = wishart_gamma * wishart_gamma
    for ik in range(k):
        L = _lower(icf[ik], d)
        _project(x, means[ik], L, xc, y)
        sum_w = 0.0
        sum_dy = np.zeros(d)
        for i in range(n):  # y becomes dY = -w Y
            w = main[i, ik]
            sum_w += w
            for r in range(d):
                y[i, r] *= -w
                sum_dy[r] += y[i, r]
        np.dot(y.T, xc, d_l)
        for r in range(d):  # d means[k] = -(sum_i dY[i]) L
            for c in range(r + 1):
                d_means[ik, c] -= sum_dy[r] * L[r, c]
        # d main[i, k] / d alphas[k] = 1 = d main[i, k] / d icf[k, r < d]
        d_alphas[ik] = sum_w - n * math.exp(alphas[ik] - lse_alphas)
        idx = d
        for c in range(d):
            d_icf[ik, c] = d_l[c, c] * L[c, c] + sum_w + gamma2 * L[c, c] * L[c, c] - wishart_m
            for r in range(c + 1, d):
                d_icf[ik, idx] = d_l[r, c] + gamma2 * icf[ik, idx]
                idx += 1
    return d_alphas, d_means, d_icf


def reference(args):
    return {"primal": numba_objective(*args), "grad": numba_gradient(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_gradient(*args), primal=lambda: numba_objective(*args))


# ---- transpile -----------------------------------------------------------------------------------

def transpile_builder(flush_subnormals=False):
    def build(size, args):
        import transpile as tp

        grad = tp.jit(tp.grad(gmm_objective, argnums=ARGNUMS), flush_subnormals=flush_subnormals)
        primal = tp.jit(gmm_objective, flush_subnormals=flush_subnormals)
        return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))
    return build


def build_numba_flushed(size, args):
    """The hand-written adjoint with subnormals flushed, as XLA runs JAX's code: at d=64 most
    softmax weights of far components underflow, and BLAS multiplies subnormals ~100x slower."""
    from transpile.backends.subnormals import flushing_subnormals

    grad, primal = flushing_subnormals(numba_gradient), flushing_subnormals(numba_objective)
    return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))


# ---- JAX, PyTorch and autograd: the same NumPy-style vectorised code, one array module each ----

def tril_gather_index(d):
    """(d, d) indices into [0, icf[k, d:]...]: 0 (a zero) above and on the diagonal, else 1 + the
    position of L[r, c] in the column-by-column strict lower triangle."""
    index = np.zeros((d, d), dtype=np.int64)
    position = 1
    for c in range(d):
        for r in range(c + 1, d):
            index[r, c] = position
            position += 1
    return index


def gmm_vectorised(xp, logsumexp, alphas, means, icf, x, constant, tril_index):
    n, d = x.shape
    k = alphas.shape[0]
    log_diag = icf[:, :d]
    q_diag = xp.exp(log_diag)
    padded = xp.concatenate([xp.zeros((k, 1)), icf[:, d:]], axis=1)
    lower = padded[:, tril_index]  # (k, d, d), strictly lower triangular
    xc = x[None, :, :] - means[:, None, :]  # (k, n, d)
    qx = q_diag[:, None, :] * xc + xc @ xp.swapaxes(lower, 1, 2)
    main = alphas[:, None] + xp.sum(log_diag, axis=1)[:, None] - 0.5 * xp.sum(qx * qx, axis=2)
    frobenius = xp.sum(q_diag * q_diag, axis=1) + xp.sum(icf[:, d:] ** 2, axis=1)
    prior = xp.sum(0.5 * WISHART_GAMMA**2 * frobenius - WISHART_M * xp.sum(log_diag, axis=1))
    return constant + xp.sum(logsumexp(main, 0)) - n * logsumexp(alphas, 0) + prior


def _vectorised_setup(args):
    alphas, means, icf, x, wishart_gamma, wishart_m = args
    n, d = x.shape
    constant = float(_constant(n, d, alphas.shape[0], wishart_gamma, wishart_m))
    return (alphas, means, icf, x), constant, tril_gather_index(d)


def build_jax(size, args):
    data, constant, index = _vectorised_setup(args)
    logsumexp = jax_special.logsumexp

    def f(alphas, means, icf, x):
        return gmm_vectorised(jnp, logsumexp, alphas, means, icf, x, constant, index)

    grad = jax.jit(jax.grad(f, argnums=ARGNUMS))
    primal = jax.jit(f)
    data = [jnp.asarray(a) for a in data]
    return Impl(grad=lambda: jax.block_until_ready(grad(*data)),
                primal=lambda: jax.block_until_ready(primal(*data)))


def build_torch(size, args):
    data, constant, index = _vectorised_setup(args)
    data = [torch.from_numpy(a) for a in data]
    index = torch.from_numpy(index)

    def f(alphas, means, icf, x):
        return gmm_vectorised(torch, lambda a, axis: torch.logsumexp(a, dim=axis),
                              alphas, means, icf, x, constant, index)

    def grad():
        params = [a.detach().requires_grad_() for a in data[:3]]
        return torch.autograd.grad(f(*params, data[3]), params)

    def primal():
        with torch.no_grad():
            return f(*data)

    return Impl(grad=grad, primal=primal)


def build_autograd(size, args):
    data, constant, index = _vectorised_setup(args)
    logsumexp = autograd_special.logsumexp

    def f(alphas, means, icf, x):
        return gmm_vectorised(anp, logsumexp, alphas, means, icf, x, constant, index)

    grad = autograd.grad(f, ARGNUMS)
    return Impl(grad=lambda: grad(*data), primal=lambda: f(*data))


def rows():
    return [
        Row("numba (hand-written)", "numba", build_numba),
        Row("transpile", "transpile", transpile_builder()),
        Row("transpile (flush_subnormals)", "transpile", transpile_builder(flush_subnormals=True)),
        Row("numba (hand-written, subnormals flushed)", "numba", build_numba_flushed),
        Row("jax", "jax", build_jax),
        Row("torch", "torch", build_torch),
        Row("autograd", "autograd", build_autograd),
    ]
