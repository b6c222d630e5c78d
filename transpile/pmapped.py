"""The pmapped-function object: splits mapped arguments into shards and runs the shard program
(transforms/shard.py) on an executor group (backends/shards.py, backends/mpi.py)."""
import inspect
import os
import threading

import numpy as np

from . import pytree
from .analysis.kinds import kind_of_value
from .backends.shards import CudaGroup, LocalGroup, run_program
from .function import _structure_owner, as_spec, bind_arguments
from .pipeline import RESULT_STRUCTURES
from .transforms.batch_axes import freeze, leaf_in_axes, leaf_out_axes, resolve_in_axes
from .transforms.shard import ShardProgram

BACKENDS = ("threads", "mpi", "cuda")


def _pmap_message(exc):
    """vmap's in_axes/out_axes checks, worded for pmap."""
    return ValueError(str(exc).replace("vmap", "pmap"))


def _structure(treedef):
    """A result's tuple nesting in the form leaf_out_axes reads (None for one value)."""
    if treedef == pytree.LEAF:
        return None
    return tuple(_structure(child) for child in treedef[2])


def _group(backend, devices):
    if backend == "threads":
        return LocalGroup()
    if backend == "mpi":
        from .backends.mpi import MpiGroup
        return MpiGroup()
    return CudaGroup(devices)


class Pmapped:
    """`fun` run as parallel shards over the leading axis of its mapped arguments."""

    refuses_transforms = ("pmap must be the outermost transformation (apart from jit): write "
                          "tp.pmap(tp.grad(f)) or call tp.grad inside the pmapped function")

    def __init__(self, fun, axis_name=None, in_axes=0, out_axes=0, backend=None, devices=None,
                 options=None):
        backend = backend or "threads"
        if backend not in BACKENDS:
            raise ValueError(f"pmap backend={backend!r}; choose one of {', '.join(map(repr, BACKENDS))}")
        if isinstance(fun, Pmapped):
            raise TypeError("pmap of a pmapped function: nest vmap inside pmap instead "
                            "(tp.pmap(tp.vmap(f))), as in JAX")
        self.spec = as_spec(fun)
        self.fun = fun
        self.axis_name = axis_name
        self.in_axes = freeze(in_axes)
        self.out_axes = freeze(out_axes)
        self.backend = backend
        self.target = "cuda" if backend == "cuda" else "cpu"
        self.devices = devices
        inherited = dict(getattr(fun, "options", {}) or {})
        self.options = {**inherited, **(options or {}), "nogil": True, "parallel": False}
        self.options.setdefault("cache", True)
        self.options.setdefault("fuse", True)
        self._signature = inspect.signature(getattr(fun, "signature_source", self.spec.pyfunc))
        self._programs = {}
        self._lock = threading.Lock()
        self._group = None
        shaper, shaper_options = _structure_owner(self.spec.chain)
        self._rebuild = RESULT_STRUCTURES.get(shaper)  # gives results the arguments' structure back
        self._rebuild_options = dict(shaper_options)
        self.__name__ = self.spec.label + "_pmap"
        self.__wrapped__ = self.spec.pyfunc

    @property
    def group(self):
        if self._group is None:
            self._group = _group(self.backend, self.devices)
        return self._group

    @property
    def workers(self):
        """Worker threads in this process: one per GPU (cuda); `devices` (a count or a list), else
        one per core (threads) or one per rank (mpi)."""
        if self.backend == "cuda":
            return len(self.group.devices)
        if self.devices is not None:
            return self.devices if isinstance(self.devices, int) else len(self.devices)
        return (os.cpu_count() or 1) if self.backend == "threads" else 1

    def with_options(self, options):
        return Pmapped(self.fun, self.axis_name, self.in_axes, self.out_axes, self.backend,
                       self.devices, {**self.options, **options})

    def _bind(self, args, kwargs):
        return bind_arguments(self._signature, self.__name__, args, kwargs)

    def _prepare(self, args):
        """(leaves with shard axes first, batched flags, shard count, program) for a call."""
        leaves, treedefs, owners = [], [], []
        for name, a in zip(self._signature.parameters, args):
            arg_leaves, treedef = pytree.flatten(a)
            leaves += arg_leaves
            treedefs.append(treedef)
            owners += [name] * len(arg_leaves)
        treedefs = tuple(treedefs)
        kinds = [kind_of_value(leaf) for leaf in leaves]
        for name, leaf, kind in zip(owners, leaves, kinds):
            if kind is None:
                raise TypeError(f"{self.__name__}(): argument {name!r} has a {type(leaf).__name__} leaf; "
                                "pmapped functions take floats, ints, bools, NumPy arrays and pytrees of them")
        structured = any(t != pytree.LEAF for t in treedefs)
        try:
            axes = leaf_in_axes(self.in_axes, len(leaves), treedefs if structured else None)
            axes = resolve_in_axes(axes, owners, kinds)
        except ValueError as exc:
            raise _pmap_message(exc) from None
        n = None
        moved = []
        for name, leaf, axis in zip(owners, leaves, axes):
            if axis is None:
                moved.append(leaf)
                continue
            size = leaf.shape[axis]
            if n is None:
                n, first_name = size, name
            elif size != n:
                raise ValueError(f"pmap got inconsistent sizes for the mapped axes: argument {name!r} has "
                                 f"{size} shards along axis {axis}, argument {first_name!r} has {n}")
            moved.append(np.moveaxis(leaf, axis, 0) if axis else leaf)
        if n == 0:
            raise ValueError("pmap needs at least one shard, but the mapped axis has size 0")
        shard_kinds = tuple(kind_of_value(leaf[0]) if a is not None else kind
                            for leaf, a, kind in zip(moved, axes, kinds))
        spec = self.spec.first("flatten", treedefs=treedefs) if structured else self.spec
        key = (treedefs, shard_kinds, tuple(a is not None for a in axes))
        program = self._programs.get(key)
        if program is None:
            with self._lock:
                program = self._programs.get(key)
                if program is None:
                    program = ShardProgram(spec.with_kinds(shard_kinds), self.axis_name,
                                           [a is not None for a in axes], self.options, self.target)
                    self._programs[key] = program
        return moved, [a is not None for a in axes], n, program, treedefs

    def __call__(self, *args, **kwargs):
        group = self.group  # an MPI run outside mpiexec fails here, before any code generation
        args = self._bind(args, kwargs)
        leaves, batched, n, program, treedefs = self._prepare(args)
        result = run_program(program, leaves, batched, n, group, self.workers)
        result = self._place_outputs(result)
        if self._rebuild is None or all(t == pytree.LEAF for t in treedefs):
            return result
        return self._rebuild(result, treedefs, **self._rebuild_options)  # e.g. gradients of dict arguments

    def _place_outputs(self, result):
        leaves, treedef = pytree.flatten(result)
        try:
            axes = leaf_out_axes(self.out_axes, _structure(treedef))
        except ValueError as exc:
            raise _pmap_message(exc) from None
        placed = []
        for leaf, axis in zip(leaves, axes):
            if axis is None:
                placed.append(leaf[0])
            else:
                placed.append(np.moveaxis(leaf, 0, axis) if axis else leaf)
        return pytree.unflatten(treedef, placed)

    def source(self, *example_args):
        """The shard program's generated code (for the argument kinds of `example_args`)."""
        if not example_args:
            params = inspect.signature(self.spec.pyfunc).parameters
            return ShardProgram(self.spec, self.axis_name, [True] * len(params), self.options,
                                self.target).source()
        program = self._prepare(self._bind(example_args, {}))[3]
        return program.source()

    def __repr__(self):
        return f"<transpile {self.__name__} backend={self.backend}>"
