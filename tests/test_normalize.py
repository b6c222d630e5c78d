"""normalize() produces the core form of docs/architecture.md with the user's values.

Every function in normalize_cases.py is normalized, checked against the core-form grammar, printed,
run as Python and compiled with numba.njit; both must give the original function's values.
"""
import copy
import functools
import importlib.util
import inspect

import gast
import normalize_cases as cases
import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transpile.emit import unparse
from transpile.errors import UnsupportedSyntaxError
from transpile.frontend.capture import capture
from transpile.frontend.normalize import normalize

rng = np.random.default_rng(0)
x6 = rng.normal(size=6)
X34 = rng.uniform(size=(3, 4))
mixed = np.array([0.5, -0.3, 2.0, -2.5, 1.0, 7.0, 0.2, 3.5])

CASES = [
    (cases.range_one_arg, (1.5, 5)),
    (cases.range_two_args, (x6, 1, 4)),
    (cases.range_negative_step, (x6,)),
    (cases.range_step_expression, (x6, 1)),
    (cases.range_bound_rebound, (6,)),
    (cases.loop_over_array, (x6,)),
    (cases.loop_over_rows, (X34,)),
    (cases.loop_over_expression, (X34,)),
    (cases.loop_rows_unpacked, (rng.normal(size=(5, 2)),)),
    (cases.loop_enumerate, (x6,)),
    (cases.loop_enumerate_start, (x6,)),
    (cases.loop_zip, (x6, x6[:4] * 2.0)),
    (cases.loop_enumerate_zip, (x6[:5], x6 + 1.0)),
    (cases.loop_zip_range, (x6,)),
    (cases.nested_loops, (X34, X34.T.copy())),
    (cases.while_newton, (2.0,)),
    (cases.while_scan, (np.abs(x6), 1.5)),
    (cases.while_scan, (np.abs(x6), 100.0)),
    (cases.while_break_continue, (mixed,)),
    (cases.while_break_continue, (np.array([1.0, -1.0, 2.0]),)),
    (cases.while_true_return, (np.array([0.1, 1.0, 2.0, 3.0]),)),
    (cases.break_in_nested_ifs, (mixed, 1.5)),
    (cases.continue_in_nested_ifs, (mixed,)),
    (cases.break_and_continue, (mixed,)),
    (cases.break_maybe_in_branch, (mixed, 1.5)),
    (cases.nested_break, (np.array([[1.0, 2.0, -1.0], [1.0, 1.0, 1.0], [3.0, 3.0, 3.0]]),)),
    (cases.return_in_loop, (mixed, 1.5)),
    (cases.return_in_loop, (mixed, 100.0)),
    (cases.return_in_nested_loops, (X34, 2.5)),
    (cases.return_in_nested_loops, (X34, 100.0)),
    (cases.return_in_while_with_rest, (mixed,)),
    (cases.return_in_while_with_rest, (np.array([0.1, 0.2]),)),
    *[(cases.early_returns_in_branches, (v,)) for v in (-2.0, -0.5, 9.0, 1.0)],
    *[(cases.return_in_one_branch, (1.5, flag)) for flag in (0, 1, 2)],
    (cases.elif_chain, (mixed,)),
    (cases.no_return_value, (1.0,)),
    (cases.bare_return, (1.0,)),
    (cases.bare_return, (-1.0,)),
    (cases.conditional_expressions, (2.0, 3.0)),
    (cases.conditional_expressions, (0.0, -3.0)),
    (cases.conditional_expressions, (0.25, -3.0)),
    *[(cases.chained_comparisons, (v, 0.0, 1.0)) for v in (-1.0, 0.0, 0.5, 1.0, 2.0)],
    (cases.chained_comparison_lazy, (1.0, 1.0)),
    (cases.chained_comparison_lazy, (1.0, 1.5)),
    *[(cases.and_or_short_circuit, (mixed, i)) for i in (0, 1, 8)],
    *[(cases.and_or_values, (a, b)) for a, b in ((0.0, 2.0), (1.5, 0.0), (-1.0, 3.0))],
    (cases.tuple_unpacking, (0.5,)),
    (cases.swap_in_loop, (10,)),
    (cases.rotate_three, (1.0, 2.0, 3.0)),
    (cases.augmented_assignment, (2.0,)),
    (cases.inplace_writes, (X34,)),
    (cases.subscripts, (x6, 2)),
    (cases.helper_calls, (x6,)),
    (cases.method_calls, (X34,)),
    (cases.method_calls_bool, (X34,)),
    (cases.numpy_calls, (X34, x6[:4])),
    (cases.logistic_loss, (x6[:4], X34, np.array([0.0, 1.0, 1.0]))),
    (cases.builtins_in_expressions, (x6, 2.5, -1.0)),
    (cases.numpy_alias, (x6,)),
    (cases.methods_only, (x6,)),
    (cases.local_named_np, (x6,)),
    (cases.clashing_names, (x6, 1.0, 2.0)),
    (cases.multiple_targets, (1.5,)),
    (cases.docstring_and_pass, (1.0,)),
    (cases.docstring_and_pass, (-3.0,)),
    (cases.keyword_only, (2.0, 3.0, 1.0)),
    (cases.scalar_loop_mix, (1.0, 7)),
    (cases.ret_while_in_for_continue, (X34,)),
    (cases.ret_while_in_for_continue, (X34 * 0.1,)),
    (cases.break_in_else_elif, (mixed,)),
    (cases.break_in_else_elif, (np.array([-1.0, 0.5]),)),
    (cases.ifexp_in_while_cond, (np.array([1.0, 2.0, 3.0]), 3)),
    (cases.ifexp_in_while_cond, (np.array([1.0, -2.0, 3.0]), 3)),
    *[(cases.nested_returns, (a, b, mixed)) for a in (1.0, -1.0) for b in (1.0, -1.0, -10.0)],
    (cases.nested_returns, (-1.0, -10.0, np.array([0.1]))),
    (cases.swap_subscripts, (mixed,)),
    (cases.break_at_top, (mixed,)),
    (cases.implicit_none, (1.0,)),
    (cases.implicit_none, (-1.0,)),
    *[(cases.misc_lazy, (mixed, i, 8, c)) for i in (0, 1, 8) for c in (0.0, 1.0)],
    (cases.aug_complex, (mixed,)),
    (cases.while_continue_cond, (mixed,)),
    (cases.loop_var_reassigned, (5,)),
]
IDS = [f"{fn.__name__}-{k}" for k, (fn, _) in enumerate(CASES)]
FUNCTIONS = list({fn: None for fn, _ in CASES})


def normalized(fn):
    sf = capture(fn)
    before = gast.dump(sf.tree, include_attributes=True)
    fdef, namespace = normalize(sf)
    assert gast.dump(sf.tree, include_attributes=True) == before, "normalize mutated sf.tree"
    return sf, fdef, namespace


def load(fdef, namespace, jit):
    """The normalized function as Python or, with every user function njit-ed, under Numba."""
    env = dict(namespace)
    if jit:
        for name, value in namespace.items():
            if inspect.isfunction(value) and value.__module__ == cases.__name__:
                env[name] = numba.njit(value)
    exec(compile(unparse(fdef), f"<normalized {fdef.name}>", "exec"), env)  # noqa: S102
    fn = env[fdef.name]
    return numba.njit(fn) if jit else fn


def call_original(fn, args):
    """`fn` on `args` given positionally, the way normalize's positional-only result takes them."""
    params = inspect.signature(fn).parameters.values()
    keyword = {p.name: a for p, a in zip(params, args) if p.kind == p.KEYWORD_ONLY}
    return fn(*args[:len(args) - len(keyword)], **copy.deepcopy(keyword))


def assert_same(actual, expected):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e)
    elif expected is None:
        assert actual is None
    else:
        actual, expected = np.asarray(actual), np.asarray(expected)
        assert actual.shape == expected.shape
        if expected.dtype.kind in "fc":
            np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_array_equal(actual, expected)


@functools.cache
def compiled(fn, jit):
    """Once per function: Numba compiles each new normalized function afresh."""
    _, fdef, namespace = normalized(fn)
    return load(fdef, namespace, jit)


@pytest.mark.parametrize("fn, args", CASES, ids=IDS)
def test_python_values(fn, args):
    expected = call_original(fn, copy.deepcopy(args))
    assert_same(compiled(fn, jit=False)(*copy.deepcopy(args)), expected)


@pytest.mark.parametrize("fn, args", CASES, ids=IDS)
def test_numba_values(fn, args):
    expected = call_original(fn, copy.deepcopy(args))
    assert_same(compiled(fn, jit=True)(*copy.deepcopy(args)), expected)


# -- the core form -------------------------------------------------------------------------------

def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


def is_path(node):
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name)


def is_arg(node):
    if isinstance(node, (gast.Tuple, gast.List)):
        return all(is_arg(e) for e in node.elts)
    return is_atom(node)


def is_index(node):
    if isinstance(node, gast.Tuple):
        return all(is_index(e) for e in node.elts)
    if isinstance(node, gast.Slice):
        return all(p is None or is_atom(p) for p in (node.lower, node.upper, node.step))
    return is_atom(node)


def is_one_operation(e):
    if is_atom(e):
        return True
    if isinstance(e, gast.BinOp):
        return is_atom(e.left) and is_atom(e.right)
    if isinstance(e, gast.UnaryOp):
        return is_atom(e.operand)
    if isinstance(e, gast.Compare):
        return len(e.ops) == 1 and is_atom(e.left) and is_atom(e.comparators[0])
    if isinstance(e, gast.BoolOp):
        return all(is_atom(v) for v in e.values)
    if isinstance(e, gast.Call):
        return (is_path(e.func) and all(is_arg(a) for a in e.args)
                and all(k.arg is not None and is_arg(k.value) for k in e.keywords))
    if isinstance(e, gast.Attribute):
        return is_path(e) and e.attr != "T"
    if isinstance(e, gast.Subscript):
        return isinstance(e.value, gast.Name) and is_index(e.slice)
    if isinstance(e, (gast.Tuple, gast.List)):
        return all(is_atom(v) for v in e.elts)
    return False


def stored(nodes):
    return {n.id for node in nodes for n in gast.walk(node)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def is_final_break(s):
    return (isinstance(s, gast.If) and isinstance(s.test, gast.Name) and not s.orelse
            and len(s.body) == 1 and isinstance(s.body[0], gast.Break))


def check_block(stmts, in_loop, before=()):
    assert stmts, "empty block"
    if len(stmts) == 1 and isinstance(stmts[0], gast.Pass):
        return
    for k, s in enumerate(stmts):
        where = f"line {s.lineno}: {unparse(s).strip()}"
        if is_final_break(s):
            assert in_loop and k == len(stmts) - 1, f"break not at the end of a loop body: {where}"
        elif isinstance(s, gast.Assign):
            assert len(s.targets) == 1, where
            target = s.targets[0]
            if isinstance(target, gast.Subscript):
                assert isinstance(target.value, gast.Name) and is_index(target.slice), where
                assert is_atom(s.value), where
            else:
                assert isinstance(target, gast.Name), where
                assert is_one_operation(s.value), f"not one operation: {where}"
        elif isinstance(s, gast.If):
            assert isinstance(s.test, gast.Name), where
            check_block(s.body, in_loop)
            if s.orelse:
                check_block(s.orelse, in_loop)
        elif isinstance(s, gast.For):
            assert isinstance(s.target, gast.Name) and not s.orelse, where
            call = s.iter
            assert isinstance(call, gast.Call) and isinstance(call.func, gast.Name), where
            assert call.func.id.startswith("range") and len(call.args) == 3 and not call.keywords, where
            assert all(is_atom(a) for a in call.args), where
            bounds = {a.id for a in call.args if isinstance(a, gast.Name)}
            assert not bounds & stored(s.body), f"a bound is assigned in the body: {where}"
            check_block(s.body, True)
        elif isinstance(s, gast.While):
            assert isinstance(s.test, gast.Name) and not s.orelse, where
            assert s.test.id in stored(list(before) + stmts[:k]), f"condition not computed before: {where}"
            body = s.body[:-1] if is_final_break(s.body[-1]) else s.body
            assert s.test.id in stored(body[-1:]), f"condition not recomputed last: {where}"
            check_block(s.body, True)
        else:
            raise AssertionError(f"not a core statement: {where}")


def check_core_form(fdef):
    args = fdef.args
    assert not (args.posonlyargs or args.kwonlyargs or args.defaults or args.kw_defaults)
    assert args.vararg is None and args.kwarg is None
    *body, last = fdef.body
    assert isinstance(last, gast.Return) and is_atom(last.value), "no single final `return ATOM`"
    assert not any(isinstance(n, gast.Return) for s in body for n in gast.walk(s)), "early return"
    assert not any(isinstance(n, gast.Continue) for n in gast.walk(fdef)), "continue"
    if body:
        check_block(body, in_loop=False)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_core_form(fn):
    _, fdef, _ = normalized(fn)
    check_core_form(fdef)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_new_names_clash_with_nothing(fn):
    sf, fdef, namespace = normalized(fn)
    user_names = {n.id for n in gast.walk(sf.tree) if isinstance(n, gast.Name)}
    user_locals = stored([sf.tree]) | {a.id for a in sf.tree.args.args + sf.tree.args.kwonlyargs}
    for name in stored([fdef]) - user_locals:
        assert name not in user_names and name not in sf.namespace, name
    for name, value in namespace.items():
        assert name not in user_locals, name
        if name in sf.namespace:
            assert sf.namespace[name] is value, name


@pytest.mark.parametrize("fn", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_every_node_points_into_the_function(fn):
    sf, fdef, _ = normalized(fn)
    first, last = sf.tree.lineno, sf.tree.end_lineno
    for node in gast.walk(fdef):
        if "lineno" in node._attributes:
            assert first <= node.lineno <= last, gast.dump(node)
            assert node.col_offset is not None


# -- specific shapes -----------------------------------------------------------------------------

def source_of(fn):
    return unparse(normalized(fn)[1])


def statements(text):
    return [line.strip() for line in text.splitlines()]


def line_of(fn, text):
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, line in enumerate(lines) if line.strip().startswith(text))


def statement_computing(fdef, predicate):
    return next(s for s in gast.walk(fdef) if isinstance(s, gast.Assign) and predicate(s.value))


def test_statements_point_at_their_user_line():
    _, fdef, _ = normalized(cases.logistic_loss)
    fn = cases.logistic_loss
    exp = statement_computing(fdef, lambda v: isinstance(v, gast.Call) and getattr(v.func, "attr", "") == "exp")
    assert exp.lineno == line_of(fn, "p = 1.0 / (1.0 + np.exp")
    mean = statement_computing(fdef, lambda v: isinstance(v, gast.Call) and getattr(v.func, "attr", "") == "mean")
    assert mean.lineno == line_of(fn, "return -np.mean")

    _, fdef, _ = normalized(cases.while_break_continue)
    flag_sets = [s for s in gast.walk(fdef) if isinstance(s, gast.Assign) and isinstance(s.value, gast.Constant)
                 and s.value.value is True]
    assert {s.lineno for s in flag_sets} == {line_of(cases.while_break_continue, "break")}


def test_temporaries_are_named_after_their_expression():
    text = source_of(cases.logistic_loss)
    for expected in ("x_matmul_w = x @ w", "neg_x_matmul_w = -x_matmul_w", "log_p = np.log(p)",
                     "one_minus_y = 1 - y"):
        assert expected in text, text
    assert "exp_x2 = xp.exp(x)" in source_of(cases.clashing_names)
    assert "x_times_2_2 = x * 2" in source_of(cases.clashing_names)


def test_loops_become_range_loops_with_item_reads():
    text = source_of(cases.loop_over_rows)
    assert "len_X = len(X)" in text and "for i in range(0, len_X, 1):" in text
    assert "row = X[i]" in text
    text = source_of(cases.loop_enumerate)
    assert "for i in range(0, len_x, 1):" in text and "v = x[i]" in text
    text = source_of(cases.loop_zip)
    assert "n_zip = min(len_x, len_y)" in text and "a = x[i]" in text and "b = y[i]" in text
    text = source_of(cases.range_negative_step)
    assert "for i in range(n_minus_1, -1, -1):" in text
    text = source_of(cases.range_bound_rebound)
    assert "stop = n" in text and "for i in range(0, stop, 1):" in text


def test_flags_replace_break_continue_and_early_return():
    text = source_of(cases.while_break_continue)
    assert "brk = False" in text and statements(text).count("break") == 1
    assert "not_brk = not brk\n        if not_brk:\n            len_x2 = len(x)" in text  # the test, after a break
    text = source_of(cases.continue_in_nested_ifs)
    assert "cont = False" in text and "not_cont = not cont" in text
    text = source_of(cases.return_in_loop)
    assert "result = i" in text and "returned = True" in text and text.rstrip().endswith("return result")
    # An if whose branch always leaves needs no flag: the rest moves to its other branch.
    text = source_of(cases.early_returns_in_branches)
    assert "returned =" not in text
    assert [line for line in statements(text) if line.startswith("return")] == ["return result"]
    # A continue whose if has a branch that does not jump needs no flag either.
    assert "cont =" not in source_of(cases.while_break_continue)


def test_swap_reads_before_it_writes():
    text = source_of(cases.rotate_three)
    assert "x_old = x\n" in text and "z = x_old" in text


def test_method_calls_become_numpy_calls():
    text = source_of(cases.method_calls)
    for expected in ("np.sum(X, axis=0)", "np.transpose(X)", "np.reshape(X, (X_shape_1, X_shape2_0))",
                     "np.transpose(X, (1, 0))", "np.clip(X, 0.2, 0.8)"):
        assert expected in text, text
    assert "X_shape = X.shape" in text
    assert "xp.sum(x)" in source_of(cases.numpy_alias) and "np." not in source_of(cases.numpy_alias)
    _, _, namespace = normalized(cases.methods_only)
    assert namespace["np"] is np
    _, fdef, namespace = normalized(cases.local_named_np)
    assert "np_" in namespace and namespace["np_"] is np and "np_.sum(x)" in unparse(fdef)


def test_parameters_become_positional():
    _, fdef, _ = normalized(cases.keyword_only)
    assert [a.id for a in fdef.args.args] == ["x", "scale", "shift"]


def test_short_circuit_keeps_unevaluated_operands_unevaluated():
    """In Python, x[8] would raise: the right operand must sit behind an if."""
    _, fdef, namespace = normalized(cases.and_or_short_circuit)
    assert load(fdef, namespace, jit=False)(mixed, 8) == (False, True, False)
    _, fdef, namespace = normalized(cases.chained_comparison_lazy)
    assert load(fdef, namespace, jit=False)(1.0, 1.0) is False


def test_unknown_array_method_is_refused_at_its_line():
    def uses_searchsorted(x):
        y = x.searchsorted(0.5)
        return y

    with pytest.raises(UnsupportedSyntaxError) as info:
        normalize(capture(uses_searchsorted))
    assert info.value.lineno == line_of(uses_searchsorted, "y = x.searchsorted")
    assert "np.searchsorted" in str(info.value)


def test_there_are_enough_cases():
    assert len(FUNCTIONS) >= 40


# -- random expressions: same values, same evaluation order ---------------------------------------

LOG = []


def tick(value):
    """Records that an operand was evaluated, so laziness and order can be compared."""
    LOG.append(value)
    return value


def expressions():
    leaves = st.sampled_from(["a", "b", "1.0", "2", "-1.5", "0", "tick(a)", "tick(-2.0)", "tick(0)"])

    def grow(inner):
        two = st.tuples(inner, inner)
        three = st.tuples(inner, inner, inner)
        ops = st.sampled_from(["+", "-", "*"])
        compares = st.sampled_from(["<", "<=", "==", "!=", ">"])
        return st.one_of(
            inner.map(lambda e: f"(-{e})"),
            inner.map(lambda e: f"(not {e})"),
            st.tuples(inner, ops, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, compares, inner, compares, inner).map(lambda t: "({} {} {} {} {})".format(*t)),
            two.map(lambda t: f"({t[0]} and {t[1]})"),
            two.map(lambda t: f"({t[0]} or {t[1]})"),
            three.map(lambda t: f"(tick({t[0]}) if {t[1]} else {t[2]})"),
        )
    return st.recursive(leaves, grow, max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=expressions(), test=expressions(), second=expressions())
def test_random_expressions_keep_values_and_evaluation_order(tmp_path, first, test, second):
    source = (f"from test_normalize import tick\n\n\ndef f(a, b):\n    x = {first}\n    if {test}:\n"
              f"        x = {second}\n    return x, {second}\n")
    path = tmp_path / f"generated_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.tick is tick
    _, fdef, namespace = normalized(module.f)
    check_core_form(fdef)
    lowered = load(fdef, namespace, jit=False)
    for a, b in ((0.0, 1.0), (2.0, -1.0), (-1.5, 0.0)):
        LOG.clear()
        expected = module.f(a, b)
        expected_log = list(LOG)
        LOG.clear()
        assert lowered(a, b) == expected and LOG == expected_log, unparse(fdef)


def random_statements(data, depth, loops):
    """Random statements (as indented lines) mixing loops, ifs, break, continue and return."""
    lines = []
    for _ in range(data.draw(st.integers(1, 3))):
        kinds = ["assign", "tick", "if", "return"]
        kinds += ["break", "continue"] if loops else []
        kinds += ["for", "while", "for_array"] if depth < 3 else []
        kind = data.draw(st.sampled_from(kinds))
        names = ["s", "a", *loops]
        if kind == "assign":
            lines.append(f"s = s {data.draw(st.sampled_from('+-*'))} {data.draw(st.sampled_from(names))}")
        elif kind == "tick":
            lines.append(f"s = s + tick({data.draw(st.sampled_from(names))})")
        elif kind == "if":
            test = f"{data.draw(st.sampled_from(names))} {data.draw(st.sampled_from(['<', '>', '==']))} 1"
            lines += [f"if {test}:", *indent(random_statements(data, depth + 1, loops))]
            if data.draw(st.booleans()):
                lines += ["else:", *indent(random_statements(data, depth + 1, loops))]
        elif kind in ("break", "continue"):
            lines.append(kind)
        elif kind == "return":
            lines.append("return s")
        else:
            var = f"k{depth}"
            header = {"for": f"for {var} in range({data.draw(st.integers(0, 3))}):",
                      "for_array": f"for {var} in xs:",
                      "while": f"while {var} < {data.draw(st.integers(0, 3))}:"}[kind]
            first = [f"{var} = {var} + 1"] if kind == "while" else []
            lines += [f"{var} = 0"] * (kind == "while") + [header]
            lines += indent(first + random_statements(data, depth + 1, [*loops, var]))
    return lines


def indent(lines):
    return ["    " + line for line in lines]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_control_flow_keeps_values_and_evaluation_order(tmp_path, data):
    body = ["s = 0.0", *random_statements(data, 0, []), "return s"]
    source = "from test_normalize import tick\n\n\ndef f(a, xs):\n" + "\n".join(indent(body)) + "\n"
    path = tmp_path / f"generated_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, fdef, namespace = normalized(module.f)
    check_core_form(fdef)
    lowered = load(fdef, namespace, jit=False)
    for a in (0, 1, 2):
        LOG.clear()
        expected = module.f(a, [1.0, 2.0, 3.0])
        expected_log = list(LOG)
        LOG.clear()
        assert lowered(a, [1.0, 2.0, 3.0]) == expected and LOG == expected_log, source + unparse(fdef)
