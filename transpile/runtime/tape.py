"""The tape of reverse mode: stacks of values the backward sweep restores, for Python and Numba."""
import numpy as np
from numba.core import types
from numba.extending import overload


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


def saved_copy(value):
    """A value that a later in-place write cannot change: arrays are copied, scalars kept."""
    return value.copy() if isinstance(value, np.ndarray) else value


@overload(saved_copy)
def _saved_copy(value):
    if isinstance(value, types.Array):
        return lambda value: value.copy()
    return lambda value: value


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
    if isinstance(value, types.Array) and value.ndim != 0 or isinstance(value, (types.BaseTuple,)):
        def impl(value):
            raise TypeError("grad requires a scalar output; use tp.vjp or tp.jacrev for arrays")
        return impl
    if isinstance(value, (types.Integer, types.Boolean)):
        def impl(value):
            raise TypeError("grad requires a float output, got an integer or boolean")
        return impl
    return lambda value: 1.0
