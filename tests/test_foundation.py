"""Capture, emit, cache, backends, show and the command line."""
import ast
import functools
import io
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import transpile as tp
from transpile import cache, emit
from transpile.frontend.capture import capture

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def module_level(x, scale=2.0):
    return np.sin(x) * scale


def make_closure(k):
    def closure(x):
        return x * k
    return closure


def decorate(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper


@decorate
def decorated(x):
    return x * x + 1.0


@tp.jit
def jitted_at_definition(x):
    return x * 3.0


def test_capture_module_level_function_locates_lines():
    sf = capture(module_level)
    assert sf.filename == os.path.abspath(__file__)
    assert sf.tree.lineno == module_level.__code__.co_firstlineno
    assert sf.namespace["np"] is np


def test_capture_nested_function_binds_closure_cells():
    sf = capture(make_closure(3.5))
    assert sf.namespace["k"] == 3.5
    assert sf.tree.col_offset == 4


def test_capture_decorated_function_strips_decorators():
    sf = capture(decorated)
    assert sf.tree.decorator_list == []
    assert tp.jit(decorated)(3.0) == 10.0


def test_capture_lambda():
    def square(x):
        return x * x
    sf = capture(lambda x: x * 2.0)
    assert sf.name == "lambda_"
    assert tp.jit(lambda x: x * 2.0)(4.0) == 8.0
    assert tp.grad(lambda x: x * x * 3.0)(2.0) == pytest.approx(12.0)
    assert square(2.0) == 4.0


def test_source_unavailable_is_a_clear_error():
    namespace = {}
    exec("def made_by_exec(x):\n    return x\n", namespace)
    with pytest.raises(tp.SourceUnavailableError, match="cannot read the source"):
        tp.jit(namespace["made_by_exec"])(1.0)
    with pytest.raises(tp.SourceUnavailableError, match="not a Python function"):
        tp.jit(len)([1])


def test_closures_with_different_values_do_not_share_code():
    double, triple = make_closure(2.0), make_closure(3.0)
    assert tp.jit(double)(5.0) == 10.0
    assert tp.jit(triple)(5.0) == 15.0
    assert tp.grad(double)(1.0) == 2.0
    assert tp.grad(triple)(1.0) == 3.0


def test_closure_over_array_is_injected_and_fingerprinted():
    def make(w):
        def f(x):
            return np.sum(x * w)
        return f
    a, b = make(np.array([1.0, 2.0])), make(np.array([3.0, 4.0]))
    x = np.array([1.0, 1.0])
    assert tp.jit(a)(x) == 3.0 and tp.jit(b)(x) == 7.0
    assert tp.jit(a).source() != tp.jit(b).source()


def test_decorator_form_and_defaults():
    assert jitted_at_definition(2.0) == 6.0
    assert tp.jit(module_level)(0.5) == pytest.approx(np.sin(0.5) * 2.0)
    assert tp.jit(module_level)(0.5, scale=3.0) == pytest.approx(np.sin(0.5) * 3.0)
    assert tp.jit(target="python")(module_level)(0.5) == pytest.approx(np.sin(0.5) * 2.0)


def squared_scaled(x, scale=2.0):
    return x * x * scale


def test_every_call_reaches_the_code_for_its_arguments():
    """A first call writes a fast call path for its signature; other calls must not take it."""
    g = tp.jit(tp.grad(squared_scaled))
    assert g(1.5) == 6.0
    assert g(1.5) == 6.0 and g(1.5, 3.0) == 9.0 and g(1.5, scale=3.0) == 9.0 and g(x=1.5) == 6.0
    assert g(np.float64(1.5)) == 6.0
    with pytest.raises(tp.NotDifferentiableError, match="argument 0 is int"):  # as in JAX
        g(2)
    with pytest.raises(TypeError, match="squared_scaled"):
        g()
    with pytest.raises(TypeError, match="squared_scaled"):
        g(1.5, 2.0, 3.0)
    assert g(1.5) == 6.0
    total = tp.jit(lambda x: np.sum(x * x))
    assert total(np.ones(3)) == 3.0
    assert total(np.ones((2, 2))) == 4.0
    assert total(np.ones(3, dtype=np.float32)) == 3.0
    assert total(np.arange(3)) == 5
    assert total(np.ones(3)) == 3.0


def scaled_power(x, n, flag):
    return x ** n * (2.0 if flag else 1.0)


def test_scalar_calls_run_the_compiled_code_for_their_types_directly():
    """After a first call with scalars, the call path calls the machine code Numba compiled for
    those types, not Numba's dispatcher; other types still reach their own code."""
    f = tp.jit(scaled_power)
    assert f(1.5, 2, True) == 4.5
    dispatcher = f.generated_for(1.5, 2, True).callable
    direct = f._entry.__globals__["_tp_target"]
    assert direct is not dispatcher and direct is dispatcher.overloads[(numba.float64, numba.int64, numba.boolean)].entry_point
    assert f(1.5, 2, True) == 4.5 and f(2.0, 3, False) == 8.0
    assert f(np.float32(1.5), 2, True) == 4.5 and f(1.5, 2.0, True) == 4.5 and f(1.5, np.int32(2), True) == 4.5
    assert f(2.0, -1, False) == 0.5


def test_python_and_cpu_targets_agree():
    x = np.linspace(0.1, 1.0, 5)
    for target in ("python", "cpu"):
        assert np.allclose(tp.jit(module_level, target=target)(x), np.sin(x) * 2.0)


def test_unknown_target():
    with pytest.raises(ValueError, match="unknown target"):
        tp.jit(module_level, target="tpu")


def test_emitters_agree():
    tree = ast.parse("def f(x):\n    y = x[1:2, 0] ** 2\n    return -y @ x\n")
    import gast
    gtree = gast.ast_to_gast(tree)
    via_astor = emit.unparse(gtree, "astor")
    via_ast = emit.unparse(gtree, "ast")
    assert ast.dump(ast.parse(via_astor)) == ast.dump(ast.parse(via_ast))


def test_show_has_comments_pointing_to_user_lines():
    text = tp.show(tp.grad(module_level))
    assert "def module_level_grad(x, scale):" in text
    line = module_level.__code__.co_firstlineno + 1
    assert f"# test_foundation.py:{line}: return np.sin(x) * scale" in text
    compile(text, "<generated>", "exec")


def test_generated_module_is_a_real_file():
    f = tp.jit(module_level, target="python")
    f(1.0)
    path = f.cache_info()["module_file"]
    assert os.path.isfile(path)
    with open(path) as handle:
        assert handle.readline().startswith(cache.CHECKSUM_PREFIX)


def test_corrupted_cache_file_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSPILE_CACHE_DIR", str(tmp_path))
    body = "X = 1\n"
    path, name, hit = cache.store("probe", body)
    assert not hit
    assert cache.store("probe", body)[2]
    with open(path, "a") as handle:
        handle.write("BROKEN = 2\n")
    path2, _, hit = cache.store("probe", body)
    assert not hit and path2 == path
    assert cache._read_valid(path) == body


def test_module_file_changes_with_the_runtime_code(tmp_path, monkeypatch):
    """Numba's disk cache knows a module by its file: a changed runtime must give a new file, or
    the same generated source would run machine code compiled against the old runtime."""
    monkeypatch.setenv("TRANSPILE_CACHE_DIR", str(tmp_path))
    path, _, _ = cache.store("probe", "X = 1\n")
    vector_math = os.path.join(os.path.dirname(cache.__file__), "runtime", "vector_math.py")
    real_open = open

    def open_with_edited_runtime(name, mode="r", *args, **kwargs):
        handle = real_open(name, mode, *args, **kwargs)
        if os.path.abspath(name) == vector_math and "b" in mode:
            with handle:
                return io.BytesIO(handle.read() + b"\n# an edit\n")
        return handle
    monkeypatch.setattr(cache, "_runtime_fingerprint", None)
    monkeypatch.setattr("builtins.open", open_with_edited_runtime)
    path_after_edit, _, hit = cache.store("probe", "X = 1\n")
    assert not hit and path_after_edit != path


def test_read_only_cache_dir_falls_back_with_warning(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("TRANSPILE_CACHE_DIR", str(blocked / "sub"))
    with pytest.warns(RuntimeWarning, match="not writable"):
        folder = cache.cache_dir()
    assert os.path.isdir(folder)


def _run(args, env=None, cwd=ROOT):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=300)


def test_script_function_under_main_and_cache_reused_across_processes(tmp_path):
    env = {"TRANSPILE_CACHE_DIR": str(tmp_path)}
    script = os.path.join(HERE, "data", "script_func.py")
    first = _run([script], env)
    assert first.returncode == 0, first.stderr
    second = _run([script], env)
    assert second.returncode == 0, second.stderr
    g0, g1, from_cache, hits, misses = first.stdout.split()
    assert (float(g0), float(g1)) == (3.0, 12.0)
    assert from_cache == "False" and int(misses) >= 1
    g0, g1, from_cache, hits, misses = second.stdout.split()
    assert from_cache == "True" and int(hits) >= 1 and int(misses) == 0


def test_concurrent_processes_never_see_half_written_modules(tmp_path):
    code = ("import sys; sys.path.insert(0, {here!r}); import numpy as np, transpile as tp;"
            "from test_foundation import module_level;"
            "assert abs(tp.grad(module_level)(0.3) - 2*np.cos(0.3)) < 1e-12; print('ok')")
    env = dict(os.environ, TRANSPILE_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", code.format(here=HERE)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]
    for name in os.listdir(tmp_path):
        if name.endswith(".py"):
            assert cache._read_valid(os.path.join(tmp_path, name)) is not None


def test_cli_show_prints_valid_python():
    result = _run(["-m", "transpile", "show", "samples/logistic.py:loss", "-t", "grad"])
    assert result.returncode == 0, result.stderr
    assert "def loss_grad(w, x, y):" in result.stdout
    compile(result.stdout, "<cli>", "exec")


def test_cli_transform_options():
    result = _run(["-m", "transpile", "show", "samples/logistic.py:loss", "-t", "grad:argnums=0,1",
                   "-t", "vmap:in_axes=None,0,0"])
    assert result.returncode == 0, result.stderr
    assert "def loss_grad_vmap(w, x, y):" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["show", "samples/missing.py:loss"], "no such file"),
    (["show", "samples/logistic.py:nothing"], "has no function 'nothing'"),
    (["show", "samples/logistic.py:loss", "-t", "frobnicate"], "unknown transform 'frobnicate'"),
    (["show", "samples/logistic.py"], "expected FILE.py:FUNC"),
])
def test_cli_bad_targets_exit_2_with_one_line(args, message):
    result = _run(["-m", "transpile"] + args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_help_documents_commands():
    result = _run(["-m", "transpile", "--help"])
    assert result.returncode == 0
    assert "show" in result.stdout and "cache" in result.stdout


def test_cli_cache_clear(tmp_path):
    env = {"TRANSPILE_CACHE_DIR": str(tmp_path)}
    (tmp_path / "tp_dummy_0.py").write_text("")
    result = _run(["-m", "transpile", "cache", "clear"], env)
    assert result.returncode == 0 and "removed 1" in result.stdout
