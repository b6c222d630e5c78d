"""ADBench LSTM: the "diagonal" LSTM loss and its gradient w.r.t. (main_params, extra_params).

Exactly ADBench's definition (src/cpp/shared/lstm.h): l layers of b cells whose gate weights are
diagonal (elementwise), run over a sequence of c steps, each step predicting the next input;
main_params (2l, 4b) holds per layer a weight row and a bias row for the forget, input, output
and change gates; extra_params (3, b) the input weight, output weight and output bias; state
(2l, b) the initial hidden and cell rows. ADBench's logsumexp is log(sum(exp(y)) + 2).
Sizes as ADBench's lstm_l2_c1024: l=2, c=1024, b=14 (--quick: c=64).
"""
import math

import numba
import numpy as np

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")
lax = LazyModule("jax.lax")
torch = LazyModule("torch")
anp = LazyModule("autograd.numpy")
autograd = LazyModule("autograd")

TITLE = "ADBench LSTM: loss and gradient w.r.t. (main_params, extra_params)"
ARGNUMS = (0, 1)


# ---- the user's function, plain Python/NumPy: what transpile consumes -------------------------

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_model(weight, bias, hidden, cell, inp):
    b = hidden.shape[0]
    gates = np.concatenate((inp, hidden, inp, hidden)) * weight + bias
    forget = sigmoid(gates[0:b])
    ingate = sigmoid(gates[b:2 * b])
    outgate = sigmoid(gates[2 * b:3 * b])
    change = np.tanh(gates[3 * b:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def lstm_objective(main_params, extra_params, state, sequence):
    n_layers = state.shape[0] // 2
    c, b = sequence.shape
    s = np.copy(state)
    total = 0.0
    for t in range(c - 1):
        x = sequence[t] * extra_params[0]
        for layer in range(n_layers):
            hidden, cell = lstm_model(main_params[2 * layer], main_params[2 * layer + 1],
                                      s[2 * layer], s[2 * layer + 1], x)
            s[2 * layer] = hidden
            s[2 * layer + 1] = cell
            x = hidden
        ypred = x * extra_params[1] + extra_params[2]
        lse = np.log(np.sum(np.exp(ypred)) + 2.0)
        total += np.sum(sequence[t + 1] * (ypred - lse))
    return -total / ((c - 1) * b)


# ---- sizes and data -----------------------------------------------------------------------------

def sizes(quick):
    c = 64 if quick else 1024
    return [Size(f"l=2,c={c},b=14", 2 * c * 14, {"l": 2, "c": c, "b": 14})]


def check_sizes():
    return [Size("l=2,c=6,b=3", 0, {"l": 2, "c": 6, "b": 3})]


def make_args(size):
    l, c, b = size.params["l"], size.params["c"], size.params["b"]
    rng = np.random.default_rng(0)
    main_params = rng.uniform(-1.0, 1.0, (2 * l, 4 * b))
    extra_params = rng.uniform(-1.0, 1.0, (3, b))
    state = rng.uniform(-1.0, 1.0, (2 * l, b))
    sequence = rng.uniform(-1.0, 1.0, (c, b))
    return main_params, extra_params, state, sequence


def plain_primal(args):
    return lstm_objective(*args)


# ---- hand-written Numba primal and adjoint ------------------------------------------------------
# The forward sweep records, per step and layer, the layer's input, the previous hidden and cell
# rows and the four gate activations; the reverse sweep carries d hidden and d cell per layer.

@numba.njit(cache=True)
def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


@numba.njit(cache=True)
def _step(main_params, layer, b, inp, h, cl, gates):
    """One layer, one step: updates h and cl in place; gates (4, b) receives the activations."""
    w, bias = main_params[2 * layer], main_params[2 * layer + 1]
    for j in range(b):
        f = _sigmoid(inp[j] * w[j] + bias[j])
        ig = _sigmoid(h[j] * w[b + j] + bias[b + j])
        og = _sigmoid(inp[j] * w[2 * b + j] + bias[2 * b + j])
        ch = math.tanh(h[j] * w[3 * b + j] + bias[3 * b + j])
        gates[0, j], gates[1, j], gates[2, j], gates[3, j] = f, ig, og, ch
        cl[j] = cl[j] * f + ig * ch
        h[j] = og * math.tanh(cl[j])


@numba.njit(cache=True)
def _output_term(h_top, extra_params, gold, d_ypred):
    """ADBench's per-step term sum(gold * (ypred - log(sum(exp(ypred)) + 2))), ypred = h_top w +
    bias; d_ypred receives its derivative w.r.t. ypred."""
    b = h_top.shape[0]
    sum_exp = 2.0
    sum_gold = 0.0
    term = 0.0
    for j in range(b):
        ypred = h_top[j] * extra_params[1, j] + extra_params[2, j]
        d_ypred[j] = math.exp(ypred)
        sum_exp += d_ypred[j]
        sum_gold += gold[j]
        term += gold[j] * ypred
    for j in range(b):
        d_ypred[j] = gold[j] - sum_gold * d_ypred[j] / sum_exp
    return term - sum_gold * math.log(sum_exp)


@numba.njit(cache=True)
def numba_objective(main_params, extra_params, state, sequence):
    n_layers = state.shape[0] // 2
    c, b = sequence.shape
    s = state.copy()
    gates = np.empty((4, b))
    x = np.empty(b)
    scratch = np.empty(b)
    total = 0.0
    for t in range(c - 1):
        for j in range(b):
            x[j] = sequence[t, j] * extra_params[0, j]
        for layer in range(n_layers):
            _step(main_params, layer, b, x, s[2 * layer], s[2 * layer + 1], gates)
            for j in range(b):
                x[j] = s[2 * layer, j]
        total += _output_term(x, extra_params, sequence[t + 1], scratch)
    return -total / ((c - 1) * b)


@numba.njit(cache=True)
def numba_gradient(main_params, extra_params, state, sequence):
    n_layers = state.shape[0] // 2
    c, b = sequence.shape
    steps = c - 1
    # tape[t, layer]: rows input, hidden before, cell before, forget, ingate, outgate, change
    tape = np.empty((steps, n_layers, 7, b))
    s = state.copy()
    for t in range(steps):
        for layer in range(n_layers):
            rec = tape[t, layer]
            for j in range(b):
                rec[0, j] = sequence[t, j] * extra_params[0, j] if layer == 0 else s[2 * layer - 2, j]
                rec[1, j] = s[2 * layer, j]
                rec[2, j] = s[2 * layer + 1, j]
            _step(main_params, layer, b, rec[0], s[2 * layer], s[2 * layer + 1], rec[3:])

    d_main = np.zeros_like(main_params)
    d_extra = np.zeros_like(extra_params)
    d_h = np.zeros((n_layers, b))
    d_c = np.zeros((n_layers, b))
    d_x = np.empty(b)
    h_top = np.empty(b)
    d_ypred = np.empty(b)
    top = n_layers - 1
    scale = -1.0 / (steps * b)
    for t in range(steps - 1, -1, -1):
        rec = tape[t, top]
        for j in range(b):
            h_top[j] = rec[5, j] * math.tanh(rec[2, j] * rec[3, j] + rec[4, j] * rec[6, j])
        _output_term(h_top, extra_params, sequence[t + 1], d_ypred)
        for j in range(b):
            dy = scale * d_ypred[j]
            d_extra[1, j] += dy * h_top[j]
            d_extra[2, j] += dy
            d_h[top, j] += dy * extra_params[1, j]
        for layer in range(top, -1, -1):
            rec = tape[t, layer]
            w = main_params[2 * layer]
            dw, db = d_main[2 * layer], d_main[2 * layer + 1]
            for j in range(b):
                inp, h_prev, c_prev = rec[0, j], rec[1, j], rec[2, j]
                f, ig, og, ch = rec[3, j], rec[4, j], rec[5, j], rec[6, j]
                tc = math.tanh(c_prev * f + ig * ch)
                dh = d_h[layer, j]
                dc = d_c[layer, j] + dh * og * (1.0 - tc * tc)
                dz_f = dc * c_prev * f * (1.0 - f)
                dz_i = dc * ch * ig * (1.0 - ig)
                dz_o = dh * tc * og * (1.0 - og)
                dz_c = dc * ig * (1.0 - ch * ch)
                dw[j] += dz_f * inp
                dw[b + j] += dz_i * h_prev
                dw[2 * b + j] += dz_o * inp
                dw[3 * b + j] += dz_c * h_prev
                db[j] += dz_f
                db[b + j] += dz_i
                db[2 * b + j] += dz_o
                db[3 * b + j] += dz_c
                d_x[j] = dz_f * w[j] + dz_o * w[2 * b + j]
                d_h[layer, j] = dz_i * w[b + j] + dz_c * w[3 * b + j]
                d_c[layer, j] = dc * f
            for j in range(b):  # the layer's input: the layer below's new hidden, or the data
                if layer > 0:
                    d_h[layer - 1, j] += d_x[j]
                else:
                    d_extra[0, j] += d_x[j] * sequence[t, j]
    return d_main, d_extra


def reference(args):
    return {"primal": numba_objective(*args), "grad": numba_gradient(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_gradient(*args), primal=lambda: numba_objective(*args))


# ---- transpile -----------------------------------------------------------------------------------

def build_transpile(size, args):
    import transpile as tp

    grad = tp.jit(tp.grad(lstm_objective, argnums=ARGNUMS))
    primal = tp.jit(lstm_objective)
    return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))


# ---- JAX (lax.scan over time), PyTorch and autograd (Python loop over time) ---------------------

def lstm_predict(xp, main_params, extra_params, layers, inp):
    """One time step of every layer: returns the prediction and the new [(hidden, cell), ...]."""
    b = inp.shape[0]
    x = inp * extra_params[0]
    new_layers = []
    for layer, (hidden, cell) in enumerate(layers):
        gates = xp.concatenate((x, hidden, x, hidden)) * main_params[2 * layer] + main_params[2 * layer + 1]
        forget = 1.0 / (1.0 + xp.exp(-gates[0:b]))
        ingate = 1.0 / (1.0 + xp.exp(-gates[b:2 * b]))
        outgate = 1.0 / (1.0 + xp.exp(-gates[2 * b:3 * b]))
        change = xp.tanh(gates[3 * b:])
        cell = cell * forget + ingate * change
        hidden = outgate * xp.tanh(cell)
        new_layers.append((hidden, cell))
        x = hidden
    return x * extra_params[1] + extra_params[2], new_layers


def step_loss(xp, ypred, gold):
    return xp.sum(gold * (ypred - xp.log(xp.sum(xp.exp(ypred)) + 2.0)))


def lstm_loop(xp, main_params, extra_params, state, sequence):
    layers = [(state[2 * i], state[2 * i + 1]) for i in range(state.shape[0] // 2)]
    total = 0.0
    for t in range(sequence.shape[0] - 1):
        ypred, layers = lstm_predict(xp, main_params, extra_params, layers, sequence[t])
        total = total + step_loss(xp, ypred, sequence[t + 1])
    return -total / ((sequence.shape[0] - 1) * sequence.shape[1])


def lstm_scan(main_params, extra_params, state, sequence):
    def body(layers, inputs):
        inp, gold = inputs
        ypred, layers = lstm_predict(jnp, main_params, extra_params, layers, inp)
        return layers, step_loss(jnp, ypred, gold)

    layers = [(state[2 * i], state[2 * i + 1]) for i in range(state.shape[0] // 2)]
    _, losses = lax.scan(body, layers, (sequence[:-1], sequence[1:]))
    return -jnp.sum(losses) / ((sequence.shape[0] - 1) * sequence.shape[1])


def build_jax(size, args):
    data = [jnp.asarray(a) for a in args]
    grad = jax.jit(jax.grad(lstm_scan, argnums=ARGNUMS))
    primal = jax.jit(lstm_scan)
    return Impl(grad=lambda: jax.block_until_ready(grad(*data)),
                primal=lambda: jax.block_until_ready(primal(*data)))


def build_torch(size, args):
    data = [torch.from_numpy(a) for a in args]

    def grad():
        params = [a.detach().requires_grad_() for a in data[:2]]
        return torch.autograd.grad(lstm_loop(torch, *params, *data[2:]), params)

    def primal():
        with torch.no_grad():
            return lstm_loop(torch, *data)

    return Impl(grad=grad, primal=primal)


def build_autograd(size, args):
    def f(main_params, extra_params, state, sequence):
        return lstm_loop(anp, main_params, extra_params, state, sequence)

    grad = autograd.grad(f, ARGNUMS)
    return Impl(grad=lambda: grad(*args), primal=lambda: f(*args))


def rows():
    return [
        Row("numba (hand-written)", "numba", build_numba),
        Row("transpile", "transpile", build_transpile),
        Row("jax (lax.scan)", "jax", build_jax),
        Row("torch", "torch", build_torch),
        Row("autograd", "autograd", build_autograd),
    ]
