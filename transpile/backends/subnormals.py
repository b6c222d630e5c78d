"""`jit(..., flush_subnormals=True)`: run a compiled function with subnormal floats flushed to zero.

An x86 core multiplies a subnormal (a float64 below 2.2e-308) through a microcode assist that
costs about a hundred times an ordinary multiply. Gradients meet them where a softmax's weights
underflow: GMM's gradient at d=64 spends two thirds of its time in BLAS products of rows that
are mostly subnormal, whose contributions vanish from every sum anyway. XLA runs JAX's CPU code
with the core's FTZ and DAZ bits set (results and inputs below the normal range read as zero);
this option does the same for the calling thread, for the duration of each call only.
"""
import functools
import platform

import llvmlite.ir as llvm_ir
import numba
from numba.core import cgutils, types
from numba.extending import intrinsic

FLUSH_TO_ZERO = 0x8000      # MXCSR bit 15: subnormal results become zero
DENORMALS_ARE_ZERO = 0x0040  # MXCSR bit 6: subnormal operands read as zero
SUPPORTED = platform.machine().lower() in ("x86_64", "amd64")

_I32 = llvm_ir.IntType(32)
_BYTE_POINTER = llvm_ir.IntType(8).as_pointer()


def _control_register_call(builder, name, slot):
    fn = cgutils.get_or_insert_function(builder.module, llvm_ir.FunctionType(llvm_ir.VoidType(), [_BYTE_POINTER]),
                                        name)
    builder.call(fn, [builder.bitcast(slot, _BYTE_POINTER)])


@intrinsic
def _read_mxcsr(typingctx):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, _I32)
        _control_register_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.zext(builder.load(slot), llvm_ir.IntType(64))
    return types.int64(), codegen


@intrinsic
def _write_mxcsr(typingctx, value):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, _I32)
        builder.store(builder.trunc(args[0], _I32), slot)
        _control_register_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()
    return types.none(types.int64), codegen


@numba.njit(cache=True)
def _flush_subnormals():
    """Set FTZ and DAZ on this thread; return the mode to restore."""
    mode = _read_mxcsr()
    _write_mxcsr(mode | FLUSH_TO_ZERO | DENORMALS_ARE_ZERO)
    return mode


@numba.njit(cache=True)
def _restore(mode):
    _write_mxcsr(mode)


def flushing_subnormals(fn):
    """`fn` run with subnormals flushed on the calling thread, its mode restored even if `fn` raises."""
    @functools.wraps(fn)
    def call(*args):
        mode = _flush_subnormals()
        try:
            return fn(*args)
        finally:
            _restore(mode)
    return call


def check_supported(parallel):
    """A clear error where the option cannot do what it says."""
    if not SUPPORTED:
        raise NotImplementedError(f"flush_subnormals=True sets x86's MXCSR register; this machine is "
                                  f"{platform.machine()}. Leave it False here.")
    if parallel:
        raise ValueError("flush_subnormals=True sets the calling thread's floating-point mode, which the worker "
                         "threads of jit(..., parallel=True) do not share; use one of the two, or tp.pmap, "
                         "whose workers each set it")
