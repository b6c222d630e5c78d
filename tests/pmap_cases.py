"""Functions that tests/test_pmap.py runs as shards: each is written for one shard, as in JAX's
pmap, and uses the collectives over the axis "i". `reference` runs a function the slow, obvious
way (one Python thread per shard, collectives meeting at a barrier), without pmap's code."""
import threading
from dataclasses import dataclass
from unittest import mock

import numpy as np

import transpile as tp

AXIS = "i"


# -- helpers called by the cases -----------------------------------------------------------------

def squared_error(w, x, y):
    r = x @ w - y
    return np.sum(r * r)


def smooth(v):
    return np.tanh(v) + 0.1 * v


# -- the cases: one shard's code ------------------------------------------------------------------

def no_collective(x, w):
    return np.sin(x) * w


def psum_of_total(x):
    s = np.sum(x * x)
    return x / tp.psum(s, AXIS)


def pmean_of_vector(x):
    return x - tp.pmean(x, AXIS)


def pmax_scalar(x):
    top = tp.pmax(np.max(x), AXIS)
    return np.exp(x - top)


def pmin_vector(x):
    low = tp.pmin(x, AXIS)
    return (x - low) ** 2


def gather_and_center(x):
    everyone = tp.all_gather(x, AXIS)
    return x - np.mean(everyone, axis=0)


def index_scaled(x):
    k = tp.axis_index(AXIS)
    return x * (k + 1.0)


def scatter_rows(v):
    return tp.psum_scatter(v, AXIS)


def softmax_across_shards(x):
    e = np.exp(x)
    return e / tp.psum(np.sum(e), AXIS)


def loop_then_psum(x):
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j] * (j + 1)
    return acc / tp.psum(acc * acc, AXIS)


def branch_then_pmax(x):
    s = np.sum(x)
    if s > 0:
        m = s * 2.0
    else:
        m = -s
    return m / tp.pmax(m, AXIS)


def two_collectives(x):
    total = tp.psum(x, AXIS)
    centered = x - total / 3.0
    return centered * tp.pmean(np.sum(centered * centered), AXIS)


def writes_then_psum(x):
    y = np.zeros_like(x)
    for j in range(x.shape[0]):
        y[j] = x[j] * x[j]
    y[0] = 1.0
    return y + tp.psum(y, AXIS)


def helper_then_psum(x):
    v = smooth(x)
    return v / tp.psum(np.sum(v), AXIS)


def tuple_result(x):
    s = tp.psum(np.sum(x), AXIS)
    return x * s, s


def scalar_parameter(x, scale):
    return x * scale + tp.psum(x, AXIS) * scale


def dict_parameters(params, x, y):
    pred = x @ params["w"] + params["b"]
    return tp.pmean(np.sum((pred - y) ** 2), AXIS)


def grad_inside(w, x, y):
    g = tp.grad(squared_error)(w, x, y)
    return w - 0.1 * tp.pmean(g, AXIS)


def gather_matrix(x):
    everyone = tp.all_gather(x, AXIS)
    return everyone @ x


def index_and_psum(x):
    k = tp.axis_index(AXIS)
    weight = 1.0 / (k + 1.0)
    return x * weight / tp.psum(weight, AXIS)


def constant_psum(x):
    count = tp.psum(1.0, AXIS)
    return x / count


def integer_data(x, labels):
    hits = tp.psum(np.sum(labels), AXIS)
    return x * hits


# -- which arguments each case gets: a builder of the arguments for n shards, and in_axes ----------

@dataclass
class Case:
    fn: object
    make: object          # (rng, n) -> args
    in_axes: object = 0
    out_axes: object = 0


def _rows(d):
    return lambda rng, n: (rng.normal(size=(n, d)),)


CASES = [
    Case(no_collective, lambda rng, n: (rng.normal(size=(n, 3)), rng.normal(size=3)), in_axes=(0, None)),
    Case(psum_of_total, _rows(4)),
    Case(pmean_of_vector, _rows(3)),
    Case(pmax_scalar, _rows(5)),
    Case(pmin_vector, _rows(2)),
    Case(gather_and_center, _rows(3)),
    Case(index_scaled, _rows(2)),
    Case(scatter_rows, lambda rng, n: (rng.normal(size=(n, n)),)),
    Case(softmax_across_shards, _rows(4)),
    Case(loop_then_psum, _rows(4)),
    Case(branch_then_pmax, _rows(3)),
    Case(two_collectives, _rows(3)),
    Case(writes_then_psum, _rows(3)),
    Case(helper_then_psum, _rows(4)),
    Case(tuple_result, _rows(3), out_axes=(0, None)),
    Case(scalar_parameter, lambda rng, n: (rng.normal(size=(n, 2)), 1.5), in_axes=(0, None)),
    Case(dict_parameters, lambda rng, n: ({"w": rng.normal(size=3), "b": 0.3}, rng.normal(size=(n, 5, 3)),
                                          rng.normal(size=(n, 5))), in_axes=(None, 0, 0)),
    Case(grad_inside, lambda rng, n: (rng.normal(size=3), rng.normal(size=(n, 4, 3)), rng.normal(size=(n, 4))),
         in_axes=(None, 0, 0)),
    Case(gather_matrix, lambda rng, n: (rng.normal(size=(n, 2)),)),
    Case(index_and_psum, _rows(2)),
    Case(constant_psum, _rows(3)),
    Case(integer_data, lambda rng, n: (rng.normal(size=(n, 2)), rng.integers(0, 5, size=(n, 3))), in_axes=(0, 0)),
]


# -- the reference: one thread per shard ------------------------------------------------------------

class _Meeting:
    """Shards meet at each collective: each leaves its value, all read everyone's, all move on."""

    def __init__(self, n):
        self.n = n
        self.slots = [None] * n
        self.barrier = threading.Barrier(n)
        self.local = threading.local()

    def exchange(self, value):
        k = self.local.index
        self.slots[k] = np.asarray(value, dtype=float) if not isinstance(value, np.ndarray) else value
        self.barrier.wait()
        everyone = np.stack(self.slots)
        self.barrier.wait()
        return k, everyone

    def psum(self, x, axis_name):
        return self.exchange(x)[1].sum(axis=0)

    def pmean(self, x, axis_name):
        return self.exchange(x)[1].mean(axis=0)

    def pmax(self, x, axis_name):
        return self.exchange(x)[1].max(axis=0)

    def pmin(self, x, axis_name):
        return self.exchange(x)[1].min(axis=0)

    def all_gather(self, x, axis_name):
        return self.exchange(x)[1]

    def psum_scatter(self, x, axis_name):
        k, everyone = self.exchange(x)
        return everyone.sum(axis=0)[k]

    def axis_index(self, axis_name):
        return self.local.index


def _shard_args(args, in_axes, k):
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    return [a if axis is None else np.take(a, k, axis=axis) for a, axis in zip(args, axes)]


def reference(fn, args, in_axes=0, n=None):
    """fn's result on every shard, stacked (tuples of results stacked entry by entry)."""
    meeting = _Meeting(n)
    results, errors = [None] * n, []

    def shard(k):
        meeting.local.index = k
        try:
            results[k] = fn(*_shard_args(args, in_axes, k))
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
            meeting.barrier.abort()

    names = ["psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter", "axis_index"]
    with mock.patch.multiple(tp, **{name: getattr(meeting, name) for name in names}):
        threads = [threading.Thread(target=shard, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    if isinstance(results[0], tuple):
        return tuple(np.stack([r[j] for r in results]) for j in range(len(results[0])))
    return np.stack(results)
