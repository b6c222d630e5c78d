"""`python -m benchmarks --check`: the hand-written Numba code against the plain user functions.

For each problem, at small sizes: the Numba primal must equal the plain NumPy user function, and
the Numba gradient must match central differences of the plain function along random directions
(one per differentiated argument, and one moving them all), with relative error below TOLERANCE.
"""
from __future__ import annotations

import numpy as np

from benchmarks.harness import relative_error
from benchmarks.problems import PROBLEMS

TOLERANCE = 1e-6
STEP = 1e-6


def _directional(grads, directions, argnums, in_axes):
    """The derivative of the (possibly batched) output along `directions` ({argnum: direction}),
    from the gradients (one per argnum). A batched argument's gradient pairs with its direction
    elementwise (vmap over both); an unbatched one's contracts over the argument's axes.
    """
    total = 0.0
    for argnum, g in zip(argnums, grads):
        if argnum not in directions:
            continue
        g, v = np.asarray(g), np.asarray(directions[argnum])
        if in_axes is not None and in_axes[argnum] == 0:
            total = total + g * v
        else:
            total = total + np.tensordot(g, v, axes=v.ndim)
    return total


def _shifted(args, directions, h):
    return tuple(a + h * directions[i] if i in directions else a for i, a in enumerate(args))


def check_problem(name: str, module, rng) -> bool:
    argnums = getattr(module, "ARGNUMS", (0,))
    in_axes = getattr(module, "IN_AXES", None)
    ok = True
    for size in module.check_sizes():
        args = module.make_args(size)
        reference = module.reference(args)
        plain = module.plain_primal(args)
        findings = [("primal vs plain NumPy", relative_error(reference["primal"], plain))]
        grads = reference["grad"]
        if getattr(module, "VALUE_AND_GRAD", False):
            value, grads = grads
            findings.append(("value vs plain NumPy", relative_error(value, plain)))
        if len(argnums) == 1:
            grads = (grads,)
        for moved in [(a,) for a in argnums] + ([argnums] if len(argnums) > 1 else []):
            directions = {a: rng.standard_normal(np.shape(args[a])) * (np.abs(args[a]) + 0.1) for a in moved}
            plus = module.plain_primal(_shifted(args, directions, STEP))
            minus = module.plain_primal(_shifted(args, directions, -STEP))
            fd = (np.asarray(plus) - np.asarray(minus)) / (2 * STEP)
            exact = _directional(grads, directions, argnums, in_axes)
            findings.append((f"d/d args {','.join(map(str, moved))} vs central differences",
                             relative_error(exact, fd)))
        worst = max(err for _, err in findings)
        verdict = "ok" if worst <= TOLERANCE else "MISMATCH"
        ok &= verdict == "ok"
        details = "; ".join(f"{what} {err:.1e}" for what, err in findings)
        print(f"{verdict:8} {name} {size.label}: {details}", flush=True)
    return ok


def run(names: list[str]) -> int:
    """Checks each distinct problem among `names`; returns the exit status (1 on a mismatch)."""
    rng = np.random.default_rng(0)
    seen = set()
    ok = True
    for name in names:
        module = PROBLEMS[name]
        if module.reference in seen:  # "compile" reuses the Euler problem's code
            continue
        seen.add(module.reference)
        ok &= check_problem(name, module, rng)
    print("all hand-written adjoints match" if ok else "hand-written adjoint mismatch", flush=True)
    return 0 if ok else 1
