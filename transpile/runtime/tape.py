"""The tape of reverse mode: stacks of values the backward sweep restores, for Python and Numba."""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from ._numba import numba_dtype
from .pooled_tape import fresh_tape


def tape_restore(stack, current):
    """Drop the value `current` came from; return the one before it (or `current` if none)."""
    stack.pop()
    return stack[-1] if len(stack) else current


@overload(tape_restore)
def _tape_restore(stack, current):
    def impl(stack, current):
        stack.pop()
        if len(stack) > 0:
            return stack[-1]
        return current
    return impl


def shape_restore(stack, current):
    """tape_restore of a stack of stand-ins (shape_stand_in): what it returns, `current` included,
    is read only for its shape (SHAPE_ONLY_ARGS), so fusion need not compute `current`."""
    return tape_restore(stack, current)


overload(shape_restore)(_tape_restore)


@register_jitable
def shape_stand_in(value):
    """`value` itself, saved by reverse mode only for its shape: fusion may bind the name to any
    array of that shape instead of computing it (SHAPE_ONLY_ARGS), and a tape may hold that."""
    return value


def saved_copy(value):
    """A value that a later in-place write cannot change: arrays are copied, scalars kept."""
    return value.copy() if isinstance(value, np.ndarray) else value


@overload(saved_copy)
def _saved_copy(value):
    if isinstance(value, types.Array):
        return lambda value: value.copy()
    return lambda value: value


USER_MESSAGE = "[transpile]"  # marks typing errors whose text is meant for the user


def grad_seed(value):
    """1.0, the cotangent that starts a gradient; only scalar outputs have a gradient."""
    if isinstance(value, np.ndarray) and value.ndim != 0 or not np.isscalar(value) and not isinstance(value, np.ndarray):
        raise TypeError(f"grad requires a scalar output, got {type(value).__name__} "
                        f"{getattr(value, 'shape', '')}; use tp.vjp or tp.jacrev for non-scalar outputs")
    if isinstance(value, (bool, np.bool_)) or np.issubdtype(np.asarray(value).dtype, np.integer):
        raise TypeError("grad requires a float output, got an integer or boolean")
    return 1.0


@overload(grad_seed)
def _grad_seed(value):
    if isinstance(value, types.Array) and value.ndim != 0 or isinstance(value, types.BaseTuple):
        raise TypingError(f"{USER_MESSAGE} grad requires a scalar output, got {value}; use tp.vjp "
                          "or tp.jacrev for non-scalar outputs")
    if isinstance(value, (types.Integer, types.Boolean)):
        raise TypingError(f"{USER_MESSAGE} grad requires a float output, got {value}")
    return lambda value: 1.0


INITIAL_CAPACITY = 64


def new_tape(sample, capacity=INITIAL_CAPACITY):
    """An empty typed stack for scalars like `sample` (float, int or bool), with room for
    `capacity` of them (the number of pushes, where reverse mode knows it on entry)."""
    return np.empty(capacity, dtype=np.asarray(sample).dtype)


@overload(new_tape)
def _new_tape(sample, capacity=INITIAL_CAPACITY):
    dtype = numba_dtype(sample)
    return lambda sample, capacity=INITIAL_CAPACITY: np.empty(capacity, dtype=dtype)


@register_jitable
def tape_reserve(tape, last):
    """`tape`, or a copy with room for indices up to `last` (compiled, in a block that the
    function's cell can keep: pooled_tape.py)."""
    size = last + 1
    if size <= tape.shape[0]:
        return tape
    grown = fresh_tape(tape, max(size, 2 * tape.shape[0]))
    grown[: tape.shape[0]] = tape
    return grown


@register_jitable
def range_length(start, stop, step):
    """len(range(start, stop, step)), for sizing a stack before a loop."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))
