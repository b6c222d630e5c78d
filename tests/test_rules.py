"""Every derivative rule against central finite differences, evaluated as Python and under Numba.

For a case (a function and sample arguments) and each active parameter p with direction v:
  vjp:  <g, (f(p + eps v) - f(p - eps v)) / 2 eps>  ==  <vjp_p(g), v>
  jvp:  jvp_p(t_p = v), broadcast to ans            ==  (f(p + eps v) - f(p - eps v)) / 2 eps
and the same templates compiled by numba.njit (constant arguments spliced in as literals, as the
passes do) give the Python values, in the same kinds (scalar vs array) and shapes. Numba checks run
on a subset of the cases (see _numba_cases), several cases per compiled function, at LLVM -O0 and
with an on-disk cache keyed by the rules and runtime sources: the first run compiles for a few
minutes, later runs load the machine code.
"""
import ast
import builtins
import functools
import hashlib
import importlib.util
import math
import os
import sys
import zlib

import numpy as np
import pytest
from numba import njit
from numba.core.errors import NumbaError
from numba_test_cache import numba_for_tests

import transpile.runtime as rt
from transpile import rules
from transpile.collectives import COLLECTIVES
from transpile.rules import OPERATOR_FUNCTIONS, is_nondifferentiable, lookup, lookup_call

EPS = 1e-6
NAMESPACE = {"np": np, "math": math, **{name: getattr(rt, name) for name in rt.__all__},
             **{fn.__name__: fn for fn in COLLECTIVES}}


class F:
    """A random float input: a Python float (shape None) or an array, uniform on [lo, hi]."""

    def __init__(self, shape=None, lo=-2.0, hi=2.0, zero=False):
        self.shape, self.lo, self.hi, self.zero = shape, lo, hi, zero

    def draw(self, rng):
        if self.shape is None:
            return float(rng.uniform(self.lo, self.hi))
        x = rng.uniform(self.lo, self.hi, self.shape)
        if self.zero:
            x.flat[1] = 0.0
        return x


class B(F):
    """A random boolean input (not differentiable)."""

    def draw(self, rng):
        b = rng.uniform(size=self.shape) < 0.5
        return bool(b) if self.shape is None else b


class M(F):
    """A well-conditioned n x n matrix."""

    def __init__(self, n):
        super().__init__((n, n))

    def draw(self, rng):
        return rng.normal(size=self.shape) + 3.0 * np.eye(self.shape[0])


class Seq:
    """A tuple of inputs (a sequence parameter such as np.concatenate's)."""

    def __init__(self, *items):
        self.items = items

    def draw(self, rng):
        return tuple(item.draw(rng) for item in self.items)


def A(*shape, **domain):
    return F(shape, **domain)


class Case:
    """Sample arguments of one call; a bare tuple in CASES means positional arguments only."""

    def __init__(self, *args, options=None, **kwargs):
        self.args, self.kwargs, self.options = args, kwargs, options or {}


S = F()
POS, UNIT, GT1 = {"lo": 0.5, "hi": 2.0}, {"lo": -0.9, "hi": 0.9}, {"lo": 1.2, "hi": 3.0}


def scalars_and_arrays(**domain):
    return [(A(4, **domain),), (A(2, 3, **domain),), (F(None, **domain),)]


BROADCAST_PAIRS = [(S, S), (A(4), A(4)), (S, A(2, 3)), (A(2, 3), A(3)), (A(2, 3), S), (A(3, 1), A(1, 4))]
AXES = [(A(4),), Case(A(2, 3), axis=0), Case(A(2, 3), axis=1, keepdims=True), Case(A(2, 3, 4), axis=(0, 2)),
        Case(A(2, 3), keepdims=True), Case(A(2, 3), axis=-1)]

# (function, cases): F/B/M/Seq arguments are drawn at random, others are constants spliced into
# the templates
CASES = [
    *[(fn, scalars_and_arrays()) for fn in (
        np.negative, np.positive, np.copy, np.ascontiguousarray, np.float64, np.abs, np.fabs, np.cbrt,
        np.square, np.exp, np.exp2, np.expm1, np.sin, np.cos, np.arctan, np.sinh, np.cosh, np.tanh,
        np.arcsinh)],
    *[(fn, scalars_and_arrays(**POS)) for fn in (np.sqrt, np.log, np.log2, np.log10, np.log1p, np.reciprocal)],
    *[(fn, scalars_and_arrays(**UNIT)) for fn in (np.tan, np.arcsin, np.arccos, np.arctanh)],
    (np.arccosh, scalars_and_arrays(**GT1)),
    (np.float32, [Case(S, options={"eps": 1e-2, "rtol": 1e-3})]),
    *[(fn, BROADCAST_PAIRS) for fn in (np.add, np.subtract, np.multiply, np.maximum, np.minimum, np.fmax,
                                       np.fmin, np.arctan2, np.hypot, np.logaddexp, np.logaddexp2)],
    *[(fn, [(x, F(y.shape, **POS)) for x, y in BROADCAST_PAIRS]) for fn in (np.true_divide, np.mod)],
    (np.power, [(F(x.shape, **POS), y) for x, y in BROADCAST_PAIRS] + [(A(3), 2), (A(2, 2), 3)]),
    (np.where, [(B((3, 4)), A(3, 4), A(3, 4)), (B((3, 1)), A(1, 4), S), (B(), S, S)]),
    (np.clip, [(A(3, 4), A(4, lo=-1.0, hi=-0.1), A(3, 1, lo=0.1, hi=1.0)), (S, F(lo=-1.0, hi=-0.1), F(lo=0.1, hi=1.0)),
               (A(5), None, F(lo=0.1, hi=1.0)), (A(5), -0.5, 0.5)]),
    *[(fn, AXES) for fn in (np.sum, np.mean, np.max, np.amax, np.min, np.amin)],
    (np.prod, AXES + [Case(A(2, 3, zero=True), axis=1)]),
    *[(fn, AXES + [Case(A(2, 3), axis=0, ddof=1)]) for fn in (np.var, np.std)],
    (np.cumsum, [(A(5),), (A(2, 3),), (A(2, 3), 1), (A(2, 3), -2)]),
    *[(fn, [(A(3), A(3)), (A(2, 3), A(3)), (A(3), A(3, 2)), (A(2, 3), A(3, 4))]) for fn in (np.dot, np.matmul)],
    (np.inner, [(A(3), A(3)), (A(2, 3), A(4, 3)), (A(3), A(2, 3))]),
    (np.outer, [(A(3), A(4)), (A(2, 2), A(3))]),
    (np.vdot, [(A(4), A(4))]),
    (np.trace, [(A(3, 3),), (A(2, 3),)]),
    (np.linalg.norm, [(A(4),), (A(2, 3),)]),
    (np.linalg.inv, [(M(3),)]),
    (np.linalg.det, [(M(3),)]),
    (np.linalg.solve, [(M(3), A(3)), (M(3), A(3, 2))]),
    (np.reshape, [(A(2, 3), (3, 2)), (A(6), (2, -1))]),
    (np.ravel, [(A(2, 3),)]),
    (np.squeeze, [(A(3, 1),), (A(1, 3, 1), 0)]),
    (np.expand_dims, [(A(3), 0), (A(2, 3), -1)]),
    (np.broadcast_to, [(A(3), (2, 3)), (S, (2, 2)), (A(3, 1), (3, 4))]),
    (np.transpose, [(A(2, 3),), (A(2, 3, 4), (1, 0, 2)), (A(2, 3, 4), (-1, 0, 1))]),
    (np.swapaxes, [(A(2, 3, 4), 0, 2)]),
    (np.flip, [(A(4),), (A(2, 3), 1), (A(2, 3), (0, 1))]),
    (np.concatenate, [(Seq(A(2), A(3)),), (Seq(A(2, 3), A(1, 3)), 0), (Seq(A(2, 3), A(2, 2)), 1),
                      (Seq(A(2, 3), A(4)), None)]),
    (np.stack, [(Seq(A(3), A(3)),), (Seq(A(2, 3), A(2, 3), A(2, 3)), 1), (Seq(A(3), A(3)), -1)]),
    (np.hstack, [(Seq(A(2), A(3)),), (Seq(A(2, 1), A(2, 3)),), (Seq(S, S, A(2)),)]),
    (np.vstack, [(Seq(A(3), A(3)),), (Seq(A(2, 3), A(3)),)]),
    (np.array, [(Seq(S, S, S),), (Seq(A(3), A(3)),), (A(2, 3),)]),
    (np.asarray, [(Seq(S, S),), (A(3),)]),
    (np.full, [((2, 3), S)]),
    (np.full_like, [(A(2, 3), S), (A(3), A(3))]),
    *[(fn, [(S,)]) for fn in (math.exp, math.expm1, math.exp2, math.sin, math.cos, math.atan, math.sinh,
                              math.cosh, math.tanh, math.asinh, math.fabs, math.erf, math.erfc, math.degrees,
                              math.radians, math.cbrt)],
    *[(fn, [(F(**POS),)]) for fn in (math.sqrt, math.log1p, math.log2, math.log10)],
    *[(fn, [(F(**UNIT),)]) for fn in (math.tan, math.asin, math.acos, math.atanh)],
    (math.acosh, [(F(**GT1),)]),
    (math.log, [(F(**POS),), (F(**POS), F(lo=1.5, hi=3.0))]),
    (math.pow, [(F(**POS), S)]),
    (math.atan2, [(S, S)]),
    (math.hypot, [(S, S)]),
    (builtins.abs, [(S,), (A(3),)]),
    (builtins.float, [(S,)]),
    (builtins.pow, [(F(**POS), S)]),
    (builtins.max, [(S, S), (A(5),)]),
    (builtins.min, [(S, S), (A(5),)]),
    (builtins.sum, [(A(4),), (A(2, 3),)]),
    (rt.unbroadcast, [(A(2, 3), A(3)), (A(2, 3), S), (A(3, 4), A(3, 1))]),
    (rt.broadcast_like, [(A(3), A(2, 3)), (S, A(2, 2)), (S, S)]),
    (rt.reshape_as, [(A(6), A(2, 3)), (A(1), S)]),
    (rt.select, [(B((2, 3)), A(2, 3), A(3)), (B(), S, S)]),
    *[(fn, [(A(2, 3), 0, False), (A(2, 3, 4), (0, 2), True), (A(3), None, False)])
      for fn in (rt.reduce_sum, rt.reduce_mean, rt.reduce_max, rt.reduce_min, rt.reduce_prod)],
    *[(fn, [(A(3), A(2, 3), 0, False), (A(2, 1), A(2, 3), 1, True), (S, A(2, 3), None, False), (S, S, None, False)])
      for fn in (rt.sum_vjp, rt.mean_vjp)],
    (rt.prod_others, [(A(2, 3), 1), (A(4), None), (A(2, 3, 2), (0, 2))]),
    (rt.untranspose, [(A(2, 3, 4), (1, 2, 0)), (A(2, 3), None)]),
    (rt.flip_axes, [(A(2, 3), 0), (A(3), None)]),
    (rt.split_like, [(A(5), Seq(A(2), A(3)), 0), (A(2, 3), Seq(A(2), A(2), A(2)), 1), (A(3), A(3), 0)]),
    (rt.join_like, [(Seq(A(2), A(3)), A(5), 0), (Seq(S, S), A(2), 0), (Seq(A(2, 3), A(4)), A(10), None)]),
    *[(fn, [(S, A(3), A(3)), (A(2), A(2, 3), A(3)), (A(3), A(2), A(2, 3)), (A(2, 4), A(2, 3), A(3, 4))])
      for fn in (rt.dot_vjp_a, rt.dot_vjp_b)],
    (rt.summed_dot_vjp_a, [(A(4, 2), A(4, 3), A(3, 2), A(3)), (A(4), A(4, 3), A(3), A(3)), (A(4, 2), A(4, 3), A(3, 2), S),
                           (A(4, 2), A(4, 3), A(3, 2), A(1, 3)), (A(2), A(2, 3), A(3), A(1)), (A(3), A(2), A(2, 3), A(2))]),
    (rt.saved_copy, [(A(3),), (S,)]),
    (rt.matmul, [(A(3), A(3, 2)), (A(2, 3), A(3, 4))]),
    (rt.tape_reserve, [(A(4), 2)]),
    *[(fn, [(A(2, 3), 0, 1, False), (A(2, 3, 4), (0, 2), 0, True), (A(3), None, 0, False)])
      for fn in (rt.reduce_var, rt.reduce_std)],
    (rt.inner, [(A(3), A(3)), (A(2, 3), A(4, 3)), (A(3), A(2, 3))]),
    (rt.squeeze_axes, [(A(3, 1), 1), (A(1, 3, 1), (0, 2))]),
    (rt.flat_values, [(A(2, 3),), (S,)]),
    (rt.jacobian_shaped, [(A(6, 1), A(2, 3), S), (A(2, 3), A(2), A(3)), (A(1, 1), S, S)]),
    (rt.move_axis, [(A(2, 3), 1, 0), (A(2, 3, 4), 0, -1)]),
    (rt.batch_broadcast, [(A(3), 4), (S, 3)]),
    (rt.erf_elementwise, [(A(4),), (A(2, 3),)]),
    (rt.scale_rows, [(A(3), A(3, 4))]),
    (rt.scale_rows_parallel, [(A(3), A(3, 4))]),
    (rt.matmul_rows_parallel, [(A(3, 4), A(4)), (A(5, 3), A(3, 2))]),
    (rt.cast_like, [(A(3), A(3)), (A(2, 3), A(2, 3)), (S, S)]),
]


def _name(fn):
    module = {"numpy": "np", "numpy.linalg": "np.linalg", "math": "math", "builtins": "builtins"}.get(
        getattr(fn, "__module__", None) or "numpy", "rt")
    return f"{module}.{fn.__name__}"


def _cases():
    for fn, cases in CASES:
        for i, case in enumerate(cases):
            yield fn, case if isinstance(case, Case) else Case(*case), f"{_name(fn)}-{i}"


CASE_PARAMS = [pytest.param(fn, case, zlib.crc32(name.encode()), id=name) for fn, case, name in _cases()]


def _bind(fn, args, kwargs, seed):
    """(rule, values of every parameter, the drawn ones, a caller that evaluates fn on values)."""
    rule = lookup_call(fn, len(args))
    assert rule is not None, f"no rule for {_name(fn)} with {len(args)} arguments"
    rng = np.random.default_rng(seed)
    draw = lambda v: v.draw(rng) if isinstance(v, (F, Seq)) else v
    values = {k: draw(v) for k, v in rule.signature.bind(*args, **kwargs).arguments.items()}
    drawn = {k for k, v in rule.signature.bind(*args, **kwargs).arguments.items() if isinstance(v, (F, Seq))}
    params = list(rule.signature.parameters.values())
    positional = [p.name for p in params[:len(args)]]

    def call(vals):
        return fn(*[vals[p] for p in positional], **{k: vals[k] for k in kwargs})

    for p in params:
        values.setdefault(p.name, p.default)
    return rule, values, drawn, call


def _active(rule, values, drawn):
    """Parameters with a vjp template whose sampled value is a float (not bool) input."""
    names = list(rule.signature.parameters)
    return [(i, n) for i, n in enumerate(names)
            if n in drawn and rule.vjp[i] is not None and not _is_bool(values[n])]


def _is_bool(v):
    return isinstance(v, (bool, np.bool_)) or isinstance(v, np.ndarray) and v.dtype == np.bool_


def _like(value, rng):
    if isinstance(value, tuple):
        return tuple(_like(v, rng) for v in value)
    return rng.normal(size=np.shape(value)) if isinstance(value, np.ndarray) else float(rng.normal())


def _axpy(a, x, y):
    if isinstance(x, tuple):
        return tuple(_axpy(a, xi, yi) for xi, yi in zip(x, y))
    return y + a * x


def _inner(a, b):
    if isinstance(a, tuple):
        return sum(_inner(x, y) for x, y in zip(a, b))
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def _assert_kind(result, like, what):
    """Scalars stay scalars, arrays keep their shape, tuples their length."""
    if isinstance(like, tuple):
        assert isinstance(result, tuple) and len(result) == len(like), what
        for r, e in zip(result, like):
            _assert_kind(r, e, what)
    elif isinstance(like, np.ndarray):
        assert isinstance(result, np.ndarray) and result.shape == like.shape, \
            f"{what}: got {type(result).__name__} {np.shape(result)}, want shape {like.shape}"
    else:
        assert not isinstance(result, np.ndarray) and np.ndim(result) == 0, \
            f"{what}: got {type(result).__name__} {np.shape(result)}, want a scalar"


def _close(a, b, rtol, what):
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            _close(x, y, rtol, what)
        return
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=rtol, err_msg=what)


@pytest.mark.parametrize("fn, case, seed", CASE_PARAMS)
def test_rule_against_finite_differences(fn, case, seed):
    rule, values, drawn, call = _bind(fn, case.args, case.kwargs, seed)
    eps, rtol = case.options.get("eps", EPS), case.options.get("rtol", 1e-6)
    rng = np.random.default_rng(seed + 1)
    ans = call(values)
    g = _like(ans, rng)
    active = _active(rule, values, drawn)
    assert active, "a case must exercise at least one differentiable parameter"
    for i, name in active:
        v = _like(values[name], rng)
        plus = call({**values, name: _axpy(eps, v, values[name])})
        minus = call({**values, name: _axpy(-eps, v, values[name])})
        fd = _axpy(-1.0, minus, plus)
        fd = tuple(d / (2 * eps) for d in fd) if isinstance(fd, tuple) else fd / (2 * eps)
        ns = {**NAMESPACE, **values, "g": g, "ans": ans, f"t_{name}": v}
        cot = eval(rule.vjp[i], ns)
        _assert_kind(cot, values[name], f"vjp of {name}")
        np.testing.assert_allclose(_inner(cot, v), _inner(g, fd), rtol=rtol, atol=rtol,
                                   err_msg=f"vjp of {name}: {rule.vjp[i]}")
        tangent = eval(rule.jvp[i], ns)
        if isinstance(ans, tuple):
            _close(tangent, fd, rtol, f"jvp of {name}")
        else:
            _close(np.broadcast_to(tangent, np.shape(ans)), fd, rtol, f"jvp of {name}: {rule.jvp[i]}")


class _Splice(ast.NodeTransformer):
    """Replace names: constants by their literal (as the passes splice call-site constants), inputs
    by a case-specific name."""

    def __init__(self, constants, rename):
        self.constants, self.rename = constants, rename

    def visit_Name(self, node):
        if node.id in self.constants:
            return ast.parse(repr(self.constants[node.id]), mode="eval").body
        return ast.Name(self.rename.get(node.id, node.id), node.ctx)


def _is_constant(value):
    return value is None or isinstance(value, (bool, int, str)) or \
        isinstance(value, tuple) and all(isinstance(v, int) for v in value)


def _instance(index, prefix=""):
    """(inputs, templates) of case `index`: inputs are g, ans, the non-constant arguments and the
    tangents; templates are the vjps then jvps of the active parameters, constants spliced in."""
    fn, case, seed = CASE_PARAMS[index].values
    rule, values, drawn, call = _bind(fn, case.args, case.kwargs, seed)
    rng = np.random.default_rng(seed + 1)
    ans = call(values)
    g = _like(ans, rng)
    active = _active(rule, values, drawn)
    tangents = {f"t_{name}": _like(values[name], rng) for _, name in active}
    constants = {k: v for k, v in values.items() if _is_constant(v)}
    inputs = {"g": g, "ans": ans, **{k: v for k, v in values.items() if k not in constants}, **tangents}
    splice = _Splice(constants, {k: prefix + k for k in inputs})
    templates = [rule.vjp[i] for i, _ in active] + [rule.jvp[i] for i, _ in active]
    return ({prefix + k: v for k, v in inputs.items()},
            [ast.unparse(splice.visit(ast.parse(t, mode="eval"))) for t in templates])


def _compile(inputs, templates, folder):
    """(Python function, numba.njit twin) of `def rule_fn(<inputs>): return (<templates>,)`, written
    to a file in `folder` so that Numba can cache its machine code across runs."""
    source = (f"import math\n\nimport numpy as np\n\nfrom transpile.runtime import *\n\n\n"
              f"def rule_fn({', '.join(inputs)}):\n    return ({''.join(t + ', ' for t in templates)})\n")
    path = folder / f"rule_{hashlib.sha1(source.encode()).hexdigest()[:24]}.py"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_text(source)
        partial.replace(path)
    if path.stem not in sys.modules:  # Numba's cache reimports the module by name
        spec = importlib.util.spec_from_file_location(path.stem, path)
        sys.modules[path.stem] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[path.stem])
    return sys.modules[path.stem].rule_fn, njit(cache=True)(sys.modules[path.stem].rule_fn)


def _numba_cases():
    """Cases compiled by Numba: all of them with TRANSPILE_NUMBA_ALL=1; by default the last case of
    each function (the richest, or the scalar one for elementwise functions, whose array loops
    Numba generates alike for every ufunc) and its first that mixes scalars with arrays, once per
    template set (np.max and np.amax share theirs). Compiling, once per function and argument
    types, is this suite's cost; every case is still checked as Python."""
    everything = os.environ.get("TRANSPILE_NUMBA_ALL") == "1"
    seen, chosen, mixed_seen = set(), [], set()
    for index, param in enumerate(CASE_PARAMS):
        fn, case, _ = param.values
        last = index + 1 == len(CASE_PARAMS) or CASE_PARAMS[index + 1].values[0] is not fn
        drawn = [a for a in case.args if isinstance(a, F)]
        mixed = any(a.shape is None for a in drawn) and any(a.shape is not None for a in drawn) \
            and fn not in mixed_seen
        mixed_seen.update([fn] if mixed else [])
        rule = lookup_call(fn, len(case.args))
        key = (rule.vjp, rule.jvp, repr([(type(a).__name__, getattr(a, "shape", None)) for a in case.args]),
               repr(sorted(case.kwargs.items())))
        if (everything or last or mixed) and key not in seen:
            seen.add(key)
            chosen.append(index)
    return chosen


NUMBA_CASES = _numba_cases()
GROUP = 40


@functools.cache
def _group_results(group, folder):
    """Numba results of a group of cases compiled as one function: one compilation per group
    instead of one per case. None if the group does not compile; each case then compiles alone
    and reports its own error."""
    members = NUMBA_CASES[group * GROUP:(group + 1) * GROUP]
    inputs, templates, counts = {}, [], []
    for index in members:
        case_inputs, case_templates = _instance(index, prefix=f"c{index}_")
        inputs.update(case_inputs)
        templates += case_templates
        counts.append(len(case_templates))
    try:
        results = _compile(inputs, templates, folder)[1](*inputs.values())
    except (NumbaError, ArithmeticError, LookupError, TypeError, ValueError):
        return None
    split = np.cumsum([0] + counts)
    return {index: results[split[k]:split[k + 1]] for k, index in enumerate(members)}


@pytest.fixture(scope="module", autouse=True)
def cache_dir():
    with numba_for_tests() as path:
        yield path


@pytest.mark.parametrize("index", [pytest.param(i, id=CASE_PARAMS[i].id) for i in NUMBA_CASES])
def test_rule_compiles_under_numba(index, cache_dir):
    inputs, templates = _instance(index)
    python, compiled = _compile(inputs, templates, cache_dir / "rules")
    expected = python(*inputs.values())
    grouped = _group_results(NUMBA_CASES.index(index) // GROUP, cache_dir / "rules")
    compiled = grouped[index] if grouped else compiled(*inputs.values())
    for got, want, text in zip(compiled, expected, templates):
        _assert_kind(got, want, f"numba {text}")
        _close(got, want, 1e-12, f"numba {text}")


def test_every_rule_has_a_case():
    """Collectives mean something only under vmap/pmap: tests/test_vmap.py checks their rules."""
    tested = {id(lookup_call(fn, len(case.args))) for fn, case, _ in _cases()}
    missing = [f"{_name(r.fn)}{r.signature}" for r in _all_rules() if id(r) not in tested and r.fn not in COLLECTIVES]
    assert not missing, f"rules without a test case: {missing}"


def _resolve(node):
    """The object a template's call target names (np.linalg.solve, math.exp, a runtime helper)."""
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value), node.attr)
    return NAMESPACE[node.id]


def _all_rules():
    return [r for rs in rules._RULES.values() for r in rs]


@pytest.mark.parametrize("rule", _all_rules(), ids=lambda r: f"{_name(r.fn)}{r.signature}")
def test_templates_use_only_differentiable_functions(rule):
    """Second derivatives of generated code need a rule for everything a template calls."""
    params = set(rule.signature.parameters)
    allowed = {"g", "ans", "np", "math"} | params | {f"t_{p}" for p in params}
    for template in (t for t in rule.vjp + rule.jvp if t is not None):
        tree = ast.parse(template, mode="eval")
        callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                target = _resolve(node.func)
                assert lookup(target) is not None or is_nondifferentiable(target), \
                    f"{template}: {ast.unparse(node.func)} has no rule"
            elif isinstance(node, (ast.BinOp, ast.UnaryOp)) and not isinstance(node.op, ast.Not):
                op = getattr(__import__("gast"), type(node.op).__name__)
                assert lookup(OPERATOR_FUNCTIONS[op]) is not None, f"{template}: operator {op.__name__}"
            elif isinstance(node, ast.Name) and id(node) not in callees:
                assert node.id in allowed, f"{template}: unknown name {node.id}"
            assert not isinstance(node, (ast.Lambda, ast.IfExp, ast.Subscript, ast.Starred)), template


def test_runtime_helpers_have_rules():
    """The derivative helpers (not the passes' tape and batching machinery) are differentiable."""
    helpers = [getattr(rt, n) for n in rt.__all__
               if getattr(getattr(rt, n), "__module__", "").rsplit(".", 1)[-1] in ("broadcast", "reduce", "shape", "linalg")]
    assert len(helpers) > 20
    assert not [h.__name__ for h in helpers if lookup(h) is None and not is_nondifferentiable(h)]


def test_lookup():
    assert lookup(np.sin).vjp == ("g * np.cos(x)",)
    assert lookup(np.sum).vjp[1:] == (None, None) and lookup(np.sum).jvp[0].startswith("reduce_sum")
    assert lookup(np.concatenate).sequence_params == {"arrays"}
    assert lookup(lambda x: x) is None and lookup([]) is None and lookup(np.linalg.eig) is None
    assert not is_nondifferentiable(np.sin) and is_nondifferentiable(np.zeros) and is_nondifferentiable(len)
    assert not is_nondifferentiable([])
    assert str(lookup_call(builtins.max, 1).signature) == "(x)"
    assert str(lookup_call(builtins.max, 2).signature) == "(x, y)"
    assert lookup_call(builtins.max, 3) is None and lookup_call(builtins.sum, 2) is None
    assert lookup_call(np.reshape, 1) is lookup(np.reshape)  # shape given by keyword
    assert all(lookup(fn) is not None for fn in OPERATOR_FUNCTIONS.values() if fn is not np.floor_divide)
    assert is_nondifferentiable(OPERATOR_FUNCTIONS[__import__("gast").FloorDiv])
    assert not set(rules._RULES) & rules._NONDIFF


def _grad(f, *args):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return [float(np.asarray(d)) for d in jax.grad(f, argnums=tuple(range(len(args))))(*args)]


def test_ties_and_kinks_follow_jax():
    jnp = pytest.importorskip("jax.numpy")
    ns = {**NAMESPACE, "g": 1.0}
    for fn, jfn in [(np.maximum, jnp.maximum), (np.minimum, jnp.minimum), (np.fmax, jnp.fmax), (np.fmin, jnp.fmin)]:
        rule = lookup(fn)
        got = [eval(t, {**ns, "x": 1.0, "y": 1.0, "ans": 1.0}) for t in rule.vjp]
        assert got == _grad(jfn, 1.0, 1.0), fn
    assert eval(lookup(np.abs).vjp[0], {**ns, "x": 0.0}) == _grad(jnp.abs, 0.0)[0]
    x = np.array([1.0, 3.0, 3.0])
    got = eval(lookup(np.max).vjp[0], {**ns, "a": x, "ans": 3.0, "axis": None, "keepdims": False})
    np.testing.assert_array_equal(got, [0.0, 0.5, 0.5])
    x = np.array([0.0, 3.0, 2.0])
    got = eval(lookup(np.prod).vjp[0], {**ns, "a": x, "ans": 0.0, "axis": None, "keepdims": False})
    np.testing.assert_array_equal(got, [6.0, 0.0, 0.0])
    ns_pow = {**ns, "x": 0.0, "y": 0.0, "ans": 1.0}
    with np.errstate(divide="ignore", invalid="ignore"):  # JAX 0.10 gives nan for x; x ** 0 is flat
        assert [eval(t, ns_pow) for t in lookup(np.power).vjp] == [0.0, 0.0]
