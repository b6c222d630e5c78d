"""Compiled gradients keep the copies a loop saves of its float arrays, and the shapes of stand-ins,
on flat float tapes instead of lists (runtime/array_tape.py, transforms/array_tapes.py): the values
come back exact whatever their shapes and dtypes, and an array written in place after it was saved,
or saved without a copy (a reference on a list is cheaper than copying a large array), stays on a
list."""
import numba
import numpy as np
import pytest

import transpile as tp
from transpile.runtime import (
    grown_for,
    lacks_room,
    latest_array,
    new_tape,
    push_array,
    push_shape,
    restore_array,
    restore_shape,
)


def central_differences(f, args, argnum, step=1e-6):
    x = np.array(args[argnum], dtype=np.float64)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        lifted = list(args)
        lifted[argnum] = up
        high = f(*lifted)
        lifted[argnum] = down
        out[index] = (high - f(*lifted)) / (2 * step)
    return out


def push_all_then_restore(entries):
    """Push every entry, then restore one at a time: the values seen, newest first."""
    tape, top = new_tape(0.0, 4), -1
    for entry in entries:
        if lacks_room(tape, top, entry):
            tape = grown_for(tape, top, entry)
        top = push_array(tape, top, entry)
    current = latest_array(tape, top, entries[-1])
    seen = [current.copy()]
    for _ in entries:
        top, current = restore_array(tape, top, current)
        seen.append(current.copy())
    return seen, top


compiled_round_trip = numba.njit(push_all_then_restore)


@pytest.mark.parametrize("run", [push_all_then_restore, compiled_round_trip], ids=["python", "numba"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_entries_come_back_newest_first_in_their_shapes(run, dtype):
    rng = np.random.default_rng(1)
    if dtype is np.float64:
        entries = [rng.normal(size=(3, 4))[:, ::2], rng.normal(size=(1, 5)), rng.normal(size=(4, 3)).T,
                   np.zeros((0, 2))]
    else:
        entries = [rng.normal(size=n).astype(dtype) for n in (3, 7, 1, 30)]
    if run is compiled_round_trip:  # a Numba list is typed: one rank and one layout
        entries = [np.ascontiguousarray(e) for e in entries]
        entries = numba.typed.List(entries)
    seen, top = run(entries)
    expected = [*reversed(list(entries)), entries[0]]  # the last restore keeps the oldest value
    assert top == -1
    assert [s.shape for s in seen] == [e.shape for e in expected]
    for value, want in zip(seen, expected):
        assert value.dtype == dtype
        np.testing.assert_array_equal(value, want)


def shapes_back(first, second):
    """Save two arrays' shapes, then restore twice starting from `second`: (the array restored
    first, whether it is `second` itself, the shape restored last, the final top)."""
    tape, top = new_tape(0.0, 2), -1
    for value in (first, second):
        if lacks_room(tape, top, value):
            tape = grown_for(tape, top, value)
        top = push_shape(tape, top, value)
    top, current = restore_shape(tape, top, second)
    restored, kept = current, current is second
    top, current = restore_shape(tape, top, current)
    return restored, kept, current.shape, top


@pytest.mark.parametrize("run", [shapes_back, numba.njit(shapes_back)], ids=["python", "numba"])
def test_a_shape_tape_hands_back_the_current_array_when_the_shape_is_the_same(run):
    row, matrix = np.ones(5), np.ones((2, 3))
    restored, kept, last_shape, top = run(matrix, matrix)
    assert restored.shape == (2, 3) and last_shape == (2, 3) and top == -1
    if run is shapes_back:  # identity is a Python notion; compiled, the shape is what is checked
        assert kept
    restored, _, last_shape, top = run(np.ones((4, 1)), matrix)
    assert restored.shape == (4, 1) and last_shape == (4, 1) and top == -1
    restored, _, _, _ = run(np.ones(7), row)
    assert restored.shape == (7,)


def recurrent(w, u, xs):
    """A tiny recurrent loop whose state is a row of an array written in place: the row read each
    step must be copied before the write, and that copy is what the tape keeps."""
    s = np.zeros((2, w.shape[0]))
    total = 0.0
    for t in range(xs.shape[0]):
        h = s[0]
        s[0] = np.tanh(w * h + u * xs[t])
        total += np.sum(s[0] * xs[t])
    return total


def written_after_saved(w, x):
    """h is saved when it is assigned (no copy: it is new memory), then written in place: a copy
    on a flat tape would miss the write, so h stays on a list, which keeps the array itself."""
    h = np.ones(3)
    total = 0.0
    for t in range(x.shape[0]):
        h = np.sin(w * h)
        h[0] = h[0] * x[t]
        total += np.sum(h * h)
    return total


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=4) * 0.5, rng.normal(size=4), rng.normal(size=(6, 4))


def test_a_recurrent_loop_saves_its_rows_on_a_flat_tape():
    w, u, xs = _data()
    grad = tp.jit(tp.grad(recurrent, argnums=(0, 1)))
    source = tp.show(grad, w, u, xs)
    assert "push_array(tape_h, top_h, h_view)" in source and "h = latest_array(tape_h, top_h, h_view)" in source
    assert "tape_h.append" not in source and "saved_copy(h_view)" not in source   # one copy, on the tape
    dw, du = grad(w, u, xs)
    np.testing.assert_allclose(dw, central_differences(recurrent, (w, u, xs), 0), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(du, central_differences(recurrent, (w, u, xs), 1), rtol=1e-7, atol=1e-9)
    python_dw, python_du = tp.grad(recurrent, argnums=(0, 1))(w, u, xs)
    np.testing.assert_allclose(dw, python_dw, rtol=1e-13)
    np.testing.assert_allclose(du, python_du, rtol=1e-13)


def damped_rows(w, u, xs):
    """A recurrence whose every value keeps the parameters' dtype (no float64 accumulator)."""
    s = np.stack((u, u))
    for t in range(xs.shape[0]):
        h = s[0]
        s[0] = np.tanh(w * h + xs[t])
    return np.sum(s[0] * s[0])


def test_float32_rows_come_back_in_float32():
    w, u, xs = (a.astype(np.float32) for a in _data())
    grad = tp.jit(tp.grad(damped_rows, argnums=(0, 1)))
    assert "push_array(tape_h, top_h, h_view)" in tp.show(grad, w, u, xs)
    dw, du = grad(w, u, xs)
    want_dw, want_du = tp.grad(damped_rows, argnums=(0, 1))(w.astype(np.float64), u.astype(np.float64),
                                                            xs.astype(np.float64))
    assert dw.dtype == np.float32
    np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(du, want_du, rtol=1e-4, atol=1e-5)


def test_an_array_written_in_place_after_it_is_saved_stays_on_a_list():
    w, x = np.array([0.4, -0.7, 1.1]), np.array([0.5, -1.5, 2.0, 0.3])
    grad = tp.jit(tp.grad(written_after_saved, argnums=(0, 1)))
    source = tp.show(grad, w, x)
    assert "tape_h.append(h)" in source and "push_array(tape_h, " not in source
    dw, dx = grad(w, x)
    np.testing.assert_allclose(dw, central_differences(written_after_saved, (w, x), 0), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dx, central_differences(written_after_saved, (w, x), 1), rtol=1e-7, atol=1e-9)


def test_repeated_calls_and_second_derivatives_agree_with_python():
    w, u, xs = _data()
    grad = tp.jit(tp.grad(recurrent))
    first = grad(w, u, xs)
    np.testing.assert_array_equal(grad(w, u, xs), first)  # on the tape kept from the first call
    hessian = tp.jit(tp.hessian(recurrent))(w, u, xs)
    np.testing.assert_allclose(hessian, tp.hessian(recurrent)(w, u, xs), rtol=1e-11, atol=1e-13)
    by_differences = np.array([central_differences(lambda *a: grad(*a)[k], (w, u, xs), 0) for k in range(4)])
    np.testing.assert_allclose(hessian, by_differences, rtol=1e-6, atol=1e-8)


def tails(w, x):
    total = 0.0
    for t in range(x.shape[0]):
        seg = np.sin(x[t:] * w[t])
        total += np.sum(seg * seg)
    return total


def test_stand_ins_saved_for_their_shape_keep_only_the_shape():
    w, x = np.linspace(0.3, 0.9, 6), np.linspace(-1.0, 1.0, 6)
    grad = tp.jit(tp.grad(tails, argnums=1))
    source = tp.show(grad, w, x)
    assert "push_shape(tape_seg_times_seg, top_seg_times_seg, seg_times_seg_shape)" in source
    assert "restore_shape(tape_seg_times_seg, top_seg_times_seg, seg_times_seg)" in source
    np.testing.assert_allclose(grad(w, x), central_differences(tails, (w, x), 1), rtol=1e-7, atol=1e-9)
