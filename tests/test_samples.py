"""The runnable samples in samples/: each main() with small sizes, asserting on real outcomes.

The checks use the samples' own module-level transformed functions (e.g. logistic.grad_loss), so
each generated function is compiled once per process.

Also checks `python -m transpile show samples/X.py:F -t grad` for the differentiated function F
of each sample.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import transpile as tp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")


def load_sample(name):
    """Import samples/<name>.py as module `samples_<name>` (once)."""
    module_name = f"samples_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, os.path.join(SAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def central_difference(f, x, h=1e-6):
    """Gradient of scalar f at array x by central differences."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        g[idx] = (f(plus) - f(minus)) / (2.0 * h)
    return g


# ---------------------------------------------------------------------------------------------
# 1. logistic regression


def test_logistic_trains_and_gradient_matches_finite_differences(capsys):
    logistic = load_sample("logistic")
    x, y, _ = logistic.make_data(n=500, d=10, seed=0)
    _, final_loss, accuracy = logistic.main(steps=40, n=500, d=10, seed=0)
    assert "final loss" in capsys.readouterr().out
    assert final_loss < 0.8 * logistic.loss(np.zeros(10), x, y)
    assert accuracy > 0.75

    w0 = np.random.default_rng(1).normal(size=10) * 0.3
    g = logistic.grad_loss(w0, x, y)
    fd = central_difference(lambda v: logistic.loss(v, x, y), w0)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# 2. MLP with dict parameters


def test_mlp_loss_decreases_and_dict_gradient_matches_finite_differences(capsys):
    mlp = load_sample("mlp")
    out = mlp.main(steps=150, n=128, hidden=8, seed=0)
    assert "final loss" in capsys.readouterr().out
    history = out["history"]
    assert history[-1] < 0.2 * history[0]
    assert out["final_loss"] < 0.05
    assert set(out["params"]) == {"w1", "b1", "w2", "b2"}

    x, y = mlp.make_data(32, seed=3)
    params = mlp.init_params(1, 5, seed=4)
    value, grads = mlp.loss_and_grad(params, x, y)
    assert isinstance(grads, dict) and set(grads) == set(params)
    assert value == pytest.approx(mlp.loss(params, x, y), rel=1e-12)
    for key in params:
        assert grads[key].shape == params[key].shape

        def loss_of(leaf, key=key):
            return mlp.loss({**params, key: leaf}, x, y)

        np.testing.assert_allclose(grads[key], central_difference(loss_of, params[key]),
                                   rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# 3. DP-SGD with per-example gradients


def test_dp_sgd_per_example_gradients_clipping_and_accuracy(capsys):
    dp_sgd = load_sample("dp_sgd")
    x, y = dp_sgd.make_data(n=64, d=6, seed=2)
    w = np.random.default_rng(0).normal(size=6) * 0.5
    grads = dp_sgd.per_example_grads(w, x, y)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    np.testing.assert_allclose(grads, (p - y)[:, None] * x, rtol=1e-10, atol=1e-12)

    clipped = dp_sgd.clip_rows(grads * 10.0, 0.5)
    norms = np.linalg.norm(clipped, axis=1)
    assert np.all(norms <= 0.5 + 1e-12)
    small = np.linalg.norm(grads * 10.0, axis=1) <= 0.5       # rows already short stay unchanged
    np.testing.assert_allclose(clipped[small], grads[small] * 10.0)

    out = dp_sgd.main(n=1000, d=10, epochs=2, batch=50, seed=0)
    assert "test accuracy" in capsys.readouterr().out
    results = out["results"]
    private = next(v for k, v in results.items() if k.startswith("DP-SGD"))
    assert private[0] < 0.6 * results["untrained (w = 0)"][0]    # test loss well below log(2)
    assert private[1] > 0.8
    assert abs(private[1] - results["clipped, no noise"][1]) < 0.05


# ---------------------------------------------------------------------------------------------
# 4. Lennard-Jones forces and velocity Verlet


def test_lennard_jones_forces_and_energy_conservation(capsys):
    lj = load_sample("lennard_jones")
    out = lj.main(side=2, steps=100, seed=0)
    assert "velocity Verlet" in capsys.readouterr().out
    assert out["forces"].shape == (8, 3)
    assert out["fd_error"] < 1e-6
    assert out["net_force"] < 1e-10 * max(1.0, np.max(np.abs(out["forces"])))
    assert out["drift"] < 1e-3
    assert out["momentum"] < 1e-10

    # two atoms: |F| = 24 eps (2 s^12 / r^13 - s^6 / r^7), along the axis, equal and opposite
    r = 1.3
    pos = np.array([[0.0, 0.0, 0.0], [r, 0.0, 0.0]])
    f = lj.forces(pos)
    magnitude = 24.0 * (2.0 / r ** 13 - 1.0 / r ** 7)
    np.testing.assert_allclose(f, [[-magnitude, 0, 0], [magnitude, 0, 0]], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# 5. Black-Scholes greeks


def test_black_scholes_greeks_match_closed_form(capsys):
    bs = load_sample("black_scholes")
    out = bs.main(n=1000, check=1000, seed=0)
    assert "ns per option" in capsys.readouterr().out
    assert out["err_delta"] < 1e-10
    assert out["err_vega"] < 1e-10
    assert np.all((out["delta"] > -1e-12) & (out["delta"] < 1.0 + 1e-12))
    assert np.all(out["vega"] > -1e-12)

    # the tuple-of-gradients form on one option; the price respects the no-arbitrage bounds
    args = (100.0, 95.0, 0.03, 0.25, 1.5)
    delta, vega = bs.delta_vega(*args)
    ref_delta, ref_vega = bs.closed_form_greeks(*(np.array([a]) for a in args))
    assert delta == pytest.approx(ref_delta[0], rel=1e-12)
    assert vega == pytest.approx(ref_vega[0], rel=1e-12)
    s, k, r, _, t = args
    assert s - k * np.exp(-r * t) < bs.price(*args) < s
    np.testing.assert_allclose(out["price"][:3], [bs.price(*(a[i] for a in bs.make_options(1000, 0)))
                                                  for i in range(3)], rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# 6. ODE parameter fit


def test_ode_fit_recovers_parameters_and_gradient_matches_finite_differences(capsys):
    ode = load_sample("ode_fit")
    out = ode.main(steps=60, n_obs=600, seed=0)
    assert "recovered" in capsys.readouterr().out
    k, c = out["theta"]
    assert abs(k - 4.0) < 0.05
    assert abs(c - 0.3) < 0.02
    assert out["history"][-1] < 0.01 * out["history"][0]

    observed = ode.simulate(np.array([4.0, 0.3]), 1.0, 0.0, 0.005, 200)
    theta = np.array([3.0, 0.8])
    g = ode.grad_loss(theta, observed, 1.0, 0.0, 0.005)
    fd = central_difference(lambda th: ode.loss(th, observed, 1.0, 0.0, 0.005), theta)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-10)


def full_batch_descent(dp, steps, shards, per_shard, lr):
    """The same training without pmap: gradient steps on all the data at once (equal shards make
    the mean over shards of each shard's mean loss the mean loss over all examples)."""
    x, y = dp.make_data(shards, per_shard)
    x, y = x.reshape(-1, x.shape[-1]), y.reshape(-1)
    params = list(dp.init_params())
    value_and_grad = tp.value_and_grad(dp.loss, argnums=(0, 1, 2, 3))
    losses = []
    for _ in range(steps):
        value, grads = value_and_grad(*params, x, y)
        losses.append(value)
        params = [p - lr * g for p, g in zip(params, grads)]
    return losses


def test_data_parallel_training_equals_full_batch_descent(capsys):
    dp = load_sample("data_parallel")
    losses, accuracy = dp.main(steps=30, shards=3, per_shard=200, verbose=True)
    assert "final accuracy" in capsys.readouterr().out
    np.testing.assert_allclose(losses, full_batch_descent(dp, 30, 3, 200, 1.0), rtol=1e-10)
    assert losses[-1] < losses[0]


@pytest.mark.skipif(shutil.which("mpiexec") is None or importlib.util.find_spec("mpi4py") is None,
                    reason="needs mpi4py and mpiexec (pip install 'transpile[mpi]')")
def test_data_parallel_sample_under_mpiexec_prints_the_threads_loss_curve():
    dp = load_sample("data_parallel")
    command = ["mpiexec", "-n", "2", sys.executable, os.path.join(SAMPLES, "data_parallel.py"),
               "--backend", "mpi", "--steps", "20", "--shards", "3"]
    proc = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = {int(line.split()[1]): float(line.split()[3]) for line in proc.stdout.splitlines()
               if line.startswith("step")}
    assert sorted(printed) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 19]  # rank 0 prints, once
    losses, _ = dp.main(steps=20, shards=3, verbose=False)
    for step, value in printed.items():
        assert abs(value - losses[step]) < 1e-6


# ---------------------------------------------------------------------------------------------
# command line: `python -m transpile show samples/X.py:F -t grad`


@pytest.mark.parametrize("target", [
    "logistic.py:loss",
    "mlp.py:loss",
    "dp_sgd.py:loss",
    "lennard_jones.py:energy",
    "black_scholes.py:price",
    "ode_fit.py:loss",
    "data_parallel.py:loss",
])
def test_show_grad_from_command_line(target):
    proc = subprocess.run(
        [sys.executable, "-m", "transpile", "show", os.path.join("samples", target), "-t", "grad"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "def " in proc.stdout
    function = target.split(":")[1]
    assert f"def {function}_grad(" in proc.stdout
