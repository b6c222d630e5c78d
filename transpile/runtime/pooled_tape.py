"""Typed tapes kept between calls of compiled code, so a gradient does not fault in fresh pages.

A tape of a million floats is 8 MB of fresh memory on every call: glibc returns large blocks to the
system when they are freed, and the next call faults every page in again (about 1 ms per MB on the
machines we measure, more than the arithmetic of the Euler loop that fills it). Under Numba, reverse
mode's typed stacks are taken from a cell kept in the compiled function (`take_tape`) and handed back
to it when the function returns (`give_back_tape`), so repeated calls reuse one block per tape.

A cell holds at most one block. Taking empties it atomically and handing back fills it only if it is
empty, so threads running the same compiled code each get a block of their own (one of them the
kept one). A block is handed back only when nothing else refers to it, and only blocks of at most
`MAX_POOLED_BYTES` are kept: each tape of each compiled function holds at most that much for the
life of the process. In Python both are plain: a fresh array, nothing handed back.
"""
import functools

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.imputils import impl_ret_new_ref
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array
from numba.np.numpy_support import from_dtype

from ._numba import numba_dtype

HEADER_BYTES = 64  # before a block's data: a mark that the block is ours, then its room in bytes
MARK = 0x5452414E5350494C  # "TRANSPIL"
MAX_POOLED_BYTES = 64 << 20

_WORD = ir.IntType(64)
_NULL = ir.Constant(cgutils.voidptr_t, None)


def take_tape(sample, capacity, slot):
    """An empty typed stack for scalars like `sample` with room for at least `capacity` of them;
    compiled, the block kept in the cell named `slot` when it is large enough."""
    return np.empty(capacity, dtype=np.asarray(sample).dtype)


def give_back_tape(tape, slot):
    """Keep `tape`'s block in the cell named `slot` for the next call (compiled code only)."""


def fresh_tape(tape, capacity):
    """A new stack of `tape`'s dtype with room for `capacity` items, in a block a cell can keep."""
    return np.empty(capacity, dtype=tape.dtype)


@overload(take_tape, prefer_literal=True, inline="always")
def _take_tape(sample, capacity, slot):
    if isinstance(slot, types.StringLiteral):
        take = _cell_intrinsics(slot.literal_value)[0]
        return lambda sample, capacity, slot: take(sample, capacity)
    return None


@overload(give_back_tape, prefer_literal=True, inline="always")
def _give_back_tape(tape, slot):
    if isinstance(slot, types.StringLiteral) and isinstance(tape, types.Array):
        give_back = _cell_intrinsics(slot.literal_value)[1]
        return lambda tape, slot: give_back(tape)
    return None


@overload(fresh_tape)
def _fresh_tape(tape, capacity):
    return lambda tape, capacity: _allocate_like(tape, capacity)


@functools.lru_cache(maxsize=None)
def _cell_intrinsics(slot):
    """(take, give back) for the cell `slot`; inlined, so the cell lives in the calling function."""

    @intrinsic
    def take(typingctx, sample, capacity):
        array_type = types.Array(from_dtype(np.dtype(numba_dtype(sample))), 1, "C")

        def codegen(context, builder, signature, args):
            room = context.cast(builder, args[1], signature.args[1], types.intp)
            return _take(context, builder, array_type, room, _cell(builder, slot))
        return array_type(sample, capacity), codegen

    @intrinsic
    def give_back(typingctx, tape):
        def codegen(context, builder, signature, args):
            _give_back(context, builder, tape, args[0], _cell(builder, slot))
            return context.get_dummy_value()
        return types.none(tape), codegen

    return take, give_back


@intrinsic
def _allocate_like(typingctx, tape, capacity):
    array_type = types.Array(tape.dtype, 1, "C")

    def codegen(context, builder, signature, args):
        return _take(context, builder, array_type, context.cast(builder, args[1], signature.args[1], types.intp), None)
    return array_type(tape, capacity), codegen


def _cell(builder, slot):
    """The calling module's cell for `slot`: a pointer-sized global, empty (null) at load."""
    name = f"transpile.tape.{slot}"
    cell = builder.module.globals.get(name)
    if cell is None:
        cell = ir.GlobalVariable(builder.module, cgutils.voidptr_t, name)
        cell.linkage = "internal"
        cell.initializer = _NULL
    return cell


def _words(context, builder, meminfo):
    return builder.bitcast(context.nrt.meminfo_data(builder, meminfo), _WORD.as_pointer())


def _room(context, builder, meminfo):
    return builder.load(builder.gep(_words(context, builder, meminfo), [_WORD(1)]))


def _nrt(builder, function, meminfo):
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t]), function)
    builder.call(fn, [meminfo])


def _take(context, builder, array_type, capacity, cell):
    """A 1-D array of `array_type` with room for `capacity` items: the block in `cell` when there
    is one large enough (its whole room then), else a new block (room for `capacity` exactly)."""
    datatype = context.get_data_type(array_type.dtype)
    itemsize = context.get_constant(types.intp, context.get_abi_sizeof(datatype))
    capacity = builder.select(builder.icmp_signed("<", capacity, capacity.type(0)), capacity.type(0), capacity)
    wanted = builder.mul(capacity, itemsize)
    chosen = cgutils.alloca_once_value(builder, _NULL)
    if cell is not None:
        kept = builder.atomic_rmw("xchg", cell, _NULL, "seq_cst")
        with builder.if_then(builder.icmp_unsigned("!=", kept, _NULL)):
            large_enough = builder.icmp_signed(">=", _room(context, builder, kept), wanted)
            with builder.if_else(large_enough) as (then, otherwise):
                with then:
                    builder.store(kept, chosen)
                with otherwise:
                    _nrt(builder, "NRT_decref", kept)
    with builder.if_then(builder.icmp_unsigned("==", builder.load(chosen), _NULL)):
        meminfo = context.nrt.meminfo_alloc_aligned(builder, builder.add(wanted, _WORD(HEADER_BYTES)), HEADER_BYTES)
        words = _words(context, builder, meminfo)
        builder.store(_WORD(MARK), words)
        builder.store(wanted, builder.gep(words, [_WORD(1)]))
        builder.store(meminfo, chosen)
    meminfo = builder.load(chosen)
    data = builder.gep(context.nrt.meminfo_data(builder, meminfo), [_WORD(HEADER_BYTES)])
    array = make_array(array_type)(context, builder)
    populate_array(array, data=builder.bitcast(data, datatype.as_pointer()),
                   shape=cgutils.pack_array(builder, [builder.sdiv(_room(context, builder, meminfo), itemsize)]),
                   strides=cgutils.pack_array(builder, [itemsize]), itemsize=itemsize, meminfo=meminfo)
    return impl_ret_new_ref(context, builder, array_type, array._getvalue())


def _give_back(context, builder, array_type, value, cell):
    """Put the array's block in `cell` if the block is one of ours, starts the array, is not too
    large, nothing else refers to it (its reference count is 1: the caller's) and the cell is empty."""
    array = make_array(array_type)(context, builder, value)
    meminfo = array.meminfo
    with builder.if_then(builder.icmp_unsigned("!=", meminfo, _NULL)):
        start = builder.gep(context.nrt.meminfo_data(builder, meminfo), [_WORD(HEADER_BYTES)])
        with builder.if_then(builder.icmp_unsigned("==", builder.bitcast(array.data, cgutils.voidptr_t), start)):
            words = _words(context, builder, meminfo)
            references = builder.load(builder.bitcast(meminfo, _WORD.as_pointer()))  # NRT's count: the first word
            keep = builder.and_(builder.icmp_unsigned("==", builder.load(words), _WORD(MARK)),
                                builder.icmp_unsigned("<=", _room(context, builder, meminfo), _WORD(MAX_POOLED_BYTES)))
            keep = builder.and_(keep, builder.icmp_unsigned("==", references, _WORD(1)))
            with builder.if_then(keep):
                _nrt(builder, "NRT_incref", meminfo)
                stored = builder.extract_value(builder.cmpxchg(cell, _NULL, meminfo, "seq_cst", "seq_cst"), 1)
                with builder.if_then(builder.not_(stored)):
                    _nrt(builder, "NRT_decref", meminfo)
