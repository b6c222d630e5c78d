"""Bad inputs at call time are clear errors naming the argument; first calls from many threads
generate once; editing a function's source regenerates its code (docs/errors.md, "At call time")."""
import importlib.util
import threading

import numpy as np
import pytest

import transpile as tp


def dot_loss(x, y):
    return np.sum(x * y)


BAD_CALLS = [
    ("too few arguments", (np.ones(3),), TypeError, "missing a required argument: 'y'"),
    ("too many arguments", (np.ones(3), np.ones(3), 1.0), TypeError, "too many positional arguments"),
    ("a string", ("abc", np.ones(3)), TypeError, "argument 'x' is a str"),
    ("None", (None, np.ones(3)), TypeError, "argument 'x' is None"),
    ("an object array", (np.array([1.0, None]), np.ones(2)), TypeError, "argument 'x' is an array of dtype object"),
    ("an integer array to differentiate", (np.arange(3), np.ones(3)), tp.NotDifferentiableError,
     "argument 0 is an array of int64"),
]


@pytest.mark.parametrize("label, args, error, message", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_are_clear_errors(target, label, args, error, message):
    fn = tp.jit(tp.grad(dot_loss), target=target)
    with pytest.raises(error, match=message.replace("(", r"\(")):
        fn(*args)


def test_nan_and_inf_propagate_as_numpy(target):
    x = np.array([np.nan, 1.0, np.inf])
    y = np.array([1.0, 2.0, 3.0])
    value, grad = tp.jit(tp.value_and_grad(dot_loss), target=target)(x, y)
    assert np.isnan(value)
    np.testing.assert_array_equal(grad, y)


def test_empty_arrays(target):
    value, grad = tp.jit(tp.value_and_grad(dot_loss), target=target)(np.ones(0), np.ones(0))
    assert value == 0.0 and grad.shape == (0,)


def test_shape_mismatch_is_numpy_s_error():
    with pytest.raises(ValueError, match="could not be broadcast"):
        tp.grad(dot_loss)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        tp.jit(tp.grad(dot_loss))(np.ones(3), np.ones(4))


@pytest.mark.parametrize("in_axes, args, message", [
    ((2, None), (np.ones((3, 4)), np.ones(4)), "out of bounds for argument 'x'"),
    (0, (np.ones((3, 4)), np.ones((2, 4))), "inconsistent sizes"),
], ids=["axis out of range", "sizes disagree"])
def test_vmap_axis_errors(in_axes, args, message):
    with pytest.raises(ValueError, match=message):
        tp.vmap(dot_loss, in_axes=in_axes)(*args)


def test_first_call_from_many_threads_generates_once(target):
    fn = tp.jit(tp.grad(dot_loss), target=target)
    x, y = np.arange(4.0), np.ones(4)
    results, errors = [], []
    barrier = threading.Barrier(8)

    def call():
        try:
            barrier.wait()
            results.append(fn(x, y))
        except Exception as exc:  # reported below, with the thread's result list
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8 and all(np.array_equal(r, y) for r in results)
    assert len(fn._by_kinds) == 1


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_editing_a_function_regenerates_its_code(tmp_path):
    path = tmp_path / "edited.py"
    path.write_text("def f(x):\n    return x * x\n")
    first = tp.jit(tp.grad(_load(path, "edited_v1").f), target="python")
    assert first(3.0) == 6.0
    path.write_text("def f(x):\n    return x * x * x\n")
    second = tp.jit(tp.grad(_load(path, "edited_v2").f), target="python")
    assert second(3.0) == 27.0
    assert first.cache_info()["module_file"] != second.cache_info()["module_file"]
