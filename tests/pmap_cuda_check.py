"""Run by tests/test_pmap.py on Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, a fresh process):
pmap(backend="cuda") must equal pmap on threads for scalar per-shard functions with collectives,
their gradients, and shard counts 1, 3 and 13. Prints one JSON line: the cases compared."""
import json
import math

import numpy as np

import transpile as tp


def scaled_log(s, k):
    d = math.log(s / k)
    total = tp.psum(d * d, "i")
    return d / math.sqrt(total) + tp.axis_index("i")


def softmax_weight(x):
    top = tp.pmax(x, "i")
    e = math.exp(x - top)
    return e / tp.psum(e, "i")


def centered_square(x):
    m = tp.pmean(x, "i")
    acc = 0.0
    for j in range(4):
        acc += (x - m) * (x - m) * (j + 1)
    return acc


def spread(x):
    m = tp.pmean(x, "i")
    return (x - m) ** 2 * math.sin(x)


def minimum_gap(x):
    low = tp.pmin(x, "i")
    if x > low:
        return x - low
    return 0.5 * x


CASES = {
    "psum and axis_index": (scaled_log, (0, None), lambda rng, n: (rng.uniform(80, 120, n), 100.0)),
    "pmax and psum": (softmax_weight, 0, lambda rng, n: (rng.normal(size=n),)),
    "pmean and a loop": (centered_square, 0, lambda rng, n: (rng.normal(size=n),)),
    "pmin and a branch": (minimum_gap, 0, lambda rng, n: (rng.uniform(1, 2, n),)),
    "grad through psum": (tp.grad(scaled_log), (0, None), lambda rng, n: (rng.uniform(80, 120, n), 100.0)),
    "grad through pmean": (tp.grad(spread), 0, lambda rng, n: (rng.normal(size=n),)),
}


def main():
    compared = []
    for name, (fn, in_axes, make) in CASES.items():
        gpu = tp.pmap(fn, axis_name="i", in_axes=in_axes, backend="cuda")
        cpu = tp.pmap(fn, axis_name="i", in_axes=in_axes, backend="threads")
        for n in (1, 3, 13):
            args = make(np.random.default_rng(n), n)
            np.testing.assert_allclose(gpu(*args), cpu(*args), rtol=1e-12, atol=1e-12, err_msg=f"{name}, {n} shards")
            compared.append(f"{name}/{n}")
    print(json.dumps(compared))


if __name__ == "__main__":
    main()
