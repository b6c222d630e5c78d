"""Derive the erf coefficients of transpile/runtime/vector_math.py (needs mpmath).

Near zero, erf(a) = a + a Q(a^2) with Q the Taylor series of erf(a)/a - 1 in z = a^2, exact
coefficients, to degree 16 (below 1e-18 for a < 0.8). Beyond, erfcx(a) = erfc(a) exp(a^2) is
smooth in t = (a - 3) / (a + 3) (as Schonfelder's erfc series): a degree-14 Chebyshev fit on
a in [0.8, 6], against mpmath at 300 nodes, in u = (A a - B) / (a + 3), t rescaled to [-1, 1];
printed as the monomial coefficients of that series in u (converted exactly, then rounded: they
sum to 0.49 in magnitude where the series is 0.09 to 0.49, so the power form loses nothing and
evaluates in parallel). Prints the tuples to paste, highest degree first.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
NEAR_DEGREE, SPLIT, ONE, CENTER, TAIL_DEGREE = 16, 0.8, 6.0, 3.0, 14


def scaled_erfc(a):
    return mp.erfc(a) * mp.exp(a * a)


def tail_fit(nodes=300):
    """Chebyshev coefficients of erfcx in u, and the A, B of u = (A a - B) / (a + CENTER)."""
    t_lo, t_hi = (SPLIT - CENTER) / (SPLIT + CENTER), (ONE - CENTER) / (ONE + CENTER)
    middle, half = (t_lo + t_hi) / 2, (t_hi - t_lo) / 2
    u = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    t = [mp.mpf(middle) + mp.mpf(half) * mp.mpf(float(v)) for v in u]
    y = np.array([float(scaled_erfc(CENTER * (1 + v) / (1 - v))) for v in t])
    return np.polynomial.chebyshev.chebfit(u, y, TAIL_DEGREE), (1 - middle) / half, CENTER * (1 + middle) / half


def monomial(chebyshev):
    """The power-series coefficients of sum c_k T_k(u), lowest first, summed exactly."""
    power_forms = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    while len(power_forms) < len(chebyshev):
        previous, before = power_forms[-1], power_forms[-2]
        power_forms.append([2 * c for c in [mp.mpf(0)] + previous])
        for i, c in enumerate(before):
            power_forms[-1][i] -= c
    total = [mp.mpf(0)] * len(chebyshev)
    for c, form in zip(chebyshev, power_forms):
        for i, term in enumerate(form):
            total[i] += mp.mpf(float(c)) * term
    return [float(t) for t in total]


def main():
    near = [float(2 / mp.sqrt(mp.pi) * (-1) ** n / (mp.factorial(n) * (2 * n + 1)) - (n == 0))
            for n in range(NEAR_DEGREE, -1, -1)]
    print("ERF_NEAR_ZERO =", tuple(near))
    coefficients, a, b = tail_fit()
    print("ERFC_TAIL =", tuple(monomial(coefficients)[::-1]))
    print("ERFC_TAIL_A, ERFC_TAIL_B =", a, b)


if __name__ == "__main__":
    main()
