"""The public transformations (see API.md): thin constructors of Transformed objects."""
import functools

from . import tangents as tangents_check
from .backends.subnormals import check_supported
from .function import Transformed, as_spec
from .ir import FunctionSpec
from .pmapped import Pmapped
from .transforms import batch, custom_rules, forward, jacobian, reverse, segments, structure  # noqa: F401  (importing registers the passes)
from .transforms.batch_axes import freeze as freeze_axes
from .transforms.checkpoint import check_every


def _target_of(fun):
    if isinstance(fun, Transformed):
        return fun.target, fun.options
    return "python", {}


def jit(fun=None, *, target="cpu", parallel=False, fastmath=False, cache=True, nogil=False, fuse=True,
        flush_subnormals=False):
    """Compile `fun` (a function or a transformed function) for `target`.

    `fuse` turns chains of elementwise NumPy operations into single loops (transforms/fuse.py).
    `flush_subnormals` runs each call with subnormal floats read and written as zero, as XLA runs
    JAX's CPU code (backends/subnormals.py).
    """
    if fun is None:
        return functools.partial(jit, target=target, parallel=parallel, fastmath=fastmath,
                                 cache=cache, nogil=nogil, fuse=fuse, flush_subnormals=flush_subnormals)
    options = dict(parallel=parallel, fastmath=fastmath, cache=cache, nogil=nogil, fuse=fuse)
    if flush_subnormals:
        if target == "cuda":
            raise ValueError("flush_subnormals=True is for the cpu and python targets; on CUDA, "
                             "tp.jit(..., target='cuda', fastmath=True) flushes subnormals (ftz)")
        check_supported(parallel)
        options["flush_subnormals"] = True
    if isinstance(fun, Pmapped):  # already compiled shard by shard: take the code options
        return fun.with_options(dict(fastmath=fastmath, cache=cache, fuse=fuse,
                                     **({"flush_subnormals": True} if flush_subnormals else {})))
    spec = as_spec(fun)
    if parallel:
        spec = _parallel_outer_vmap(spec)
    if target == "cuda":
        from .transforms.kernel import gpu_spec
        spec = gpu_spec(spec, fuse=fuse)  # array code: fused kernels (transforms/fuse_kernels.py)
        options["fuse"] = False  # not the CPU's fused loops: kernels and device functions come from the spec
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


def jvp(fun, primals, tangents):
    """`(fun(*primals), tangent_out)`: forward mode, the derivative of `fun` at `primals` along
    `tangents` (one per primal, of the same structure, shape and dtype)."""
    primals, tangents = tangents_check.check(primals, tangents)
    argnums = tuple(k for k, p in enumerate(primals) if tangents_check.is_float_tree(p))
    target, options = _target_of(fun)
    key = (as_spec(fun), target, tuple(sorted(options.items())), len(primals), argnums)
    jvp_function = _jvp_functions.get(key)
    if jvp_function is None:
        spec = key[0].then("jvp", argnums=argnums)
        names = tangents_check.parameter_names(_signature_of(fun), len(primals), argnums)
        jvp_function = _jvp_functions.setdefault(key, Transformed(spec, target, options, names))
    return jvp_function(*primals, *[tangents[k] for k in argnums])


_jvp_functions = {}


def _jacobian(kind, fun, argnums):
    if isinstance(argnums, list):
        argnums = tuple(argnums)
    target, options = _target_of(fun)
    return Transformed(as_spec(fun).then(kind, argnums=argnums), target, options, _signature_of(fun))


def jacfwd(fun, argnums=0):
    """Jacobian of `fun` by forward mode, shape `out.shape + in.shape` (a tuple for tuple argnums)."""
    return _jacobian("jacfwd", fun, argnums)


def jacrev(fun, argnums=0):
    """Jacobian of `fun` by reverse mode, shape `out.shape + in.shape` (a tuple for tuple argnums)."""
    return _jacobian("jacrev", fun, argnums)


def hessian(fun, argnums=0):
    """Second derivative of `fun` w.r.t. argument `argnums` (an int), forward-over-reverse:
    jacfwd(jacrev(fun))."""
    if not isinstance(argnums, int):
        raise TypeError(f"hessian: argnums must be an int for now, got {argnums!r}")
    return jacfwd(jacrev(fun, argnums), argnums)


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, method="auto"):
    """Batched `fun`: maps over axis `in_axes` of each argument (None: not batched).

    `method` is "loop" (a loop over examples; prange under jit(parallel=True)), "vectorize"
    (operations rewritten to act on the whole batch) or "auto" (vectorize where every statement
    has a batching rule). `axis_name` binds collectives (tp.psum...) inside `fun`.
    """
    spec = as_spec(fun).then("vmap", in_axes=freeze_axes(in_axes), out_axes=freeze_axes(out_axes),
                             axis_name=axis_name, method=method)
    target, options = _target_of(fun)
    return Transformed(spec, target, options, _signature_of(fun))


def pmap(fun, axis_name=None, in_axes=0, out_axes=0, backend=None, devices=None):
    """`fun` run as parallel shards over the leading axis of its mapped arguments.

    `backend` is "threads" (default: Numba code without the GIL on one worker thread per core, or
    `devices` of them), "mpi" (one block of shards per MPI rank, under `mpiexec`) or "cuda" (one
    kernel per GPU for each block of shards). Collectives (tp.psum...) over `axis_name` combine the
    shards' values (docs/pmap.md).
    """
    return Pmapped(fun, axis_name=axis_name, in_axes=in_axes, out_axes=out_axes, backend=backend,
                   devices=devices)


def checkpoint(fun=None, *, every=None):
    """`fun` with the same values whose intermediates reverse mode recomputes instead of storing.

    `every=k` (an int, or "sqrt" for about the square root of the trip count) also checkpoints
    the `for` loops at the top level of `fun`: reverse mode keeps their state every k-th
    iteration and recomputes the k iterations in between, so tape memory for an N-step loop is
    O(N/k + k) instead of O(N). Also a decorator: `@tp.checkpoint`, `@tp.checkpoint(every="sqrt")`.
    """
    if fun is None:
        return functools.partial(checkpoint, every=every)
    spec = as_spec(fun).then("checkpoint", every=check_every(every))
    target, options = _target_of(fun)
    return Transformed(spec, target, options, _signature_of(fun))


def show(fun, *example_args):
    """The generated Python source of `fun` (a function or transformed function)."""
    if isinstance(fun, Pmapped):
        return fun.source(*example_args)
    if not isinstance(fun, Transformed):
        fun = Transformed(as_spec(fun), "python", {})
    return fun.source(*example_args)
