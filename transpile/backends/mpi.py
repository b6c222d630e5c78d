"""pmap on MPI ranks (`mpiexec -n N python prog.py`): each rank runs one block of shards and the
collectives are MPI collectives on NumPy buffers, so every rank ends with the whole result.

A rank left without shards (fewer shards than ranks) runs shard 0 as a *phantom*: it keeps the
program's shapes in step with the other ranks but adds nothing to sums, gathers or results.
"""
import contextlib
import os

import numpy as np

# set by mpiexec/mpirun launchers (MPICH hydra, Open MPI, PMIx, Slurm)
_LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("pmap(backend='mpi') needs mpi4py and an MPI library: "
                           "pip install 'transpile[mpi]' (mpi4py + mpich)") from None
    return MPI


class MpiGroup:
    """The shards of this rank; collectives over MPI.COMM_WORLD."""

    backend = "mpi"

    def __init__(self):
        MPI = _mpi()
        self.mpi = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        if self.size == 1 and not any(v in os.environ for v in _LAUNCHER_VARIABLES):
            raise RuntimeError("pmap(backend='mpi') runs one process per MPI rank, but this script was "
                               "not started by mpiexec. Run it as `mpiexec -n 2 python script.py`, or use "
                               "backend='threads' for the cores of this machine.")
        self.ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}

    def _bounds(self, n):
        return [n * k // self.size for k in range(self.size + 1)]

    def rows(self, n):
        bounds = self._bounds(n)
        first, end = bounds[self.rank], bounds[self.rank + 1]
        if first == end:
            return 0, 1, True
        return first, end, False

    def worker_context(self, worker):
        """Where worker `worker` of this rank runs its block: on its own thread."""
        return contextlib.nullcontext()

    def allreduce(self, part, op):
        send = np.array(part, order="C")  # a copy keeps 0-d values 0-d (ascontiguousarray would not)
        received = np.empty_like(send)
        self.comm.Allreduce(send, received, op=self.ops[op])
        return received

    def allgather(self, rows, n, phantom):
        """Every rank's rows, in rank order: shards 0..n-1."""
        own = rows[:0] if phantom else rows
        row_shape = rows.shape[1:]
        row_size = int(np.prod(row_shape, dtype=np.int64))
        bounds = self._bounds(n)
        counts = [(bounds[k + 1] - bounds[k]) * row_size for k in range(self.size)]
        out = np.empty((n,) + row_shape, dtype=rows.dtype)
        self.comm.Allgatherv(np.ascontiguousarray(own), [out, counts])
        return out
