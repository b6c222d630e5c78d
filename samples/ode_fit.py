"""Fit the stiffness and damping of an oscillator to noisy observations through an Euler loop.

The model x'' = -k x - c x' is integrated with explicit Euler steps in a plain Python for-loop;
the loss compares every simulated position with the observations. tp.jit(tp.grad(loss)) runs
reverse mode through the whole loop (the loop stays a loop in the generated code), and plain
gradient descent with momentum recovers (k, c) from a rough initial guess.

Run: python samples/ode_fit.py
"""
import time

import numpy as np

import transpile as tp


def simulate(theta, x0, v0, dt, n_steps):
    """Positions x(t_1), ..., x(t_n) of the oscillator with theta = (k, c)."""
    k = theta[0]
    c = theta[1]
    xs = np.zeros(n_steps)
    x = x0
    v = v0
    for i in range(n_steps):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
        xs[i] = x
    return xs


def loss(theta, observed, x0, v0, dt):
    """Mean squared error between the simulated and observed positions."""
    k = theta[0]
    c = theta[1]
    x = x0
    v = v0
    total = 0.0
    for i in range(observed.shape[0]):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
        total += (x - observed[i]) ** 2
    return total / observed.shape[0]


grad_loss = tp.jit(tp.grad(loss))                # d loss / d theta, through the whole loop
loss_jit = tp.jit(loss)


def main(steps=100, n_obs=1000, dt=0.005, true_k=4.0, true_c=0.3, noise=0.02, lr=1.0,
         momentum=0.5, seed=0, verbose=True):
    rng = np.random.default_rng(seed)
    x0, v0 = 1.0, 0.0
    theta_true = np.array([true_k, true_c])
    observed = simulate(theta_true, x0, v0, dt, n_obs) + noise * rng.normal(size=n_obs)

    theta = np.array([3.0, 1.0])                  # initial guess
    velocity = np.zeros(2)
    history = [loss_jit(theta, observed, x0, v0, dt)]
    if verbose:
        print(f"initial    loss {history[0]:.6f}  k {theta[0]:.4f}  c {theta[1]:.4f}")
    start = time.perf_counter()
    grad_loss(theta, observed, x0, v0, dt)           # generate + compile, or load from the cache
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    report_every = max(1, steps // 5)
    for step in range(steps):
        velocity = momentum * velocity - lr * grad_loss(theta, observed, x0, v0, dt)
        theta = theta + velocity
        if verbose and (step % report_every == 0 or step == steps - 1):
            print(f"step {step:4d}  loss {loss_jit(theta, observed, x0, v0, dt):.6f}  "
                  f"k {theta[0]:.4f}  c {theta[1]:.4f}")
        history.append(loss_jit(theta, observed, x0, v0, dt))
    elapsed = time.perf_counter() - start
    if verbose:
        print(f"true       k {true_k:.4f}  c {true_c:.4f}")
        print(f"recovered  k {theta[0]:.4f}  c {theta[1]:.4f}   (loss {history[-1]:.6f}, "
              f"noise variance {noise ** 2:.6f})")
        print(f"{steps} gradient steps through {n_obs} Euler steps each: {elapsed:.2f} s "
              f"(first call {first_s:.2f} s)")
    return {"theta": theta, "theta_true": theta_true, "history": np.array(history)}


if __name__ == "__main__":
    main()
