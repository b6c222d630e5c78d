"""Matrix products of a cotangent whose rows underflowed, without x86's subnormal slowdown.

A cotangent scaled row by row by softmax weights (the GMM's exp(main - logsumexp)) has whole rows
of subnormal numbers where a weight underflowed. x86 multiplies those through microcode assists,
about 100 times slower: one such product took 9.8 ms instead of 2.0 ms with 3% of its entries
subnormal. Rows whose entries are all tiny are multiplied scaled up by 2^600 (exact: a power of
two) and the result scaled back, so no flush-to-zero happens: the values are those of IEEE
arithmetic up to rounding (slightly more accurate where IEEE loses bits to gradual underflow).
The other rows go through BLAS with the tiny ones cleared. Compiled code only, float64 only.
"""
import numpy as np
from numba.extending import register_jitable

TINY = 2.0 ** -960       # a row whose largest magnitude is below this makes subnormal products
LIFT = 2.0 ** 600        # brings such a row up to at most 2^-360: no overflow, no rounding
DROP = 2.0 ** -600
MANTISSA = (1 << 52) - 1
SUBNORMAL_LIFTED = 2.0 ** -474   # a subnormal's mantissa bits m stand for m 2^-1074, lifted m 2^-474


@register_jitable
def _is_tiny(v, i):
    """Row i is nonzero and all its magnitudes are below TINY. Comparisons and abs take no
    assists; a row with a large first entry is decided there."""
    nonzero = False
    for j in range(v.shape[1]):
        magnitude = abs(v[i, j])
        if magnitude >= TINY:
            return False
        nonzero = nonzero or magnitude > 0.0
    return nonzero


@register_jitable
def first_tiny_row(v):
    """The index of v's first tiny row, -1 where there is none (the common case allocates nothing)."""
    for i in range(v.shape[0]):
        if _is_tiny(v, i):
            return i
    return -1


@register_jitable
def tiny_rows(v, first=0):
    """Indices of v's tiny rows (see _is_tiny) from row `first` on."""
    found = np.empty(v.shape[0], dtype=np.int64)
    count = 0
    for i in range(first, v.shape[0]):
        if _is_tiny(v, i):
            found[count] = i
            count += 1
    return found[:count]


@register_jitable
def _lifted(bits, value):
    """value * LIFT without arithmetic on a subnormal (each would take a microcode assist): a
    subnormal's mantissa, converted exactly, times a normal power of two."""
    if (bits >> 52) & 0x7FF:
        return value * LIFT
    magnitude = float(bits & MANTISSA) * SUBNORMAL_LIFTED
    return -magnitude if bits < 0 else magnitude


@register_jitable
def _split(v, tiny):
    """(v with the tiny rows zeroed, those rows scaled up by LIFT)."""
    cleared = v.copy()
    bits = cleared.view(np.int64)
    lifted = np.empty((tiny.size, v.shape[1]))
    for t in range(tiny.size):
        row = tiny[t]
        for j in range(v.shape[1]):
            lifted[t, j] = _lifted(bits[row, j], cleared[row, j])
            cleared[row, j] = 0.0
    return cleared, lifted


@register_jitable
def dot_lifting_rows(v, m):
    """np.dot(v, m): each row of the result comes from one row of v."""
    first = first_tiny_row(v)
    if first < 0:
        return np.dot(v, m)
    tiny = tiny_rows(v, first)
    cleared, lifted = _split(v, tiny)
    out = np.dot(cleared, m)
    rows = np.dot(lifted, m)
    for t in range(tiny.size):
        for j in range(out.shape[1]):
            out[tiny[t], j] = rows[t, j] * DROP
    return out


@register_jitable
def dot_summing_lifted_rows(a, v):
    """np.dot(a.T, v): the result sums over the rows of a and v."""
    first = first_tiny_row(v)
    if first < 0:
        return np.dot(a.T, v)
    tiny = tiny_rows(v, first)
    picked = np.empty((tiny.size, a.shape[1]))
    for t in range(tiny.size):
        for j in range(a.shape[1]):
            picked[t, j] = a[tiny[t], j]
            if not np.isfinite(picked[t, j]):
                return np.dot(a.T, v)   # inf times a cleared row would be nan, not IEEE's inf
    cleared, lifted = _split(v, tiny)
    out = np.dot(a.T, cleared)
    out += np.dot(picked.T, lifted) * DROP
    return out
