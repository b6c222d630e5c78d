"""Resolving names to live objects and generating fresh, readable, non-clashing names."""
import gast


def dotted(node):
    """`np.linalg.norm` as ['np', 'linalg', 'norm'], or None if not a chain of names."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):
        return [node.id] + parts[::-1]
    return None


def resolve(node, namespace):
    """The object a `Name` or dotted `Attribute` refers to in `namespace`, or None."""
    parts = dotted(node)
    if not parts or parts[0] not in namespace:
        return None
    obj = namespace[parts[0]]
    for attr in parts[1:]:
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def all_names(tree):
    return {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}


class NamePool:
    """Hands out names not used by the function nor its namespace."""

    def __init__(self, *taken):
        self.taken = set()
        for group in taken:
            self.taken.update(group)

    def fresh(self, base):
        base = base.strip("_") or "t"
        if base[0].isdigit():
            base = "t" + base
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def bind_object(namespace, pool, preferred, obj):
    """A name bound to `obj` in `namespace`, reusing an existing binding when there is one."""
    for name, value in namespace.items():
        if value is obj:
            return name
    name = preferred if preferred not in pool.taken and preferred not in namespace \
        else pool.fresh(preferred)
    pool.taken.add(name)
    namespace[name] = obj
    return name


class Renamer(gast.NodeTransformer):
    """Renames every occurrence of names (reads, writes, parameters): `x` -> mapping[x]."""

    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            node.id = self.mapping[node.id]
        return node


class LoadRenamer(gast.NodeTransformer):
    """Renames reads (not writes) of names: `x` -> mapping[x] where it is loaded."""

    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.mapping:
            node.id = self.mapping[node.id]
        return node
