"""Compiled gradients keep their typed tapes between calls (runtime/pooled_tape.py,
transforms/pool_tapes.py): no fresh tape memory on repeated calls, and the values stay exact
whatever the sizes, the threads and the aliases."""
import contextlib
import math
import re
import threading

import numba
import numpy as np
import pytest
from numba.core.runtime import _nrt_python, rtsys

import transpile as tp
from transpile.runtime import give_back_tape, take_tape, tape_reserve


def damped(stiffness, damping, n):
    """Explicit Euler of x'' = cos(0.7 t) - stiffness x - damping x'; the loss integrates x^2."""
    dt = 10.0 / n
    x = 1.0
    v = 0.0
    loss = 0.0
    for i in range(n):
        a = math.cos(0.7 * i * dt) - stiffness * x - damping * v
        x = x + dt * v
        v = v + dt * a
        loss = loss + dt * x * x
    return loss


def central_differences(n, step=1e-6):
    return [(damped(2.0 + step, 0.3, n) - damped(2.0 - step, 0.3, n)) / (2 * step),
            (damped(2.0, 0.3 + step, n) - damped(2.0, 0.3 - step, n)) / (2 * step)]


@contextlib.contextmanager
def counted_allocations():
    """NRT's count of blocks allocated inside the block (a list holding it, filled on exit)."""
    enabled = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    count = []
    before = rtsys.get_allocation_stats().alloc
    try:
        yield count
    finally:
        count.append(rtsys.get_allocation_stats().alloc - before)
        if not enabled:
            _nrt_python.memsys_disable_stats()


def test_a_compiled_gradient_takes_its_tapes_from_its_last_call():
    g = tp.jit(tp.grad(damped, argnums=(0, 1)))
    shown = tp.show(g, 2.0, 0.3, 50)
    taken = re.findall(r"(\w+) = take_tape\(", shown)
    assert len(taken) == 3  # x, v and the drive
    returned_at = shown.index("    return ")
    for tape in taken:
        assert shown.index(f"give_back_tape({tape}, ") < returned_at
    assert "take_tape" not in tp.show(tp.grad(damped, argnums=(0, 1)), 2.0, 0.3, 50)  # Python: plain arrays
    for n in (1000, 4000, 10, 1, 1000):  # larger, smaller and equal to the tapes kept
        assert g(2.0, 0.3, n) == pytest.approx(central_differences(n), rel=1e-6)
    with counted_allocations() as allocated:
        g(2.0, 0.3, 3000)
    assert allocated == [0]
    with counted_allocations() as allocated:
        larger = g(2.0, 0.3, 6000)
    assert allocated == [3]  # each kept tape too small: new ones, kept in turn
    assert larger == pytest.approx(central_differences(6000), rel=1e-6)
    with counted_allocations() as allocated:
        g(2.0, 0.3, 6000)
    assert allocated == [0]


def test_threads_running_one_compiled_gradient_each_get_their_own_tapes():
    g = tp.jit(tp.grad(damped, argnums=(0, 1)), nogil=True)  # nogil: the calls really overlap
    sizes = (3000, 50, 7000, 1)
    expected = {n: g(2.0, 0.3, n) for n in sizes}
    wrong = []

    def work(offset):
        for k in range(40):
            n = sizes[(offset + k) % len(sizes)]
            got = g(2.0, 0.3, n)
            if got != expected[n]:
                wrong.append((n, got, expected[n]))

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


@numba.njit
def _handed_back_while_still_referred_to(n):
    tape = take_tape(0.0, n, "test.tape")
    tape[0] = 1.0
    alias = tape
    give_back_tape(tape, "test.tape")  # `alias` still refers to the block: it must not be kept
    other = take_tape(0.0, n, "test.tape")
    other[0] = 2.0
    return alias, other


@numba.njit
def _handed_back_then_taken(n):
    tape = take_tape(0.0, n, "test.tape")
    tape[:] = 5.0
    give_back_tape(tape, "test.tape")
    return take_tape(0.0, n, "test.tape").shape[0]


@numba.njit
def _grown_then_handed_back(n):
    tape = take_tape(0, 2, "test.grown")
    tape = tape_reserve(tape, n)  # a copy with room for n + 1: a block the cell can keep
    give_back_tape(tape, "test.grown")
    return take_tape(0, 2, "test.grown").shape[0]


def test_a_block_is_kept_only_when_nothing_else_refers_to_it():
    alias, other = _handed_back_while_still_referred_to(8)
    assert alias[0] == 1.0 and other[0] == 2.0
    assert _handed_back_then_taken(8) == 8
    assert _grown_then_handed_back(100) >= 101  # the grown block came back, with all its room
    with pytest.raises(ValueError):
        take_tape(0.0, -1, "test.tape")  # Python: a plain array, NumPy's own error
    assert take_tape(0.0, 3, "x").shape == (3,) and take_tape(True, 2, "x").dtype == np.bool_
    assert give_back_tape(np.zeros(3), "x") is None
