"""A script run as __main__ whose function is transformed (used by test_foundation)."""
import sys

import numpy as np

import transpile as tp


def cube_sum(x):
    total = 0.0
    for i in range(len(x)):
        total += x[i] ** 3
    return total


if __name__ == "__main__":
    gradient = tp.jit(tp.grad(cube_sum))
    g = gradient(np.array([1.0, 2.0]))
    stats = gradient.cache_info()
    sys.stdout.write(f"{g[0]} {g[1]} {stats['module_from_cache']} {stats['numba_cache_hits']} "
                     f"{stats['numba_cache_misses']}\n")
