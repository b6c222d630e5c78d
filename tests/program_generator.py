"""Random programs in the supported subset, for the fuzzer (tests/test_fuzz.py).

A program is a function `f(x, v, w)` of a float and two float vectors of length 5, written as a
NumPy user would: arithmetic and smooth NumPy/math calls, `if` on run-time values, `for` loops
(constant and data-dependent trip counts), `while` with a data-dependent stop, in-place writes into
arrays the function created, and calls of a helper function. It returns a float. Every statement
is drawn by hypothesis, so failures shrink to small programs.
"""
import importlib.util
import itertools
import os
import tempfile

from hypothesis import strategies as st

HELPERS = '''
def scaled_cos(p, q):
    return p * math.cos(q) + 0.5 * q


def soft_norm(a):
    return np.sqrt(np.sum(a * a) + 1.0)
'''

SCALAR_UNARY = ["math.sin({})", "math.cos({})", "math.tanh({})", "math.exp(0.1 * {})", "({}) * ({})",
                "math.sqrt({} * {} + 1.0)", "-({})", "math.atan({})"]
ARRAY_UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(0.1 * {})", "({}) * ({})", "-({})",
               "np.sqrt({} * {} + 1.0)", "np.log1p({} * {})"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} * 0.5 + {}"]


class Builder:
    """Draws statements into a growing body, tracking which names hold scalars and arrays."""

    def __init__(self, draw):
        self.draw = draw
        self.scalars = ["x"]
        self.arrays = ["v", "w"]
        self.lines = []
        self.counter = itertools.count()
        self.created = []  # arrays this function created (in-place writes allowed)

    def fresh(self, prefix):
        return f"{prefix}{next(self.counter)}"

    def pick(self, names):
        return self.draw(st.sampled_from(names))

    def scalar_expr(self):
        kind = self.draw(st.integers(0, 5))
        s, a = self.pick(self.scalars), self.pick(self.arrays)
        if kind == 0:
            return self.draw(st.sampled_from(SCALAR_UNARY)).format(s, s)
        if kind == 1:
            return self.draw(st.sampled_from(BINARY)).format(s, self.pick(self.scalars))
        if kind == 2:
            return f"np.sum({a})"
        if kind == 3:
            return f"{a}[{self.draw(st.integers(0, 4))}]"
        if kind == 4:
            return f"np.dot({a}, {self.pick(self.arrays)})"
        return f"scaled_cos({s}, {self.pick(self.scalars)})"

    def array_expr(self):
        kind = self.draw(st.integers(0, 3))
        a, s = self.pick(self.arrays), self.pick(self.scalars)
        if kind == 0:
            return self.draw(st.sampled_from(ARRAY_UNARY)).format(a, a)
        if kind == 1:
            return self.draw(st.sampled_from(BINARY)).format(a, self.pick(self.arrays))
        if kind == 2:
            return f"{a} * {s}"
        return f"{a} / soft_norm({self.pick(self.arrays)})"

    def statement(self, indent, depth):
        pad = "    " * indent
        choice = self.draw(st.integers(0, 9 if depth < 2 else 4))
        if choice <= 2:
            name = self.fresh("s")
            self.lines.append(f"{pad}{name} = {self.scalar_expr()}")
            self.scalars.append(name)
        elif choice <= 4:
            name = self.fresh("a")
            self.lines.append(f"{pad}{name} = {self.array_expr()}")
            self.arrays.append(name)
        elif choice == 5:
            target = self.pick(self.scalars)
            if target == "x":
                target = self.fresh("s")
                self.lines.append(f"{pad}{target} = x")
                self.scalars.append(target)
            self.lines.append(f"{pad}if {self.pick(self.scalars)} > {self.draw(st.sampled_from(['0.0', '0.3', '-0.2']))}:")
            self.lines.append(f"{pad}    {target} = {self.scalar_expr()}")
            self.lines.append(f"{pad}else:")
            self.lines.append(f"{pad}    {target} = {target} * 0.7")
        elif choice == 6:
            target = self.fresh("acc")
            self.lines.append(f"{pad}{target} = 0.0")
            self.scalars.append(target)
            trip = self.draw(st.sampled_from(["3", "len(v)", "int(abs(x)) % 3 + 1"]))
            self.lines.append(f"{pad}for i in range({trip}):")
            self.lines.append(f"{pad}    {target} = {target} * 0.9 + {self.pick(self.arrays)}[i] * {self.pick(self.scalars)}")
        elif choice == 7:
            name = self.fresh("b")
            self.lines.append(f"{pad}{name} = np.zeros(5)")
            self.lines.append(f"{pad}for i in range(5):")
            self.lines.append(f"{pad}    {name}[i] = {self.pick(self.arrays)}[i] * {self.pick(self.scalars)}")
            if self.draw(st.booleans()):
                self.lines.append(f"{pad}{name}[1:3] = {name}[0:2] * 2.0")
            self.lines.append(f"{pad}{name}[0] += {self.pick(self.scalars)}")
            self.arrays.append(name)
            self.created.append(name)
        elif choice == 8:
            target = self.fresh("t")
            counter = self.fresh("k")
            self.lines.append(f"{pad}{target} = {self.pick(self.scalars)}")
            self.lines.append(f"{pad}{counter} = 0")
            self.lines.append(f"{pad}while {counter} < 4 and abs({target}) < 3.0:")
            self.lines.append(f"{pad}    {target} = {target} * 1.3 + 0.1")
            self.lines.append(f"{pad}    {counter} += 1")
            self.scalars.append(target)
        else:
            self.lines.append(f"{pad}for i in range(2):")
            before = len(self.lines)
            for _ in range(self.draw(st.integers(1, 2))):
                self.statement(indent + 1, depth + 1)
            if len(self.lines) == before:
                self.lines.append(f"{pad}    pass")


@st.composite
def programs(draw, max_statements=6):
    """Source text of a module defining helpers and `f(x, v, w)`."""
    builder = Builder(draw)
    for _ in range(draw(st.integers(1, max_statements))):
        builder.statement(1, 0)
    # every value computed flows into the result, so no statement is dead code
    terms = builder.scalars[1:] + [f"np.sum({a})" for a in builder.arrays[2:]] or ["x"]
    result = " + ".join(terms + [f"np.sum({builder.pick(builder.arrays)})"])
    body = "\n".join(builder.lines + [f"    return {result}"])
    return f"import math\n\nimport numpy as np\n{HELPERS}\n\ndef f(x, v, w):\n{body}\n"


_DIRECTORY = tempfile.mkdtemp(prefix="transpile_fuzz_")
_modules = itertools.count()


def load(source):
    """Import `source` from a real file (transformations read functions' source files)."""
    path = os.path.join(_DIRECTORY, f"fuzz_{next(_modules)}.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f
