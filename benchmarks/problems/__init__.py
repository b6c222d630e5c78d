"""One module per benchmark problem; `PROBLEMS` maps the command-line names to them, in run order.

Each module provides: TITLE; the plain Python/NumPy user function that transpile consumes;
sizes(quick) and check_sizes() (lists of `harness.Size`); make_args(size) (the user function's
arguments, from a fixed seed); plain_primal(args) (the user function's result); the hand-written
Numba primal and adjoint, with reference(args) -> {"primal": ..., "grad": ...}; and rows(), the
`harness.Row`s to time, the hand-written Numba one first. ARGNUMS names the differentiated
arguments, IN_AXES the batched ones (vmapped problems), VALUE_AND_GRAD that the gradient call
also returns the value.
"""
from benchmarks.problems import blackscholes, checkpoint, compile_time, euler, fusion, gmm, logreg, lstm, overhead

PROBLEMS = {
    "gmm": gmm,
    "lstm": lstm,
    "euler": euler,
    "logreg": logreg,
    "blackscholes": blackscholes,
    "fusion": fusion,
    "overhead": overhead,
    "compile": compile_time,
    "checkpoint": checkpoint,
}
