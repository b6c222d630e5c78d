"""The fence refuses each construct outside the supported subset with a located, hinted error,
and lets the supported subset through.

Every refused function marks its offending line with `# <-`; the case names the text the caret
must point at, so each test checks the file, the line and the exact column of the caret.
"""
import functools
import inspect
import linecache
import math
import os

import gast
import numpy as np
import pytest

from transpile.errors import SideEffectError, TranspileError, UnsupportedSyntaxError
from transpile.frontend.capture import capture
from transpile.frontend.fence import REFUSED, check

SYNTAX, EFFECT = UnsupportedSyntaxError, SideEffectError
G = np.zeros(3)


def helper(a, b=1.0):
    return a * b


# ---- refused: one function per construct -------------------------------------------------------

def bad_try(x):
    try:  # <-
        y = x + 1
    except ValueError:
        y = x
    return y


def bad_with(x):
    with np.errstate(all="ignore"):  # <-
        y = np.log(x)
    return y


def bad_yield(x):
    for i in range(3):
        yield x * i  # <-


def bad_yield_from(x):
    yield from range(x)  # <-


def bad_async(x):
    async def inner(v):  # <-
        return await v
    return x


def bad_lambda(x):
    sq = lambda t: t * t  # <-
    return sq(x)


def bad_global(x):
    global G  # <-
    G = x
    return x


def make_nonlocal():
    count = 0

    def bad_nonlocal(x):
        nonlocal count  # <-
        count = count + 1
        return x * count
    return bad_nonlocal


def bad_class(x):
    class Box:  # <-
        pass
    return x


def bad_nested_def(x):
    def inner(v):  # <-
        return v * 2
    return inner(x)


def bad_match(x):
    match x:  # <-
        case 0:
            return 1.0
    return 0.0


def bad_starred_target(x):
    a, *b = x  # <-
    return a


def bad_starred_arg(xs):
    return helper(*xs)  # <-


def bad_kwargs_call(x, opts):
    return helper(x, **opts)  # <-


def bad_varargs(x, *rest):  # <-
    return x


def bad_kwargs(x, **opts):  # <-
    return x


def bad_del(x):
    y = x * 2
    del y  # <-
    return x


def bad_import(x):
    import math  # <-
    return math.sin(x)


def bad_import_from(x):
    from math import sin  # <-
    return sin(x)


def bad_raise(x):
    if x < 0:
        raise ValueError("negative")  # <-
    return x


def bad_assert(x):
    assert x > 0  # <-
    return x


def bad_listcomp(x):
    return np.array([v * 2 for v in x])  # <-


def bad_setcomp(x):
    return len({v for v in x})  # <-


def bad_dictcomp(x):
    return len({i: v for i, v in enumerate(x)})  # <-


def bad_genexp(x):
    return sum(v * v for v in x)  # <-


def bad_set_display(x, y):
    s = {x, y}  # <-
    return len(s)


def bad_dict_display(x):
    d = {"x": x}  # <-
    return d


def bad_fstring(x):
    return helper(x, b=f"{x}")  # <-


def bad_walrus(x):
    if (n := len(x)) > 2:  # <-
        return n
    return 0


def bad_for_else(x):
    s = 0.0
    for v in x:  # <-
        s += v
    else:
        s = -1.0
    return s


def bad_while_else(x):
    while x > 1.0:  # <-
        x = x / 2
    else:
        x = 0.0
    return x


def bad_is(x, y=None):
    if y is None:  # <-
        return x
    return x + y


def bad_is_not(x, y=None):
    if y is not None:  # <-
        return x + y
    return x


def bad_in(x):
    if 1.0 in x:  # <-
        return 1.0
    return 0.0


def bad_not_in(x):
    return 2.0 not in x  # <-


def bad_param_write(x):
    x[0] = 1.0  # <-
    return x


def bad_param_augwrite(x, i):
    x[i] += 1.0  # <-
    return x


def bad_param_slice_write(x):
    x[:, 0] = 0.0  # <-
    return x.sum()


def bad_param_view_write(x):
    row = x[0]
    row[1] = 0.0  # <-
    return row


def bad_param_method_view_write(x):
    flat = x.reshape(-1)
    flat[0] = 0.0  # <-
    return flat


def bad_param_loop_view_write(x):
    for row in x:
        row[0] = 0.0  # <-
    return x


def bad_param_branch_write(x, c):
    if c > 0:
        y = np.zeros(3)
    else:
        y = x
    y[0] = 1.0  # <-
    return y


def bad_param_loop_carried_write(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = 1.0  # <-
        y = x
    return y


def bad_param_write_after_break(x):
    y = np.zeros(3)
    for i in range(3):
        y = x
        if i > 0:
            break
        y = np.ones(3)
    y[0] = 1.0  # <-
    return y


def bad_swap_write(x):
    a, b = np.zeros(3), x
    a, b = b, a
    a[0] = 1.0  # <-
    return b


def bad_global_write(x):
    G[0] = x  # <-
    return x


def bad_attr_write(x, obj):
    obj.a = x  # <-
    return x


def bad_bare_call(x):
    helper(x)  # <-
    return x


def bad_bare_expr(x):
    x + 1.0  # <-
    return x


def bad_print(x):
    print(x)  # <-
    return x


def bad_print_nested(x):
    y = helper(x, print(x))  # <-
    return y


def bad_annassign(x):
    y: float = x * 2  # <-
    return y


def bad_for_target(x):
    y = np.zeros(2)
    for y[0] in x:  # <-
        pass
    return y


CASES = [
    # (function, error class, text the caret points at, REFUSED key)
    (bad_try, SYNTAX, "try", "Try"),
    (bad_with, SYNTAX, "with", "With"),
    (bad_yield, SYNTAX, "yield", "Yield"),
    (bad_yield_from, SYNTAX, "yield", "YieldFrom"),
    (bad_async, SYNTAX, "async", "AsyncFunctionDef"),
    (bad_lambda, SYNTAX, "lambda", "Lambda"),
    (bad_global, SYNTAX, "global", "Global"),
    (make_nonlocal(), SYNTAX, "nonlocal", "Nonlocal"),
    (bad_class, SYNTAX, "class", "ClassDef"),
    (bad_nested_def, SYNTAX, "def", "FunctionDef"),
    (bad_match, SYNTAX, "match", "Match"),
    (bad_starred_target, SYNTAX, "*b", "Starred"),
    (bad_starred_arg, SYNTAX, "*xs", "Starred"),
    (bad_kwargs_call, SYNTAX, "opts", "kwargs_call"),
    (bad_varargs, SYNTAX, "rest", "vararg"),
    (bad_kwargs, SYNTAX, "opts", "kwarg"),
    (bad_del, SYNTAX, "del", "Delete"),
    (bad_import, SYNTAX, "import", "Import"),
    (bad_import_from, SYNTAX, "from", "ImportFrom"),
    (bad_raise, SYNTAX, "raise", "Raise"),
    (bad_assert, SYNTAX, "assert", "Assert"),
    (bad_listcomp, SYNTAX, "[", "ListComp"),
    (bad_setcomp, SYNTAX, "{", "SetComp"),
    (bad_dictcomp, SYNTAX, "{", "DictComp"),
    (bad_genexp, SYNTAX, "(v * v", "GeneratorExp"),
    (bad_set_display, SYNTAX, "{", "Set"),
    (bad_dict_display, SYNTAX, "{", "Dict"),
    (bad_fstring, SYNTAX, 'f"', "JoinedStr"),
    (bad_walrus, SYNTAX, "n :=", "NamedExpr"),
    (bad_for_else, SYNTAX, "for", "loop_else"),
    (bad_while_else, SYNTAX, "while", "loop_else"),
    (bad_is, SYNTAX, "is None", "compare"),
    (bad_is_not, SYNTAX, "is not", "compare"),
    (bad_in, SYNTAX, "in x", "compare"),
    (bad_not_in, SYNTAX, "not in", "compare"),
    (bad_param_write, EFFECT, "x[0]", "param_write"),
    (bad_param_augwrite, EFFECT, "x[i]", "param_write"),
    (bad_param_slice_write, EFFECT, "x[:, 0]", "param_write"),
    (bad_param_view_write, EFFECT, "row[1]", "param_write"),
    (bad_param_method_view_write, EFFECT, "flat[0]", "param_write"),
    (bad_param_loop_view_write, EFFECT, "row[0]", "param_write"),
    (bad_param_branch_write, EFFECT, "y[0]", "param_write"),
    (bad_param_loop_carried_write, EFFECT, "y[i]", "param_write"),
    (bad_param_write_after_break, EFFECT, "y[0]", "param_write"),
    (bad_swap_write, EFFECT, "a[0]", "param_write"),
    (bad_global_write, EFFECT, "G[0]", "outer_write"),
    (bad_attr_write, SYNTAX, "obj.a", "attr_write"),
    (bad_bare_call, EFFECT, "helper", "bare_call"),
    (bad_bare_expr, SYNTAX, "x + 1.0", "bare_expr"),
    (bad_print, EFFECT, "print", "print"),
    (bad_print_nested, EFFECT, "print", "print"),
    (bad_annassign, SYNTAX, "y: float", "AnnAssign"),
    (bad_for_target, SYNTAX, "y[0]", "target"),
]


def _marked_position(fn, needle):
    """(line, 1-based column) of `needle` on the line of `fn` marked with `# <-`."""
    lines, first = inspect.getsourcelines(fn)
    for offset, line in enumerate(lines):
        if "# <-" in line:
            return first + offset, line.index(needle) + 1
    raise AssertionError(f"{fn.__name__} has no `# <-` marker")


def _key(key):
    """A REFUSED key: the gast node type of that name, or the string itself."""
    return getattr(gast, key, key)


@pytest.mark.parametrize("fn, cls, needle, key", CASES, ids=[c[0].__name__ for c in CASES])
def test_refused(fn, cls, needle, key):
    with pytest.raises(TranspileError) as info:
        check(capture(fn))
    err = info.value
    assert type(err) is cls
    assert isinstance(err, UnsupportedSyntaxError)
    line, col = _marked_position(fn, needle)
    text = str(err)
    assert text.startswith(f"{__file__}:{line}:{col}: "), text
    assert (err.filename, err.lineno, err.col_offset + 1) == (__file__, line, col)
    source_line, caret_line = text.splitlines()[1:3]
    assert source_line == "    " + linecache.getline(__file__, line).rstrip("\n")
    assert caret_line == "    " + " " * (col - 1) + "^"  # the caret sits under `needle`
    assert source_line[4 + col - 1:].startswith(needle)
    expected_cls, _, hint = REFUSED[_key(key)]
    assert expected_cls is cls
    assert err.hint and text.endswith(err.hint)
    assert hint.split("{")[0] in err.hint  # the table's hint (up to any formatted name)


def test_every_refusal_is_tested():
    tested = {_key(key) for *_, key in CASES}
    untested = {k for k in REFUSED if k not in tested}
    # these share their message with a tested one, or cannot be written in a plain `def` body
    assert untested == {"other", _key("TryStar"), _key("AsyncWith"), _key("AsyncFor"),
                        _key("Await")}


def test_docs_table_lists_every_hint():
    """docs/errors.md states each hint the fence gives, word for word (up to formatted names)."""
    docs = open(os.path.join(os.path.dirname(__file__), "..", "docs", "errors.md")).read()
    for key, (cls, _, hint) in REFUSED.items():
        assert hint.split("{")[0] in docs, key
        assert f"`{cls.__name__}`" in docs


def test_messages_name_the_construct():
    cases = {bad_is: "`is` comparisons", bad_not_in: "`not in` comparisons",
             bad_param_write: "parameter 'x'",
             bad_param_view_write: "'row', which may be a view of parameter 'x'",
             bad_global_write: "'G', which this function did not create",
             bad_print: "`print`", bad_varargs: "`*args`"}
    for fn, words in cases.items():
        with pytest.raises(TranspileError) as info:
            check(capture(fn))
        assert words in info.value.reason, (fn.__name__, info.value.reason)


def test_hints_name_the_copy():
    with pytest.raises(SideEffectError) as info:
        check(capture(bad_param_slice_write))
    assert "x = x.copy()" in info.value.hint
    with pytest.raises(SideEffectError) as info:
        check(capture(bad_global_write))
    assert "G_copy = G.copy()" in info.value.hint


async def bad_async_def(x):
    return x


def test_async_def_is_refused_by_capture():
    """A whole `async def` never reaches the fence: capture refuses it."""
    with pytest.raises(UnsupportedSyntaxError, match="async"):
        check(capture(bad_async_def))


# ---- accepted -------------------------------------------------------------------------------

def identity_decorator(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


def ok_loops(x, n=3, *, scale=2.0):
    """Docstrings are fine."""
    out = np.zeros(n)
    total = 0.0
    for i in range(n):
        if i == 1:
            continue
        out[i] = x[i] * scale
        out[i] += 1.0
        total += out[i]
        if total > 100.0:
            break
    k = 0
    while k < n and total > 0.0:
        total -= 1.0
        k += 1
    return out, total


def ok_branches(x, y, mode=0):
    if mode == 0:
        return x + y
    elif 0 < mode <= 2:
        z = x - y if mode == 1 else x * y
    else:
        return
    return -z if not (mode > 1 or mode < -1) else +z


def ok_iteration(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s += i * a * b
    for row in x:
        s += row
    for v in np.arange(3.0):
        s = s + v
    return s


def ok_copy_then_write(x):
    x = x.copy()
    x[0] = 1.0
    x[1:-1] *= 2.0
    return x


def ok_created_writes(x, m):
    a = np.zeros((3, 3))
    a[:, 0] = x[:3]
    a[1][2] = 1.0
    a.T[0] = 2.0
    b = c = np.ones(3)
    b[0] = c[1]
    d = np.empty_like(m)
    d[...] = m
    e, f = np.zeros(2), np.ones(2)
    e[0], f[1] = f[0], e[1]
    return a, b, d, e


def ok_rebound_after_view(x):
    y = x[0]
    y = y * 2.0
    y[0] = 1.0
    for i in range(3):
        z = x
        z = np.zeros(3)
        z[i] = 1.0
    return y


def ok_ops(x, w, mask):
    y = (x @ w) ** 2 // 3 % 5 / 7
    y = np.where(~mask, y, -y)
    shape = x.shape
    n = len(x)
    c = 1 < n <= 10 != shape[0]
    p = np.pi * math.e
    t = x.T
    return helper(y, b=p), np.sum(t, axis=0), [c, n], (shape, ())


def ok_strings_and_helpers(a, v):
    y = np.einsum("ij,j->i", a, v)
    z = helper(y)
    z = helper(z, b=2.0)
    w = np.linalg.norm(z, ord=2)
    return w


def ok_nested_unpacking(pair):
    (a, b), c = pair
    a, b = b, a
    return a + b * c


def ok_scalar_param_updates(x, n):
    while n > 0:
        n -= 1
        x = x * 0.5
    x += 1.0
    return x


@identity_decorator
def ok_decorated(x):
    return x * 2.0


def ok_pass(x):
    if x > 0:
        pass
    else:
        x = -x
    return x


def ok_no_return(x):
    y = x + 1  # noqa: F841  (a function without return, on purpose)


ok_lambda = lambda x: x * x + np.sin(x)  # noqa: E731


def _make_closure():
    offset = 2.0

    def scale(v):
        return v * offset

    def ok_closure(x):
        return scale(x) + offset
    return ok_closure


ACCEPTED = [ok_loops, ok_branches, ok_iteration, ok_copy_then_write, ok_created_writes,
            ok_rebound_after_view, ok_ops, ok_strings_and_helpers, ok_nested_unpacking,
            ok_scalar_param_updates, ok_decorated, ok_pass, ok_no_return, ok_lambda,
            _make_closure()]


@pytest.mark.parametrize("fn", ACCEPTED, ids=[f.__name__ for f in ACCEPTED])
def test_accepted(fn):
    assert check(capture(fn)) is None


def test_accepted_functions_run():
    """The accepted examples are real, working NumPy code (so the fence is not passing nonsense)."""
    x = np.arange(1.0, 5.0)
    assert ok_loops(x)[1] > 0
    assert ok_branches(1.0, 2.0, mode=1) == 1.0
    assert ok_copy_then_write(x)[1] == 4.0 and x[1] == 2.0
    ok_created_writes(np.arange(3.0), np.eye(2))
    ok_ops(np.eye(3), np.ones(3), np.array([True, False, True]))
    assert ok_nested_unpacking(((1.0, 2.0), 3.0)) == 5.0
