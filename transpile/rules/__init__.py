"""Derivative rules, one dense table per library: numpy.py, math.py, builtins.py, runtime.py,
collectives.py; batching.py holds the batching (vmap) rules and the rules of its helpers.

A rule is a pair of source templates per positional parameter of a library function, spliced by
the reverse and forward passes into generated code. A template is one Python expression over

    g          the cotangent of the output          ans        the output value
    <param>    the call-site argument (or default)  t_<param>  the tangent of that argument

and `np.*`, `math.*` and the helpers of `transpile.runtime`. A vjp template is the cotangent of its
parameter, in that parameter's shape (scalar for a scalar). A jvp template is the parameter's
contribution to the output tangent; the output tangent is the sum of the contributions of the
active parameters, each broadcastable to `ans`. For a sequence parameter (`*arrays` in the spec,
e.g. np.concatenate) the vjp is a tuple with one cotangent per element, and `t_<param>` is the
tuple of the elements' tangents (zeros for inactive ones). Every function a template calls has a
rule or is non-differentiable, so generated code can be differentiated again.
"""
import inspect
import math as _math
import re
from dataclasses import dataclass

import gast
import numpy as np


@dataclass(frozen=True)
class Rule:
    fn: object
    signature: inspect.Signature
    vjp: tuple
    jvp: tuple
    sequence_params: frozenset


_RULES = {}
_NONDIFF = set()
_CARRIERS = {}


def _parse_spec(spec):
    """(signature, sequence params) of a spec such as "*arrays, axis=0" or "a, axis=None, *, keepdims=False"."""
    sequence = frozenset(re.findall(r"\*(\w+)", spec))
    plain = re.sub(r"\*(\w+)", r"\1", spec)
    return inspect.signature(eval(f"lambda {plain}: None", {"np": np, "math": _math})), sequence


def defrule(fns, spec, vjp=(), jvp=()):
    """Register templates for `fns` (one callable or a tuple of aliases); missing entries are None."""
    signature, sequence = _parse_spec(spec)
    n = len(signature.parameters)
    assert not {"g", "ans"} & set(signature.parameters), "g and ans are reserved template names"
    assert len(vjp) <= n and len(jvp) <= n, spec
    for template in (*vjp, *jvp):
        if template is not None:
            gast.parse(template, mode="eval")
    vjp = tuple(vjp) + (None,) * (n - len(vjp))
    jvp = tuple(jvp) + (None,) * (n - len(jvp))
    for fn in fns if isinstance(fns, tuple) else (fns,):
        _RULES.setdefault(fn, []).append(Rule(fn, signature, vjp, jvp, sequence))


@dataclass(frozen=True)
class Carrier:
    """A function that moves values without computing with them (a list tape's restore): its
    output tangent is one template over all `t_<param>`, zeros standing for inactive ones."""
    fn: object
    signature: inspect.Signature
    jvp: str


def defcarrier(fns, spec, jvp):
    """Register the whole-output jvp template of value-carrying functions (forward mode only)."""
    signature, _ = _parse_spec(spec)
    gast.parse(jvp, mode="eval")
    for fn in fns if isinstance(fns, tuple) else (fns,):
        _CARRIERS[fn] = Carrier(fn, signature, jvp)


def lookup_carrier(fn):
    try:
        return _CARRIERS.get(fn)
    except TypeError:
        return None


def nondiff(*fns):
    """Register functions whose output is a constant for differentiation (creation, predicates...)."""
    _NONDIFF.update(fns)


def _rules_of(fn):
    try:
        return _RULES.get(fn, ())
    except TypeError:  # unhashable callables have no rule
        return ()


def lookup(fn):
    """The rule of `fn`, or None; for a function with several meanings, the first registered."""
    rules = _rules_of(fn)
    return rules[0] if rules else None


def lookup_call(fn, nargs):
    """The rule of `fn` for a call with `nargs` positional arguments, or None.

    Builtins have a rule per meaning (max(a, b) is np.maximum, max(array) is np.max): the first
    rule whose required parameters the positional arguments fill wins, else the first they fit.
    """
    rules = _rules_of(fn)
    for bind in ("bind", "bind_partial"):
        for rule in rules:
            try:
                getattr(rule.signature, bind)(*range(nargs))
            except TypeError:
                continue
            return rule
    return None


def is_nondifferentiable(fn):
    """True for functions whose output carries no derivative (zeros, shape, isnan, argmax...)."""
    try:
        return fn in _NONDIFF
    except TypeError:
        return False


OPERATOR_FUNCTIONS = {
    gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply, gast.Div: np.true_divide,
    gast.Pow: np.power, gast.MatMult: np.matmul, gast.FloorDiv: np.floor_divide, gast.Mod: np.mod,
    gast.USub: np.negative, gast.UAdd: np.positive,
}

from . import batching, builtins, collectives, math, numpy, runtime  # noqa: F401  (fill the tables)
