"""Pytree arguments become leaf parameters: `params["w"]` turns into the variable `params_w`.

Runs first in every chain whose call has container arguments, so later passes see only
arrays and scalars, which is what Numba compiles well.
"""
import copy
import re

import gast

from .. import gastutil as g
from .. import pytree
from ..analysis.names import NamePool, all_names
from ..errors import UnsupportedSyntaxError
from ..ir import IRFunction
from ..pipeline import register_transform


def _leaf_name(param, path, pool):
    text = "_".join([param] + [re.sub(r"\W", "_", str(k)) for k in path])
    return pool.fresh(text)


class _Flatten:
    def __init__(self, ir, treedefs):
        self.ir = ir
        self.pool = NamePool(all_names(ir.fdef), ir.namespace)
        self.aliases = {}  # name -> (treedef, {path: leaf name}, path)
        self.params = []
        self.groups = []
        for arg, treedef in zip(ir.fdef.args.args, treedefs):
            if treedef == pytree.LEAF:
                self.params.append(arg.id)
                self.groups.append((arg.id,))
                continue
            leaves = {path: _leaf_name(arg.id, path, self.pool) for path in pytree.paths(treedef)}
            self.aliases[arg.id] = (treedef, leaves, ())
            self.params += list(leaves.values())
            self.groups.append(tuple(leaves.values()))

    def error(self, node, what):
        return UnsupportedSyntaxError(
            f"{what}: structured arguments (tuples, lists, dicts) can only be read with constant "
            "keys or indices", node=node, filename=self.ir.filename,
            hint="Read the leaves with constant keys (params['w'], pair[0]) before using them.")

    def block(self, stmts):
        out = []
        for s in stmts:
            out += self.stmt(s)
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            value = s.value
            if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) \
                    and value.func.id == "len" and len(value.args) == 1 \
                    and isinstance(value.args[0], gast.Name) and value.args[0].id in self.aliases:
                treedef = self.aliases[value.args[0].id][0]
                return [g.assign(s.targets[0].id, g.const(len(treedef[2])), s)]
            resolved = self.subtree(value)
            if resolved is not None:
                treedef, leaves, path = resolved
                name = s.targets[0].id
                if treedef == pytree.LEAF:
                    return [g.assign(name, g.name(leaves[path]), s)]
                self.aliases[name] = resolved
                return []
        for field in ("body", "orelse"):
            if getattr(s, field, None):
                setattr(s, field, self.block(getattr(s, field)) or [gast.Pass()])
        for node in gast.walk(s):
            if isinstance(node, gast.Name) and node.id in self.aliases:
                raise self.error(node, f"{node.id!r} is used as a whole")
        return [s]

    def subtree(self, value):
        """(treedef, leaves, path) that `value` selects from a structured alias, else None."""
        if isinstance(value, gast.Name) and value.id in self.aliases:
            return self.aliases[value.id]
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) \
                and value.value.id in self.aliases:
            treedef, leaves, path = self.aliases[value.value.id]
            if not isinstance(value.slice, gast.Constant):
                raise self.error(value, "a non-constant index")
            return self._child(treedef, leaves, path, value.slice.value, value)
        if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) \
                and value.value.id in self.aliases:
            treedef, leaves, path = self.aliases[value.value.id]
            if treedef[0] != "namedtuple" or value.attr not in treedef[1]._fields:
                raise self.error(value, f"attribute {value.attr!r}")
            return self._child(treedef, leaves, path, treedef[1]._fields.index(value.attr), value)
        return None

    def _child(self, treedef, leaves, path, key, node):
        kind = treedef[0]
        if kind == "dict":
            if key not in treedef[1]:
                raise self.error(node, f"key {key!r} not in the argument")
            index = treedef[1].index(key)
        else:
            size = len(treedef[2])
            if not isinstance(key, int) or not -size <= key < size:
                raise self.error(node, f"index {key!r} out of range")
            index = key % size
            key = index
        return treedef[2][index], leaves, path + (key,)

    def build(self):
        fdef = copy.deepcopy(self.ir.fdef)
        fdef.body = self.block(fdef.body)
        fdef.args.args = [g.name(p) for p in self.params]
        for a in fdef.args.args:
            a.ctx = gast.Param()
        ir = IRFunction(fdef=fdef, namespace=dict(self.ir.namespace), filename=self.ir.filename,
                        spec=self.ir.spec)
        ir.groups = self.groups
        return ir


@register_transform("flatten", inner_kinds=lambda kinds, **options: None)
def flatten_arguments(ir, treedefs):
    return _Flatten(ir, treedefs).build()
