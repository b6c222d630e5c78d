"""pmap's shard program: the function split at its collectives into segments (segments.py), each
segment batched over a block of shards (vmap of the segment), and the collectives between them.

An executor (backends/shards.py) runs the program: every worker runs a segment on its own block of
shards, then the collective combines every shard's value, then the next segment runs.
"""
from dataclasses import dataclass

from ..collectives import COLLECTIVES
from ..function import Transformed
from ..ir import stand_in
from ..pipeline import build_ir
from .kernel import gpu_spec
from .segments import segment_spec, split


@dataclass
class SegmentStep:
    """Run `block` (vmap of segment `index`) on each worker's shards; it returns one batched value
    per name in `outputs` (the last segment: the function's result). A segment that reads no
    per-shard value (`per_shard` False) is not batched: it runs once and its values are shared."""

    index: int
    block: Transformed
    params: list
    outputs: list
    per_shard: bool


@dataclass
class CollectiveStep:
    """`target = fn(arg, axis_name)` over every shard; `arg` is a name, a constant, or None (index)."""

    target: str
    name: str
    kind: str
    arg: object
    arg_is_name: bool


class ShardProgram:
    """The steps of one pmapped function for one argument signature (kinds of one shard's leaves)."""

    def __init__(self, spec, axis_name, batched_flags, options, target="cpu"):
        """`batched_flags`: per (leaf) parameter, whether it has one value per shard. `target`:
        "cpu" (Numba) or "cuda" (each block of shards a kernel, one GPU thread per shard)."""
        ir = build_ir(spec)
        segments, collectives = split(ir.fdef, ir.namespace, axis_name, ir.filename, binder="pmap")
        self.params = ir.params
        self.steps = []
        batched = {p for p, flag in zip(ir.params, batched_flags) if flag}
        if target == "cuda":  # kernels come from the spec (gpu_spec), not from the CPU's fused loops
            options = {**options, "fuse": False}
        last = len(collectives)
        for k, segment in enumerate(segments):
            if segment.outputs or k == last:
                in_axes = tuple(0 if p in batched else None for p in segment.params)
                block_spec = segment_spec(spec, axis_name, k)
                per_shard = any(a is not None for a in in_axes)
                if per_shard:
                    # a loop over the block's shards: each shard's work stays contiguous in memory
                    block_spec = block_spec.then("vmap", in_axes=in_axes, out_axes=0, axis_name=None,
                                                 method="loop")
                if target == "cuda":
                    block_spec = gpu_spec(block_spec)
                signature = stand_in(f"{spec.label}_segment_{k}", segment.params, "inside a pmap shard program")
                block = Transformed(block_spec, target, options, signature)
                self.steps.append(SegmentStep(k, block, segment.params, segment.outputs, per_shard))
                batched |= set(segment.outputs)
            if k < last:
                coll = collectives[k]
                kind = COLLECTIVES[coll.fn]
                arg_is_name = coll.arg is not None and hasattr(coll.arg, "id")
                arg = coll.arg.id if arg_is_name else getattr(coll.arg, "value", None)
                self.steps.append(CollectiveStep(coll.target, coll.fn.__name__, kind, arg, arg_is_name))
                if kind in ("scatter", "index"):
                    batched.add(coll.target)
                else:  # one value for every shard, even where it replaces a per-shard one (g = psum(g))
                    batched.discard(coll.target)
        self.label = spec.label

    def source(self, *block_args):
        """The generated code: every segment's batched block, with the collectives between them."""
        parts = [f"# pmap shard program of {self.label}: each worker runs a segment on its block of "
                 "shards;\n# the collectives between segments combine all shards' values."]
        for step in self.steps:
            if isinstance(step, SegmentStep):
                parts.append(f"# ---- segment {step.index}: ({', '.join(step.params)}) -> "
                             f"{', '.join(step.outputs) or 'result'}\n{step.block.source()}")
            else:
                what = step.arg if step.arg is not None else ""
                parts.append(f"# ---- collective: {step.target} = {step.name}({what!s}) over every shard")
        return "\n\n".join(parts)
