"""Data-parallel training with tp.pmap: each shard holds part of every batch, computes its
gradient, and the shards average their gradients with tp.pmean before the update, so every
shard keeps the same parameters (JAX's classic pmap training loop).

Run on the cores of this machine (threads):   python samples/data_parallel.py
Run on MPI ranks (here or across machines):    mpiexec -n 2 python samples/data_parallel.py --backend mpi
"""
import argparse

import numpy as np

import transpile as tp


def loss(w1, b1, w2, b2, x, y):
    """Binary cross-entropy of a one-hidden-layer network on one shard's examples."""
    h = np.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def train_step(w1, b1, w2, b2, x, y, lr):
    """One gradient step; the gradient and loss are averaged over all shards."""
    value, (g1, gb1, g2, gb2) = tp.value_and_grad(loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)
    g1 = tp.pmean(g1, "shards")
    gb1 = tp.pmean(gb1, "shards")
    g2 = tp.pmean(g2, "shards")
    gb2 = tp.pmean(gb2, "shards")
    mean_loss = tp.pmean(value, "shards")
    return w1 - lr * g1, b1 - lr * gb1, w2 - lr * g2, b2 - lr * gb2, mean_loss


def make_data(shards, per_shard, d=8, seed=0):
    """A two-class problem with a curved boundary, split into `shards` equal parts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(shards * per_shard, d))
    y = (np.sin(2.0 * x[:, 0]) + x[:, 1] ** 2 - 1.0 > 0).astype(np.float64)
    return x.reshape(shards, per_shard, d), y.reshape(shards, per_shard)


def init_params(d=8, hidden=16, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(d, hidden)) / np.sqrt(d), np.zeros(hidden),
            rng.normal(size=hidden) / np.sqrt(hidden), 0.0)


def main(steps=200, shards=4, per_shard=500, lr=1.0, backend="threads", verbose=True):
    """Train; returns (loss per step, final accuracy). Under MPI every rank gets the same."""
    step = tp.pmap(train_step, axis_name="shards", in_axes=(None, None, None, None, 0, 0, None),
                   out_axes=None, backend=backend)
    x, y = make_data(shards, per_shard)
    w1, b1, w2, b2 = init_params()
    losses = []
    for k in range(steps):
        w1, b1, w2, b2, value = step(w1, b1, w2, b2, x, y, lr)
        losses.append(float(value))
        if verbose and (k % max(1, steps // 10) == 0 or k == steps - 1):
            print(f"step {k:4d}  loss {value:.6f}")
    xs, ys = x.reshape(-1, x.shape[-1]), y.reshape(-1)
    accuracy = float(np.mean(((np.tanh(xs @ w1 + b1) @ w2 + b2) > 0) == (ys > 0.5)))
    if verbose:
        print(f"final accuracy {accuracy:.3f} on {shards} shards ({backend})")
    return losses, accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="threads", choices=["threads", "mpi"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--shards", type=int, default=4)
    options = parser.parse_args()
    rank = 0
    if options.backend == "mpi":
        from mpi4py import MPI
        rank = MPI.COMM_WORLD.Get_rank()
    main(options.steps, options.shards, backend=options.backend, verbose=rank == 0)
