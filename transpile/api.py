"""The public transformations (see API.md): thin constructors of Transformed objects."""
import functools

from .function import Transformed, as_spec
from .ir import FunctionSpec
from .transforms import batch, reverse, structure  # noqa: F401  (importing registers the passes)


def _target_of(fun):
    if isinstance(fun, Transformed):
        return fun.target, fun.options
    return "python", {}


def jit(fun=None, *, target="cpu", parallel=False, fastmath=False, cache=True, nogil=False):
    """Compile `fun` (a function or a transformed function) for `target`."""
    if fun is None:
        return functools.partial(jit, target=target, parallel=parallel, fastmath=fastmath,
                                 cache=cache, nogil=nogil)
    options = dict(parallel=parallel, fastmath=fastmath, cache=cache, nogil=nogil)
    spec = as_spec(fun)
    if parallel:
        spec = _parallel_outer_vmap(spec)
    return Transformed(spec, target, options, signature_of=_signature_of(fun))


def _parallel_outer_vmap(spec):
    """Under jit(parallel=True) the outermost vmap's batch loop becomes a prange."""
    chain = list(spec.chain)
    for k in range(len(chain) - 1, -1, -1):
        name, options = chain[k]
        if name == "vmap":
            chain[k] = (name, tuple(sorted({**dict(options), "parallel": True}.items())))
            break
    return FunctionSpec(spec.pyfunc, tuple(chain))


def _signature_of(fun):
    if isinstance(fun, Transformed):
        return fun.signature_source
    return as_spec(fun).pyfunc


def _derivative(kind, fun, argnums, has_aux):
    spec = as_spec(fun).then(kind, argnums=argnums, has_aux=has_aux)
    target, options = _target_of(fun)
    return Transformed(spec, target, options, _signature_of(fun))


def grad(fun, argnums=0, has_aux=False):
    """Gradient of scalar-valued `fun` with respect to positional argument(s) `argnums`."""
    return _derivative("grad", fun, argnums, has_aux)


def value_and_grad(fun, argnums=0, has_aux=False):
    """`(value, grad)` of `fun`, or `((value, aux), grad)` with `has_aux`."""
    return _derivative("value_and_grad", fun, argnums, has_aux)


def vjp(fun, *primals, has_aux=False):
    """`(out, vjp_fun)`: `vjp_fun(cotangent)` gives one cotangent per primal."""
    target, options = _target_of(fun)
    primal = Transformed(as_spec(fun), target, options, _signature_of(fun))
    out = primal(*primals)
    aux = None
    if has_aux:
        out, aux = out
    argnums = tuple(range(len(primals)))
    backward = _derivative("vjp", fun, argnums, has_aux)

    def vjp_fun(cotangent):
        return backward.generated.callable(*primals, cotangent)

    return (out, vjp_fun, aux) if has_aux else (out, vjp_fun)


def vmap(fun, in_axes=0, out_axes=0, axis_name=None):
    """Batched `fun`: maps over axis `in_axes` of each argument (None: not batched)."""
    if axis_name is not None:
        raise NotImplementedError("vmap axis_name (collectives) is not supported yet")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    spec = as_spec(fun).then("vmap", in_axes=in_axes, out_axes=out_axes)
    target, options = _target_of(fun)
    return Transformed(spec, target, options, _signature_of(fun))


def show(fun, *example_args):
    """The generated Python source of `fun` (a function or transformed function)."""
    if not isinstance(fun, Transformed):
        fun = Transformed(as_spec(fun), "python", {})
    return fun.source()
