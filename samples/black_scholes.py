"""Black-Scholes greeks by automatic differentiation of a scalar pricing function.

`price` prices ONE European call with plain `math` (the normal CDF through math.erf).
tp.grad(price, argnums=(0, 3)) gives (delta, vega) = (dC/dS, dC/dsigma) of one option;
tp.vmap(tp.grad(price, argnums=...)) batches a greek over arrays of options and tp.jit compiles the
batch loop. The results are checked against the
closed forms delta = N(d1) and vega = S phi(d1) sqrt(T).

Run: python samples/black_scholes.py
"""
import math
import time

import numpy as np

import transpile as tp


def norm_cdf(x):
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def price(spot, strike, rate, vol, maturity):
    """Black-Scholes price of a European call (all arguments scalars)."""
    sqrt_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return spot * norm_cdf(d1) - strike * math.exp(-rate * maturity) * norm_cdf(d2)


# (delta, vega) of a single option: a tuple of gradients, one per argnum.
delta_vega = tp.jit(tp.grad(price, argnums=(0, 3)))
# Batched over arrays of options. One vmap per greek: vmap of the tuple-valued
# tp.grad(price, argnums=(0, 3)) does not work yet (its batch loop cannot store a tuple).
batched_delta = tp.jit(tp.vmap(tp.grad(price, argnums=0)))
batched_vega = tp.jit(tp.vmap(tp.grad(price, argnums=3)))
batched_price = tp.jit(tp.vmap(price))


def greeks(spot, strike, rate, vol, maturity):
    """(delta, vega) arrays for arrays of options."""
    return (batched_delta(spot, strike, rate, vol, maturity),
            batched_vega(spot, strike, rate, vol, maturity))


def closed_form_greeks(spot, strike, rate, vol, maturity):
    """Vectorised NumPy reference: delta = N(d1), vega = S phi(d1) sqrt(T)."""
    erf_v = np.vectorize(math.erf)
    sqrt_t = np.sqrt(maturity)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol ** 2) * maturity) / (vol * sqrt_t)
    delta = 0.5 * (1.0 + erf_v(d1 / np.sqrt(2.0)))
    vega = spot * np.exp(-0.5 * d1 ** 2) / np.sqrt(2.0 * np.pi) * sqrt_t
    return delta, vega


def make_options(n, seed=0):
    rng = np.random.default_rng(seed)
    spot = rng.uniform(50.0, 150.0, n)
    strike = rng.uniform(60.0, 140.0, n)
    rate = rng.uniform(0.0, 0.08, n)
    vol = rng.uniform(0.1, 0.6, n)
    maturity = rng.uniform(0.1, 3.0, n)
    return spot, strike, rate, vol, maturity


def main(n=1_000_000, check=20_000, seed=0, verbose=True):
    options = make_options(n, seed)
    one_delta, one_vega = delta_vega(*(float(a[0]) for a in options))
    start = time.perf_counter()
    greeks(*(a[:2] for a in options))                    # generate + compile (or load from cache)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    delta, vega = greeks(*options)
    greeks_s = time.perf_counter() - start
    value = batched_price(*options)
    assert abs(one_delta - delta[0]) < 1e-12 and abs(one_vega - vega[0]) < 1e-9

    m = min(check, n)
    ref_delta, ref_vega = closed_form_greeks(*(a[:m] for a in options))
    err_delta = float(np.max(np.abs(delta[:m] - ref_delta)))
    err_vega = float(np.max(np.abs(vega[:m] - ref_vega) / np.maximum(1.0, np.abs(ref_vega))))
    if verbose:
        print("    spot   strike  rate   vol    T     price     delta    N(d1)     vega   S phi(d1) sqrt(T)")
        for i in range(5):
            s, k, r, v, t = (a[i] for a in options)
            print(f"{s:8.2f} {k:8.2f} {r:5.3f} {v:5.3f} {t:5.2f} {value[i]:9.4f} {delta[i]:9.6f} "
                  f"{ref_delta[i]:9.6f} {vega[i]:9.4f} {ref_vega[i]:9.4f}")
        print(f"max |delta - N(d1)| = {err_delta:.2e}, max rel |vega - closed form| = {err_vega:.2e} "
              f"(first {m} options)")
        print(f"delta and vega of {n:,} options: {greeks_s:.3f} s "
              f"({greeks_s / n * 1e9:.0f} ns per option); first call {compile_s:.2f} s")
    return {"delta": delta, "vega": vega, "price": value, "err_delta": err_delta,
            "err_vega": err_vega, "seconds": greeks_s}


if __name__ == "__main__":
    main()
