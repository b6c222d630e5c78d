"""A small tanh MLP fitted to a synthetic 1-D regression task with tp.jit(tp.value_and_grad(loss)).

The parameters are a dict {"w1", "b1", "w2", "b2"}; the gradient comes back as a dict with the
same keys. Training is full-batch gradient descent with momentum.

Run: python samples/mlp.py
"""
import time

import numpy as np

import transpile as tp


def forward(x, w1, b1, w2, b2):
    """One hidden tanh layer: x (n, d) -> (n,)."""
    h = np.tanh(x @ w1 + b1)
    return h @ w2 + b2


def loss(params, x, y):
    """Mean squared error of the network on (x, y)."""
    # transpile reads structured arguments by constant key; the leaves go on to the helper.
    r = forward(x, params["w1"], params["b1"], params["w2"], params["b2"]) - y
    return np.mean(r * r)


loss_and_grad = tp.jit(tp.value_and_grad(loss))  # (loss, dict of gradients), compiled on first call


def make_data(n=512, seed=0):
    """y = sin(3 x) + 0.5 x^2 + noise on x in [-1.5, 1.5]; x has one feature."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=(n, 1))
    y = np.sin(3.0 * x[:, 0]) + 0.5 * x[:, 0] ** 2 + 0.05 * rng.normal(size=n)
    return x, y


def init_params(d_in, hidden, seed=1):
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.normal(size=(d_in, hidden)) * 1.5,
        "b1": rng.normal(size=hidden) * 0.5,
        "w2": rng.normal(size=hidden) / np.sqrt(hidden),
        "b2": np.zeros(1),
    }


def main(steps=2000, n=512, hidden=32, lr=0.05, momentum=0.9, seed=0, verbose=True):
    x, y = make_data(n, seed)
    params = init_params(x.shape[1], hidden, seed + 1)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    history = []
    start = time.perf_counter()
    loss_and_grad(params, x, y)                      # generate + compile, or load from the cache
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    report_every = max(1, steps // 10)
    for step in range(steps):
        value, grads = loss_and_grad(params, x, y)
        history.append(float(value))
        for k in params:
            velocity[k] = momentum * velocity[k] - lr * grads[k]
            params[k] = params[k] + velocity[k]
        if verbose and (step % report_every == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {value:.5f}")
    elapsed = time.perf_counter() - start
    final = float(loss(params, x, y))
    if verbose:
        print(f"final loss {final:.5f} (initial {history[0]:.5f}, noise floor ~{0.05 ** 2:.4f}); "
              f"{steps} steps in {elapsed:.2f} s (first call {first_s:.2f} s)")
    return {"history": np.array(history), "final_loss": final, "params": params}


if __name__ == "__main__":
    main()
