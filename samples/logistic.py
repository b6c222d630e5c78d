"""Logistic regression trained by gradient descent with tp.jit(tp.grad(loss)).

Run: python samples/logistic.py
"""
import numpy as np

import transpile as tp


def loss(w, x, y):
    """Mean negative log-likelihood of labels y in {0, 1}."""
    z = x @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


grad_loss = tp.jit(tp.grad(loss))                # compiled on first call, then cached


def make_data(n=2000, d=10, seed=0):
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=d)
    x = rng.normal(size=(n, d))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-x @ w_true))).astype(np.float64)
    return x, y, w_true


def train(steps=200, lr=0.5, n=2000, d=10, seed=0, verbose=True):
    x, y, _ = make_data(n, d, seed)
    w = np.zeros(d)
    for step in range(steps):
        w = w - lr * grad_loss(w, x, y)
        if verbose and step % max(1, steps // 5) == 0:
            print(f"step {step:4d}  loss {loss(w, x, y):.5f}")
    accuracy = np.mean(((x @ w) > 0) == (y > 0.5))
    if verbose:
        print(f"final loss {loss(w, x, y):.5f}  accuracy {accuracy:.3f}")
    return w, loss(w, x, y), accuracy


def main(steps=200, lr=0.5, n=2000, d=10, seed=0, verbose=True):
    """Train and report; returns (w, final loss, accuracy)."""
    return train(steps, lr, n, d, seed, verbose)


if __name__ == "__main__":
    main()
