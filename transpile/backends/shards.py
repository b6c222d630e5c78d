"""pmap executors: run a shard program's segments on blocks of shards, combine at collectives.

A *group* is where the shards live. `LocalGroup` (the threads backend) holds every shard in this
process, so a collective only reduces rows; `CudaGroup` likewise, each worker's block a kernel on
its own GPU; `MpiGroup` (backends/mpi.py) holds one block of shards per rank and completes each
collective with an MPI call. Within a process, a segment's block of
shards is split again among worker threads; the segment code is compiled with `nogil=True`, so
the threads run at the same time, reading their shards of the inputs in place (no copies).
"""
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import pytree
from ..transforms.shard import SegmentStep


class LocalGroup:
    """Every shard in this process: collectives see all rows already."""

    backend = "threads"

    def rows(self, n):
        """(first, end, phantom): this process's shards are rows first..end-1 of n."""
        return 0, n, False

    def allreduce(self, part, op):
        return part

    def allgather(self, rows, n, phantom):
        return rows

    def worker_context(self, worker):
        """Where worker `worker` runs its block: here, on its own thread."""
        return contextlib.nullcontext()


class CudaGroup(LocalGroup):
    """Every shard in this process, each worker's block of shards a kernel on its own GPU."""

    backend = "cuda"

    def __init__(self, devices=None):
        from numba import cuda
        self.gpus = cuda.gpus
        count = len(self.gpus)
        if devices is None:
            devices = list(range(count))
        elif isinstance(devices, int):
            devices = list(range(min(devices, count)))
        if not devices or any(not 0 <= d < count for d in devices):
            raise ValueError(f"pmap(backend='cuda', devices={devices!r}): this machine has {count} CUDA "
                             f"device(s), numbered 0..{count - 1}")
        self.devices = list(devices)

    def worker_context(self, worker):
        return self.gpus[self.devices[worker % len(self.devices)]]


_pools = {}
_pools_lock = threading.Lock()


def _pool(workers):
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="transpile-pmap")
        return pool


def _blocks(rows, workers):
    """Contiguous blocks of rows, one per worker, sizes differing by at most one."""
    count = max(1, min(workers, rows))
    bounds = [rows * k // count for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _concatenate(results):
    """Block results (equal pytrees of batched arrays) joined along the shard axis."""
    if len(results) == 1:
        return results[0]
    flat = [pytree.flatten(r) for r in results]
    treedef = flat[0][1]
    leaves = [np.concatenate([np.asarray(f[0][k]) for f in flat]) for k in range(len(flat[0][0]))]
    return pytree.unflatten(treedef, leaves)


def run_segment(step, args, batched, rows, workers, group):
    """The segment on `rows` shards: one block per worker thread; the caller runs the first."""
    if not step.per_shard:
        value = step.block(*args)
        return pytree.unflatten(*_shared_rows(value, rows))
    blocks = _blocks(rows, workers)

    def run(worker):
        first, end = blocks[worker]
        with group.worker_context(worker):
            return step.block(*[a[first:end] if b else a for a, b in zip(args, batched)])

    futures = [_pool(workers - 1).submit(run, k) for k in range(1, len(blocks))]
    results = [run(0)] + [f.result() for f in futures]
    return _concatenate(results)


def _shared_rows(value, rows):
    """(treedef, leaves) of a value every shard shares, each leaf repeated once per shard."""
    leaves, treedef = pytree.flatten(value)
    return treedef, [np.broadcast_to(np.asarray(v), (rows,) + np.shape(v)) for v in leaves]


_REDUCTIONS = {"psum": "sum", "pmean": "sum", "pmax": "max", "pmin": "min"}


def _scalar(value):
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def collective(step, env, group, n, first, end, phantom):
    """(value, batched) of a collective over every shard, from this process's rows."""
    if step.kind == "index":
        return np.arange(first, end), True
    value, batched = env[step.arg] if step.arg_is_name else (step.arg, False)
    local = value if batched else np.broadcast_to(np.asarray(value), (end - first,) + np.shape(value))
    if step.kind == "gather":
        return group.allgather(np.ascontiguousarray(local), n, phantom), False
    op = _REDUCTIONS.get(step.name, "sum")
    if op == "sum":
        part = np.zeros_like(local[0]) if phantom else local.sum(axis=0)
    else:  # a phantom's rows duplicate a real shard's: harmless to max and min
        part = local.max(axis=0) if op == "max" else local.min(axis=0)
    total = group.allreduce(np.asarray(part), op)
    if step.name == "pmean":
        total = total / n
    if step.kind == "scatter":
        return total[first:end], True
    return _scalar(total), False


def run_program(program, leaves, batched, n, group, workers):
    """The pmapped function's result on all n shards (every process gets all of it)."""
    first, end, phantom = group.rows(n)
    rows = end - first
    env = {p: ((leaf[first:end], True) if b else (leaf, False))
           for p, leaf, b in zip(program.params, leaves, batched)}
    result = None
    for step in program.steps:
        if not isinstance(step, SegmentStep):
            env[step.target] = collective(step, env, group, n, first, end, phantom)
            continue
        args = [env[p][0] for p in step.params]
        flags = [env[p][1] for p in step.params]
        out = run_segment(step, args, flags, rows, workers, group)
        if step is program.steps[-1]:
            result = out
        else:
            env.update((name, (value, True)) for name, value in zip(step.outputs, out))
    leaves, treedef = pytree.flatten(result)
    return pytree.unflatten(treedef, [group.allgather(np.ascontiguousarray(v), n, phantom) for v in leaves])
