"""Black-Scholes call price, delta and vega for a million options.

call_price is written for one option with `math` (the normal CDF through math.erf); the tools map
value_and_grad w.r.t. (spot, vol) over the options: vmap(value_and_grad(call_price, (0, 4))),
with the rate shared. The hand-written Numba version uses the closed forms
delta = N(d1) and vega = spot phi(d1) sqrt(T).
"""
import functools
import math

import numba
import numpy as np

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")
jax_special = LazyModule("jax.scipy.special")
torch = LazyModule("torch")
torch_func = LazyModule("torch.func")
anp = LazyModule("autograd.numpy")
autograd = LazyModule("autograd")
autograd_special = LazyModule("autograd.scipy.special")

TITLE = "Black-Scholes call price, delta and vega"
ARGNUMS = (0, 4)  # spot, vol
VALUE_AND_GRAD = True
IN_AXES = (0, 0, 0, None, 0)
SQRT2 = math.sqrt(2.0)


# ---- the user's function, plain Python: what transpile consumes ------------------------------

def norm_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def call_price(spot, strike, maturity, rate, vol):
    sqrt_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return spot * norm_cdf(d1) - strike * math.exp(-rate * maturity) * norm_cdf(d2)


# ---- sizes and data -----------------------------------------------------------------------------

def sizes(quick):
    n = 100_000 if quick else 1_000_000
    return [Size(f"{n:,} options", n, {"n": n})]


def check_sizes():
    return [Size("50 options", 0, {"n": 50})]


def make_args(size):
    n = size.params["n"]
    rng = np.random.default_rng(0)
    spot = rng.uniform(80.0, 120.0, n)
    strike = rng.uniform(80.0, 120.0, n)
    maturity = rng.uniform(0.25, 2.0, n)
    vol = rng.uniform(0.1, 0.5, n)
    return spot, strike, maturity, 0.02, vol


def plain_primal(args):
    spot, strike, maturity, rate, vol = args
    return np.array([call_price(spot[i], strike[i], maturity[i], rate, vol[i]) for i in range(len(spot))])


# ---- hand-written Numba: closed-form Greeks -----------------------------------------------------

@numba.njit(cache=True)
def numba_prices(spot, strike, maturity, rate, vol):
    out = np.empty_like(spot)
    for i in range(spot.shape[0]):
        sqrt_t = math.sqrt(maturity[i])
        d1 = (math.log(spot[i] / strike[i]) + (rate + 0.5 * vol[i] ** 2) * maturity[i]) / (vol[i] * sqrt_t)
        d2 = d1 - vol[i] * sqrt_t
        out[i] = (spot[i] * 0.5 * (1.0 + math.erf(d1 / SQRT2))
                  - strike[i] * math.exp(-rate * maturity[i]) * 0.5 * (1.0 + math.erf(d2 / SQRT2)))
    return out


@numba.njit(cache=True)
def numba_price_delta_vega(spot, strike, maturity, rate, vol):
    price = np.empty_like(spot)
    delta = np.empty_like(spot)
    vega = np.empty_like(spot)
    for i in range(spot.shape[0]):
        sqrt_t = math.sqrt(maturity[i])
        d1 = (math.log(spot[i] / strike[i]) + (rate + 0.5 * vol[i] ** 2) * maturity[i]) / (vol[i] * sqrt_t)
        d2 = d1 - vol[i] * sqrt_t
        cdf1 = 0.5 * (1.0 + math.erf(d1 / SQRT2))
        price[i] = spot[i] * cdf1 - strike[i] * math.exp(-rate * maturity[i]) * 0.5 * (1.0 + math.erf(d2 / SQRT2))
        delta[i] = cdf1
        vega[i] = spot[i] * math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) * sqrt_t
    return price, (delta, vega)


@numba.njit(cache=True, parallel=True)
def numba_price_delta_vega_parallel(spot, strike, maturity, rate, vol):
    price = np.empty_like(spot)
    delta = np.empty_like(spot)
    vega = np.empty_like(spot)
    for i in numba.prange(spot.shape[0]):
        sqrt_t = math.sqrt(maturity[i])
        d1 = (math.log(spot[i] / strike[i]) + (rate + 0.5 * vol[i] ** 2) * maturity[i]) / (vol[i] * sqrt_t)
        d2 = d1 - vol[i] * sqrt_t
        cdf1 = 0.5 * (1.0 + math.erf(d1 / SQRT2))
        price[i] = spot[i] * cdf1 - strike[i] * math.exp(-rate * maturity[i]) * 0.5 * (1.0 + math.erf(d2 / SQRT2))
        delta[i] = cdf1
        vega[i] = spot[i] * math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) * sqrt_t
    return price, (delta, vega)


def reference(args):
    return {"primal": numba_prices(*args), "grad": numba_price_delta_vega(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_price_delta_vega(*args), primal=lambda: numba_prices(*args))


def build_numba_parallel(size, args):
    return Impl(grad=lambda: numba_price_delta_vega_parallel(*args))


# ---- transpile: both vmap strategies, serial and with jit(parallel=True) -------------------------

def transpile_builder(method, parallel=False):
    def build(size, args):
        import transpile as tp

        greeks = tp.vmap(tp.value_and_grad(call_price, argnums=ARGNUMS), in_axes=IN_AXES, method=method)
        grad = tp.jit(greeks, parallel=parallel)
        primal = tp.jit(tp.vmap(call_price, in_axes=IN_AXES, method=method), parallel=parallel)
        return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))
    return build


# ---- JAX, torch.func and autograd: the same function over each library's array module -------

def call_price_xp(xp, erf, spot, strike, maturity, rate, vol):
    sqrt_t = xp.sqrt(maturity)
    d1 = (xp.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return (spot * 0.5 * (1.0 + erf(d1 / SQRT2))
            - strike * xp.exp(-rate * maturity) * 0.5 * (1.0 + erf(d2 / SQRT2)))


def build_jax(size, args):
    f = functools.partial(call_price_xp, jnp, jax_special.erf)
    grad = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=ARGNUMS), in_axes=IN_AXES))
    primal = jax.jit(jax.vmap(f, in_axes=IN_AXES))
    data = [jnp.asarray(a) for a in args]
    return Impl(grad=lambda: jax.block_until_ready(grad(*data)),
                primal=lambda: jax.block_until_ready(primal(*data)))


def build_torch(size, args):
    f = functools.partial(call_price_xp, torch, torch.erf)
    grad_and_value = torch_func.vmap(torch_func.grad_and_value(f, argnums=ARGNUMS), in_dims=IN_AXES)
    primal = torch_func.vmap(f, in_dims=IN_AXES)
    spot, strike, maturity, rate, vol = args
    data = [torch.from_numpy(spot), torch.from_numpy(strike), torch.from_numpy(maturity), rate,
            torch.from_numpy(vol)]

    def grad():
        grads, value = grad_and_value(*data)
        return value, grads

    return Impl(grad=grad, primal=lambda: primal(*data))


def build_autograd(size, args):
    """autograd has no vmap; the price is elementwise, so one vector-Jacobian product with a
    vector of ones gives every option's delta and vega."""
    f = functools.partial(call_price_xp, anp, autograd_special.erf)
    make_vjp = autograd.make_vjp(f, ARGNUMS)

    def grad():
        vjp, value = make_vjp(*args)
        return value, vjp(np.ones_like(value))

    return Impl(grad=grad, primal=lambda: f(*args))


def rows():
    return [
        Row("numba (hand-written)", "numba", build_numba),
        Row("transpile (vectorize)", "transpile", transpile_builder("vectorize")),
        Row("transpile (loop)", "transpile", transpile_builder("loop")),
        Row("transpile (vectorize, parallel)", "transpile", transpile_builder("vectorize", parallel=True)),
        Row("transpile (loop, parallel)", "transpile", transpile_builder("loop", parallel=True)),
        Row("numba (hand-written, prange)", "numba", build_numba_parallel),
        Row("jax", "jax", build_jax),
        Row("torch (torch.func)", "torch", build_torch),
        Row("autograd (elementwise vjp)", "autograd", build_autograd),
    ]
