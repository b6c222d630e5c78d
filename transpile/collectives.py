"""Collectives over a named mapped axis: tp.psum(x, "batch") inside vmap(..., axis_name="batch").

These have a meaning only inside a transformation that binds the axis name (vmap, pmap), which
replaces each call by an operation over the whole batch. Called anywhere else, as in JAX, they
raise "unbound axis name".
"""

COLLECTIVES = {}  # function -> what it gives each example: "reduce" (one value for all), "gather",
#                   "scatter" (its own row of the sum), "index"


def _unbound(axis_name):
    raise NameError(f"unbound axis name: {axis_name!r}. Collectives such as tp.psum work only inside "
                    f"a function transformed by tp.vmap(..., axis_name={axis_name!r}) or tp.pmap")


def _collective(kind):
    def register(fn):
        COLLECTIVES[fn] = kind
        return fn
    return register


@_collective("reduce")
def psum(x, axis_name):
    """Sum of `x` over every example of the mapped axis `axis_name`."""
    _unbound(axis_name)


@_collective("reduce")
def pmean(x, axis_name):
    """Mean of `x` over the mapped axis `axis_name`."""
    _unbound(axis_name)


@_collective("reduce")
def pmax(x, axis_name):
    """Maximum of `x` over the mapped axis `axis_name`."""
    _unbound(axis_name)


@_collective("reduce")
def pmin(x, axis_name):
    """Minimum of `x` over the mapped axis `axis_name`."""
    _unbound(axis_name)


@_collective("gather")
def all_gather(x, axis_name):
    """Every example's `x`, stacked on a new leading axis."""
    _unbound(axis_name)


@_collective("scatter")
def psum_scatter(x, axis_name):
    """Row `axis_index(axis_name)` of psum(x): `x` has one row per example (the transpose of all_gather)."""
    _unbound(axis_name)


@_collective("index")
def axis_index(axis_name):
    """This example's position along the mapped axis `axis_name`."""
    _unbound(axis_name)
