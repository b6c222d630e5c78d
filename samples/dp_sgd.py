"""Differentially private SGD (DP-SGD style) for logistic regression with per-example gradients.

tp.jit(tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))) computes the gradient of every example of a
minibatch separately; each one is clipped to norm C, the clipped gradients are averaged and
Gaussian noise of scale sigma * C / batch is added before the step (Abadi et al., 2016).

Run: python samples/dp_sgd.py
"""
import time

import numpy as np

import transpile as tp


def loss(w, x, y):
    """Logistic loss of one example: x (d,), y in {0, 1}."""
    z = x @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


# one gradient per example: w is shared (None), x and y are mapped over their first axis (0)
per_example_grads = tp.jit(tp.vmap(tp.grad(loss), in_axes=(None, 0, 0)))


def make_data(n=4000, d=20, seed=0):
    """Linearly separable-ish data; the last feature is a constant 1 (the bias)."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=d)
    x = rng.normal(size=(n, d))
    x[:, -1] = 1.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-2.0 * (x @ w_true)))).astype(np.float64)
    return x, y


def clip_rows(grads, clip):
    """Scale each row to norm at most `clip`."""
    norms = np.sqrt(np.sum(grads * grads, axis=1))
    return grads * np.minimum(1.0, clip / np.maximum(norms, 1e-12))[:, None]


def accuracy(w, x, y):
    return float(np.mean(((x @ w) > 0.0) == (y > 0.5)))


def mean_loss(w, x, y):
    z = x @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def train(x, y, per_example_grad, epochs, batch, lr, clip, noise, rng):
    n, d = x.shape
    w = np.zeros(d)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n - batch + 1, batch):
            idx = order[start:start + batch]
            g = clip_rows(per_example_grad(w, x[idx], y[idx]), clip)
            g = g.mean(axis=0) + rng.normal(scale=noise * clip / batch, size=d)
            w = w - lr * g
    return w


def main(n=4000, d=20, epochs=5, batch=100, lr=0.5, clip=1.0, noise=1.1, seed=0, verbose=True):
    x, y = make_data(n, d, seed)
    n_train = int(0.8 * n)
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    rng = np.random.default_rng(seed + 1)
    start = time.perf_counter()
    per_example_grads(np.zeros(d), x_train[:2], y_train[:2])   # generate + compile, or load
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    w_private = train(x_train, y_train, per_example_grads, epochs, batch, lr, clip, noise, rng)
    private_s = time.perf_counter() - start
    w_clipped = train(x_train, y_train, per_example_grads, epochs, batch, lr, clip, 0.0, rng)
    w_zero = np.zeros(d)

    results = {
        "untrained (w = 0)": (mean_loss(w_zero, x_test, y_test), accuracy(w_zero, x_test, y_test)),
        "clipped, no noise": (mean_loss(w_clipped, x_test, y_test), accuracy(w_clipped, x_test, y_test)),
        f"DP-SGD (C={clip}, sigma={noise})": (mean_loss(w_private, x_test, y_test),
                                              accuracy(w_private, x_test, y_test)),
    }
    if verbose:
        steps = epochs * (n_train // batch)
        print(f"{n_train} training / {n - n_train} test examples, d={d}, batch {batch}, {steps} steps")
        for name, (test_loss, acc) in results.items():
            print(f"{name:28s} test loss {test_loss:.4f}  test accuracy {acc:.3f}")
        print(f"DP-SGD training took {private_s:.2f} s (first call {first_s:.2f} s)")
    return {"w_private": w_private, "w_clipped": w_clipped, "results": results}


if __name__ == "__main__":
    main()
