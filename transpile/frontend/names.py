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
_OPERATOR_WORDS = set(_WORDS.values())
_LEADING = {"0": "zero", "1": "one", "2": "two", "3": "three"}
MAX_LEN = 20


def _word(op):
    return _WORDS.get(type(op), "op")


def _constant(value):
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, str):
        return value if value.isidentifier() else "s"
    if isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value)) if value >= 0 else f"m{-int(value)}"
    return "half" if value == 0.5 else "c"


def _index(node):
    """Index parts, with full slices left out: `x[:, j]` -> `x_j`."""
    parts = node.elts if isinstance(node, gast.Tuple) else [node]
    words = []
    for part in parts:
        if isinstance(part, gast.Slice):
            words += [describe(p) for p in (part.lower, part.upper, part.step) if p]
        else:
            words.append(describe(part))
    return "_".join(w for w in words if w) or "slice"


def describe(node):
    """A name-like rendering of an expression, e.g. `np.exp(x @ w)` -> `exp_x_matmul_w`."""
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Constant):
        return _constant(node.value)
    if isinstance(node, gast.BinOp):
        return f"{describe(node.left)}_{_word(node.op)}_{describe(node.right)}"
    if isinstance(node, gast.UnaryOp):
        if isinstance(node.operand, gast.Constant) and isinstance(node.op, gast.USub):
            return _constant(-node.operand.value)
        return f"{_word(node.op)}_{describe(node.operand)}"
    if isinstance(node, gast.Compare):
        text = describe(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            text = _join(text, _word(op), describe(comparator))
        return text
    if isinstance(node, gast.BoolOp):
        text = describe(node.values[0])
        for value in node.values[1:]:
            text = _join(text, _word(node.op), describe(value))
        return text
    if isinstance(node, gast.Call):
        func = node.func.attr if isinstance(node.func, gast.Attribute) else describe(node.func)
        return f"{func}_{describe(node.args[0])}" if node.args else func
    if isinstance(node, gast.Attribute):
        return f"{describe(node.value)}_{node.attr}"
    if isinstance(node, gast.Subscript):
        return f"{describe(node.value)}_{_index(node.slice)}"
    if isinstance(node, (gast.Tuple, gast.List)):
        joined = "_".join(describe(e) for e in node.elts)
        return joined if 0 < len(joined) <= MAX_LEN else "tup"
    if isinstance(node, gast.IfExp):
        return f"{describe(node.body)}_if_{describe(node.test)}"
    return "t"


def _identifier(parts):
    text = "_".join(parts)
    if text[0].isdigit():
        head, sep, tail = text.partition("_")
        text = _LEADING.get(head, "c" + head) + sep + tail
    return text


def _join(left, word, right):
    """`left_word_right`, both sides cut when too long, so that a test's name keeps its operator."""
    text = f"{left}_{word}_{right}"
    if len(text) <= MAX_LEN:
        return text
    room = MAX_LEN - len(word) - 2
    right = "_".join(_cut(right.split("_"), True, max(room - len(left), room // 2)))
    left = "_".join(_cut(left.split("_"), True, room - len(right)))
    return f"{left}_{word}_{right}"


def _cut(parts, trim, limit=MAX_LEN):
    """The leading parts that fit; `trim` drops a dangling operator word (`a_plus_b`, not `a_plus`)."""
    kept, size = [], -1
    for part in parts:
        if kept and size + len(part) + 1 > limit:
            break
        kept.append(part)
        size += len(part) + 1
    while trim and len(kept) > 1 and kept[-1] in _OPERATOR_WORDS:
        kept.pop()
    return kept


def shortenings(text):
    """Identifiers of at most about MAX_LEN characters for `text`, best first: head, tail, ..."""
    text = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    parts = [p for p in text.split("_") if p] or ["t"]
    if len(text) <= MAX_LEN:
        return [_identifier(parts)]
    cuts = [_cut(parts, True), _cut(parts[::-1], True)[::-1], _cut(parts, False), _cut(parts[::-1], False)[::-1]]
    return list(dict.fromkeys(_identifier(c) for c in cuts))


class Namer:
    """Hands out names that clash with nothing the function, its namespace or Python defines."""

    def __init__(self, taken):
        self.taken = set(taken) | set(dir(builtins)) | set(keyword.kwlist)

    def fresh(self, hint):
        """A new name for `hint`; a long one keeps its start, or else its end (`s_plus_x_i` ...)."""
        candidates = shortenings(hint)
        for name in candidates:
            if name not in self.taken:
                self.taken.add(name)
                return name
        base = candidates[0]
        name, k = base, 1
        while name in self.taken:  # x_i, x_i2, ...; x_1, x_1_2, ... so that an index stays readable
            k += 1
            name = f"{base}_{k}" if base[-1].isdigit() else f"{base}{k}"
        self.taken.add(name)
        return name

    def temp(self, node):
        return self.fresh(describe(node))
