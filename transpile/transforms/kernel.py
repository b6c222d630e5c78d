"""jit(target="cuda"): the outermost vmap becomes a CUDA kernel with one thread per example.

Three generated functions share the work:
- the per-example function as a device function (device.py);
- the kernel: `b = cuda.grid(1)`; thread b reads example b, calls the device function and writes
  each result leaf into `out_k[b]`;
- the launcher, plain host Python: arguments to the device (device arrays stay there), result
  arrays allocated on the device, the launch, results copied back for host inputs.
A function that is not vmapped runs the same way as one example on one thread.
"""
import gast

from .. import gastutil as g
from ..analysis.names import NamePool, all_names, bind_object
from ..ir import FunctionSpec, IRFunction
from ..pipeline import register_transform
from .batch_axes import example_kinds, leaf_in_axes, leaf_out_axes, leaf_paths, resolve_in_axes, result_structure, treedefs_of
from .device import device_spec
from .fuse_kernels import computes_with_arrays, host_function

_KERNEL_OPTIONS = ("in_axes", "out_axes")


def gpu_spec(spec, fuse=True):
    """The spec jit(target="cuda") generates: the outermost vmap as a kernel launch; when the
    chain does not end in vmap, one thread running the whole function, or for array code
    fused kernels (fuse_kernels.py; `fuse=False`: one kernel per operation); jacfwd in the form
    that needs no array for scalar arguments (scalar_jacobian.py)."""
    from . import scalar_jacobian  # noqa: F401  (registers the pass)
    spec = FunctionSpec(spec.pyfunc, tuple(("scalar_jacfwd" if name == "jacfwd" else name, options)
                                           for name, options in spec.chain), spec.kinds)
    if spec.chain and spec.chain[-1][0] == "vmap":
        options = dict(spec.chain[-1][1])
        if options.get("axis_name") is not None:
            raise ValueError("vmap with axis_name (collectives) has no CUDA form yet; use target='cpu'")
        kept = tuple((k, v) for k, v in spec.chain[-1][1] if k in _KERNEL_OPTIONS)
        return FunctionSpec(spec.pyfunc, spec.chain[:-1] + (("cuda_vmap", kept),), spec.kinds)
    return FunctionSpec(spec.pyfunc, spec.chain + (("cuda_call", (("fuse", fuse),)),), spec.kinds)


def _inner_kinds(kinds, in_axes=None, out_axes=0, inner_chain=()):
    return kinds if in_axes is None else example_kinds(kinds, in_axes, inner_chain)


def _axes(ir, in_axes, kinds):
    """The mapped axis (or None) of each parameter; all None for a one-thread call."""
    if in_axes is None:
        return [None] * len(ir.params)
    return resolve_in_axes(leaf_in_axes(in_axes, len(ir.params), treedefs_of(ir.spec.chain)),
                           ir.params, kinds)


def _function(name, params, body, loc):
    fdef = gast.FunctionDef(name=name, args=gast.arguments(
        args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in params],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=body, decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fdef, loc)


def _subscript(value, index):
    return gast.Subscript(value=g.name(value), slice=index, ctx=gast.Load())


def _output_names(pool, count):
    return [pool.fresh("out" if count == 1 else f"out_{k}") for k in range(count)]


def _build_kernel(ir, in_axes, kinds):
    """The kernel: thread b computes example b (every thread the same one when nothing is mapped)."""
    from numba import cuda
    axes = _axes(ir, in_axes, kinds)
    paths = leaf_paths(result_structure(ir.fdef))
    pool = NamePool(ir.params, all_names(ir.fdef))
    namespace = {}
    loc = ir.fdef
    cuda_name = bind_object(namespace, pool, "cuda", cuda)
    device_name = bind_object(namespace, pool, ir.spec.label, device_spec(ir.spec))
    outs = _output_names(pool, len(paths))
    b, shape, size, in_range = (pool.fresh(n) for n in ("b", "shape", "batch_size", "in_range"))
    body = [g.assign(b, g.call(f"{cuda_name}.grid", [g.const(1)]), loc),
            g.assign(shape, gast.Attribute(value=g.name(outs[0]), attr="shape", ctx=gast.Load()), loc),
            g.assign(size, _subscript(shape, g.const(0)), loc),
            g.assign(in_range, gast.Compare(left=g.name(b), ops=[gast.Lt()], comparators=[g.name(size)]), loc)]
    example = []
    args = []
    for p, axis in zip(ir.params, axes):
        if axis is None:
            args.append(g.name(p))
            continue
        item = pool.fresh(p + "_b")
        example.append(g.assign(item, _subscript(p, g.name(b)), loc))
        args.append(g.name(item))
    result = pool.fresh("result_b")
    example.append(g.assign(result, g.call(device_name, args), loc))
    parts = {(): result}
    for path in paths:
        for depth in range(1, len(path) + 1):
            if path[:depth] not in parts:
                parts[path[:depth]] = pool.fresh(f"{parts[path[:depth - 1]]}_{path[depth - 1]}")
                example.append(g.assign(parts[path[:depth]], _subscript(parts[path[:depth - 1]],
                                                                        g.const(path[depth - 1])), loc))
    for path, out in zip(paths, outs):
        target = gast.Subscript(value=g.name(out), slice=g.name(b), ctx=gast.Store())
        example.append(g.assign(target, g.name(parts[path]), loc))
    body.append(g.located(gast.If(test=g.name(in_range), body=example, orelse=[]), loc))
    fdef = _function(ir.fdef.name, ir.params + outs, body, loc)
    return IRFunction(fdef=fdef, namespace=namespace, filename=ir.filename, spec=ir.spec)


def _build_launcher(ir, in_axes, out_axes, kinds):
    """Host code: arguments to the device, outputs allocated there, the launch, results back.
    `ir` is the per-example function; `kinds` are the launcher's parameters' kinds."""
    from ..backends import cuda_host
    mapped = in_axes is not None
    axes = _axes(ir, in_axes, kinds)
    structure = result_structure(ir.fdef)
    if mapped:
        for axis in leaf_out_axes(out_axes, structure):
            if axis != 0:
                raise ValueError(f"vmap out_axes={axis!r} has no CUDA form yet: results are "
                                 "batched along axis 0")
    paths = leaf_paths(structure)
    pool = NamePool(ir.params, all_names(ir.fdef))
    namespace = {}
    loc = ir.fdef
    host = bind_object(namespace, pool, "cuda_host", cuda_host)
    options = (("in_axes", in_axes), ("out_axes", out_axes))
    kernel_spec = FunctionSpec(ir.spec.pyfunc, ir.spec.chain + (("kernel", options),), kinds)
    kernel = bind_object(namespace, pool, ir.spec.label + "_kernel", kernel_spec)
    body, device_args = [], []
    for p, axis, kind in zip(ir.params, axes, kinds or [None] * len(axes)):
        if isinstance(kind, tuple) and kind[1] == 0:  # a scalar is passed by value
            device_args.append(p)
            continue
        name = pool.fresh(p + "_device")
        body.append(g.assign(name, g.call(f"{host}.to_device", [g.name(p), g.const(axis)]), loc))
        device_args.append(name)
    size = pool.fresh("batch_size")
    if mapped:
        body.append(g.assign(size, g.call(f"{host}.mapped_size", [
            gast.Tuple(elts=[g.name(a) for a in device_args], ctx=gast.Load()),
            gast.Tuple(elts=[g.const(0 if a is not None else None) for a in axes], ctx=gast.Load())]), loc))
    else:
        body.append(g.assign(size, g.const(1), loc))
    outs = _output_names(pool, len(paths))
    for out in outs:
        body.append(g.assign(out, g.call(f"{host}.device_output", [g.name(size)]), loc))
    blocks, launch = pool.fresh("blocks"), pool.fresh("launch")
    body.append(g.assign(blocks, g.call(f"{host}.blocks_for", [g.name(size)]), loc))
    body.append(g.assign(launch, _subscript(kernel, gast.Tuple(
        elts=[g.name(blocks), g.dotted_name(f"{host}.THREADS")], ctx=gast.Load())), loc))
    body.append(g.expr_stmt(g.call(launch, [g.name(a) for a in device_args + outs]), loc))
    inputs = gast.Tuple(elts=[g.name(p) for p in ir.params], ctx=gast.Load())
    leaves = []
    for out in outs:
        if mapped:
            leaf = pool.fresh(out + "_host")
            body.append(g.assign(leaf, g.call(f"{host}.to_host", [g.name(out), inputs]), loc))
        else:
            leaf = pool.fresh(out + "_value")
            body.append(g.assign(leaf, g.call(f"{host}.first_value", [g.name(out)]), loc))
        leaves.append(leaf)
    leaves = iter(leaves)

    def rebuild(sub):
        if sub is None:
            return next(leaves)
        name = pool.fresh("results")
        parts = [rebuild(s) for s in sub]
        body.append(g.assign(name, gast.Tuple(elts=[g.name(p) for p in parts], ctx=gast.Load()), loc))
        return name

    body.append(g.located(gast.Return(value=g.name(rebuild(structure))), loc))
    fdef = _function(ir.fdef.name, ir.params, body, loc)
    out = IRFunction(fdef=fdef, namespace=namespace, filename=ir.filename, spec=ir.spec)
    out.groups = ir.groups
    return out


@register_transform("kernel", inner_kinds=_inner_kinds, wants_kinds=True, keeps_structure=True)
def kernel(ir, in_axes=None, out_axes=0, kinds=None):
    """`out_axes` is part of the spec (the launcher checked it); results are written along axis 0."""
    return _build_kernel(ir, in_axes, kinds)


@register_transform("cuda_vmap", inner_kinds=_inner_kinds, wants_kinds=True, keeps_structure=True)
def cuda_vmap(ir, in_axes=0, out_axes=0, kinds=None):
    return _build_launcher(ir, in_axes, out_axes, kinds)


@register_transform("cuda_call", keeps_structure=True)
def cuda_call(ir, fuse=True):
    if computes_with_arrays(ir):
        return host_function(ir, fuse)
    return _build_launcher(ir, None, 0, ir.spec.kinds)
