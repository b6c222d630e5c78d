"""A call path that costs what a plain Python function call costs, for one argument signature.

A compiled call from Python pays Numba's dispatch (about 0.25 us) plus ours. Binding `*args,
**kwargs`, finding the argument kinds and looking them up in a table cost as much again (0.3-0.4
us), which doubles the time of a gradient of a 100-step loop. So after a call succeeds, the
Transformed object writes a function with the user's own parameters that checks, for each
argument, the exact type (and for arrays the rank and dtype kind) that call had, and passes the
arguments straight to the compiled code; anything else takes the general path. Where every
argument is a scalar of an exact type, the compiled code is the machine code Numba compiled for
those types (its `entry_point`), skipping Numba's own dispatch too (0.1 us): a Python int too large
for int64 (which Numba would type otherwise) raises OverflowError there and takes the general path.
"""
import inspect
import keyword

import numpy as np
from numba.core.errors import TypingError

_PLAIN_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_SCALAR_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


def _check_of(name, value, symbols):
    """The test that `name` holds a value of the same kind as `value`, or None if there is none."""
    if type(value) is np.ndarray:
        symbols["_tp_ndarray"] = np.ndarray
        return f"type({name}) is _tp_ndarray and {name}.ndim == {value.ndim} and {name}.dtype.kind == {value.dtype.kind!r}"
    if isinstance(value, _SCALAR_TYPES):
        symbol = f"_tp_type_{len(symbols)}"
        symbols[symbol] = type(value)
        return f"type({name}) is {symbol}"
    return None


def fast_entry(signature, label, args, target, general):
    """A function with `signature` that calls `target(*args)` for arguments like `args` and
    `general` for any other call; None when the signature or the arguments do not allow one."""
    params = list(signature.parameters.values())
    if len(params) != len(args) or any(p.kind not in _PLAIN_KINDS or p.name.startswith("_tp_") for p in params):
        return None
    symbols = {"_tp_target": target, "_tp_general": general, "_tp_TypingError": TypingError}
    checks = [_check_of(p.name, a, symbols) for p, a in zip(params, args)]
    if None in checks:
        return None
    if all(isinstance(a, _SCALAR_TYPES) for a in args):
        symbols["_tp_target"] = _compiled_for(target, args)
    names = ", ".join(p.name for p in params)
    slash = ", /" if any(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in params) else ""
    test = " and ".join(checks) or "True"
    name = label if label.isidentifier() and not keyword.iskeyword(label) else "entry"
    source = (f"def {name}({names}{slash}):\n"
              f"    if {test}:\n"
              f"        try:\n"
              f"            return _tp_target({names})\n"
              f"        except (_tp_TypingError, OverflowError):\n"
              f"            pass\n"
              f"    return _tp_general({names})\n")
    exec(compile(source, f"<transpile call path of {label}>", "exec"), symbols)
    entry = symbols[name]
    entry.__defaults__ = tuple(p.default for p in params if p.default is not inspect.Parameter.empty) or None
    return entry


def _compiled_for(target, args):
    """The entry point of the code a Numba dispatcher `target` compiled for `args`' types, or
    `target` itself (not a dispatcher, or no such code)."""
    overloads, typeof = getattr(target, "overloads", None), getattr(target, "typeof_pyval", None)
    if overloads is None or typeof is None:
        return target
    compiled = overloads.get(tuple(typeof(a) for a in args))
    return target if compiled is None else compiled.entry_point
