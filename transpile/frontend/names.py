"""Fresh, readable names for the temporaries that normalization introduces."""
import builtins
import keyword

import gast

_WORDS = {
    gast.Add: "plus", gast.Sub: "minus", gast.Mult: "times", gast.Div: "div",
    gast.FloorDiv: "floordiv", gast.Mod: "mod", gast.Pow: "pow", gast.MatMult: "matmul",
    gast.LShift: "lshift", gast.RShift: "rshift", gast.BitOr: "bitor", gast.BitAnd: "bitand",
    gast.BitXor: "bitxor", gast.Eq: "eq", gast.NotEq: "ne", gast.Lt: "lt", gast.LtE: "le",
    gast.Gt: "gt", gast.GtE: "ge", gast.And: "and", gast.Or: "or", gast.USub: "neg",
    gast.UAdd: "pos", gast.Not: "not", gast.Invert: "inv",
}
_SMALL = {0: "zero", 1: "one", 2: "two", 3: "three", 0.5: "half"}
MAX_LEN = 20


def _word(op):
    return _WORDS.get(type(op), "op")


def _constant(value, digits):
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, str):
        return value if value.isidentifier() else "s"
    if isinstance(value, (int, float)):
        if digits and float(value).is_integer():
            return str(int(value)) if value >= 0 else f"m{-int(value)}"
        if value in _SMALL:
            return _SMALL[value]
        if float(value).is_integer():
            return str(int(value)) if value >= 0 else f"m{-int(value)}"
    return "c"


def _index(node):
    """Index parts in digits (`x_0`), with full slices (`x[:, j]` -> `x_j`) left out."""
    parts = node.elts if isinstance(node, gast.Tuple) else [node]
    words = []
    for part in parts:
        if isinstance(part, gast.Slice):
            words += [describe(p, True) for p in (part.lower, part.upper, part.step) if p]
        else:
            words.append(describe(part, True))
    return "_".join(w for w in words if w) or "slice"


def describe(node, digits=False):
    """A name-like rendering of an expression, e.g. `np.exp(x @ w)` -> `exp_x_matmul_w`."""
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Constant):
        return _constant(node.value, digits)
    if isinstance(node, gast.BinOp):
        return f"{describe(node.left)}_{_word(node.op)}_{describe(node.right)}"
    if isinstance(node, gast.UnaryOp):
        if isinstance(node.operand, gast.Constant) and isinstance(node.op, gast.USub):
            return _constant(-node.operand.value, digits)
        return f"{_word(node.op)}_{describe(node.operand)}"
    if isinstance(node, gast.Compare):
        rest = "".join(f"_{_word(op)}_{describe(c)}" for op, c in zip(node.ops, node.comparators))
        return describe(node.left) + rest
    if isinstance(node, gast.BoolOp):
        return f"_{_word(node.op)}_".join(describe(v) for v in node.values)
    if isinstance(node, gast.Call):
        func = node.func.attr if isinstance(node.func, gast.Attribute) else describe(node.func)
        return f"{func}_{describe(node.args[0])}" if node.args else func
    if isinstance(node, gast.Attribute):
        return f"{describe(node.value)}_{node.attr}"
    if isinstance(node, gast.Subscript):
        return f"{describe(node.value)}_{_index(node.slice)}"
    if isinstance(node, (gast.Tuple, gast.List)):
        return "_".join(describe(e) for e in node.elts) or "empty"
    if isinstance(node, gast.IfExp):
        return f"{describe(node.body)}_if_{describe(node.test)}"
    return "t"


def shorten(text):
    """At most MAX_LEN characters, cut at an underscore, and a valid identifier."""
    text = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text).strip("_") or "t"
    if len(text) > MAX_LEN:
        kept = ""
        for part in text.split("_"):
            if len(kept) + len(part) + 1 > MAX_LEN and kept:
                break
            kept = f"{kept}_{part}" if kept else part
        text = kept[:MAX_LEN].rstrip("_")
    if text[0].isdigit():
        text = "c" + text
    return text


class Namer:
    """Hands out names that clash with nothing the function, its namespace or Python defines."""

    def __init__(self, taken):
        self.taken = set(taken) | set(dir(builtins)) | set(keyword.kwlist)

    def fresh(self, hint):
        base = shorten(hint)
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def temp(self, node):
        return self.fresh(describe(node))
