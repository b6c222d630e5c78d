"""The GPU form of a function: what one CUDA thread runs (a Numba CUDA device function).

A device function may not allocate: no growable tapes, no lists, no NumPy arrays. This pass checks
that at generation time, naming the user's line and why, and rewrites what has a GPU form: tapes of
constant size become per-thread local arrays (local_tapes.py), NumPy ufuncs on scalars their `math`
twins (Numba's CUDA target compiles `math`, not `np.exp`), `max(a, b)`/`min(a, b)` pairwise helpers
(backends/device_math.py).
Callees become device functions too, so every function a kernel reaches passes through here.
"""
import copy
import math

import gast
import numpy as np

from .. import gastutil as g
from .. import runtime
from ..analysis.kinds import infer
from ..analysis.names import NamePool, all_names, bind_object, dotted, resolve
from ..errors import CompileError
from ..ir import FunctionSpec, IRFunction
from ..pipeline import register_transform
from .local_tapes import localize_tapes

_MATH_TWINS = {
    np.exp: "exp", np.expm1: "expm1", np.log: "log", np.log1p: "log1p", np.log10: "log10",
    np.log2: "log2", np.sqrt: "sqrt", np.sin: "sin", np.cos: "cos", np.tan: "tan",
    np.arcsin: "asin", np.arccos: "acos", np.arctan: "atan", np.sinh: "sinh", np.cosh: "cosh",
    np.tanh: "tanh", np.arctan2: "atan2", np.hypot: "hypot", np.floor: "floor", np.ceil: "ceil",
    np.fabs: "fabs", np.absolute: "fabs", np.power: "pow",
}
_BUILTINS = {abs, min, max, float, int, bool, range, len}
_PAIRWISE = {max: "larger", min: "smaller"}
_RUNTIME = {runtime.grad_seed, runtime.stop_gradient, runtime.select, runtime.balanced_eq}  # scalar forms
_TAPE = {runtime.new_tape, runtime.tape_reserve, runtime.tape_restore, runtime.shape_restore}
TAPE_REASON = ("reverse mode through a loop of run-time length needs a growable tape, which a GPU "
               "thread cannot allocate")
TAPE_HINT = ("On the GPU use forward mode, which needs no tape: tp.jacfwd w.r.t. scalar arguments, or "
             "tp.jvp called inside the function; or give the loop a constant trip count (range(16)): "
             "its tape then lives in per-thread local memory.")


def _among(obj, group):
    return any(obj is member for member in group)


def device_spec(spec):
    """The spec of `spec`'s device function (itself when it is one)."""
    if spec.chain and spec.chain[-1][0] == "device":
        return spec
    return FunctionSpec(spec.pyfunc, spec.chain + (("device", ()),), spec.kinds)


def _user_callee(obj):
    from ..assemble import callee_spec
    return callee_spec(obj)


def _statements(fdef):
    return [node for node in gast.walk(fdef) if isinstance(node, gast.stmt)]


def own_expressions(stmt):
    """The expression nodes of `stmt` itself, not of the statements nested in it."""
    out, todo = [], [child for child in gast.iter_child_nodes(stmt) if not isinstance(child, gast.stmt)]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(gast.iter_child_nodes(node))
    return out


class _DeviceRewriter:
    def __init__(self, ir):
        self.ir = ir
        self.namespace = dict(ir.namespace)
        self.pool = NamePool(all_names(ir.fdef), self.namespace)
        self.kinds = {} if ir.kinds is None else infer(ir.fdef, ir.namespace, ir.kinds)

    def is_array(self, node):
        kind = self.kinds.get(node.id) if isinstance(node, gast.Name) else None
        return isinstance(kind, tuple) and isinstance(kind[1], int) and kind[1] > 0

    def refuse_array_result(self, fdef):
        """A thread writes one value per result leaf: an array result would have to be made."""
        last = fdef.body[-1]
        if not isinstance(last, gast.Return):
            return
        displays = {s.targets[0].id: s.value for s in gast.walk(fdef)
                    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                    and isinstance(s.value, gast.Tuple)}
        todo = [last.value]
        while todo:
            node = todo.pop()
            if isinstance(node, gast.Name) and node.id in displays:
                todo.extend(displays[node.id].elts)
            elif self.is_array(node):
                self.refuse(last, f"{self.ir.spec.label} returns an array ({node.id}); a GPU thread "
                                  "computes scalars", "Return scalars (one per result), or use "
                                  "target='cpu' for array-valued results.")

    def refuse(self, node, reason, hint=None):
        raise CompileError(f"cannot run on the GPU: {reason}", node=node, filename=self.ir.filename,
                           hint=hint)

    def is_local_array(self, func):
        """`cuda.local.array`, which local tapes are made of (resolved by name: the simulator
        makes `cuda.local` only while a kernel runs)."""
        parts = dotted(func)
        return parts is not None and parts[1:] == ["local", "array"] \
            and getattr(self.namespace.get(parts[0]), "__name__", None) == "numba.cuda"

    def call(self, node, stmt):
        """Check or rewrite the call `node`; errors point at `stmt`, which carries the user's line."""
        if not isinstance(node.func, (gast.Name, gast.Attribute)):
            self.refuse(stmt, "a call of a computed function")
        obj = resolve(node.func, self.namespace)
        label = ".".join(dotted(node.func) or ["the function"])
        if _among(obj, _TAPE):
            self.refuse(stmt, TAPE_REASON, TAPE_HINT)
        if isinstance(obj, np.ufunc) and any(self.is_array(a) for a in node.args):
            self.refuse(stmt, f"np.{obj.__name__} of an array would allocate its result")
        if isinstance(obj, np.ufunc) and obj in _MATH_TWINS:
            name = bind_object(self.namespace, self.pool, "math", math)
            node.func = g.dotted_name(f"{name}.{_MATH_TWINS[obj]}")
            return
        if _among(obj, _PAIRWISE) and len(node.args) == 2 and not node.keywords:
            from ..backends import device_math
            name = bind_object(self.namespace, self.pool, "device_math", device_math)
            node.func = g.dotted_name(f"{name}.{_PAIRWISE[obj]}")
            return
        if getattr(obj, "__module__", None) == "math" or _among(obj, _BUILTINS | _RUNTIME) \
                or self.is_local_array(node.func):
            return
        callee = _user_callee(obj)
        if callee is not None and isinstance(node.func, gast.Name):
            self.namespace[node.func.id] = device_spec(callee)
            return
        self.refuse(stmt, f"{label}() has no GPU form inside a kernel (GPU threads cannot allocate "
                          "arrays or call library code other than `math`)",
                    "Write the per-example function with scalars and `math`; index arrays "
                    "passed in, but create none.")

    def rewrite(self):
        fdef = copy.deepcopy(self.ir.fdef)
        self.refuse_array_result(fdef)
        loop = localize_tapes(fdef, self.namespace)
        if loop is not None:
            self.refuse(loop, TAPE_REASON, TAPE_HINT)
        for stmt in _statements(fdef):
            for node in own_expressions(stmt):
                if isinstance(node, gast.Call):
                    self.call(node, stmt)
                elif isinstance(node, (gast.List, gast.ListComp, gast.Dict, gast.Set)):
                    self.refuse(stmt, "a list, dict or set (GPU threads cannot allocate)")
                elif isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult):
                    self.refuse(stmt, "a matrix product `@` inside a kernel", "Write the dot product "
                                      "as a loop over the elements.")
                elif isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare)) and any(
                        self.is_array(operand) for operand in gast.iter_child_nodes(node)):
                    self.refuse(stmt, "arithmetic on whole arrays would allocate its result",
                                "Loop over the elements, or use target='cpu'.")
        out = IRFunction(fdef=fdef, namespace=self.namespace, filename=self.ir.filename,
                         spec=self.ir.spec)
        out.groups = self.ir.groups
        return out


@register_transform("device")
def device(ir):
    return _DeviceRewriter(ir).rewrite()
