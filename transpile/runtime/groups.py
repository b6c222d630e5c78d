"""Which element of a smaller array each element of a larger one maps to: the groups of a
reduction (np.sum(x, axis)), and the sources of a broadcast (the reduction's adjoint).

`small` aligns with the trailing axes of `shape` and has 1 or the same length on each. Reductions
and broadcasts walk `group_plan`: the axes merged into runs that are wholly kept or wholly reduced,
so that the two innermost runs are plain loops (a row summed into one register, or added onto a
row of the result) and only runs further out need a table of offsets, one per outer index. An
index table with one entry per element (`group_index`) serves the few functions that need more.
"""
import functools

import numpy as np
from numba.extending import register_jitable

from ._numba import named


@register_jitable
def group_plan(shape, small):
    """(bases, middle, middle_step, inner, inner_step): element (o, m, i) of `shape` in C order,
    flat index (o * middle + m) * inner + i, belongs to element bases[o] + m * middle_step +
    i * inner_step of the flat `small`. A step is 0 on a reduced run; inner_step is 0 or 1."""
    nd = len(shape)
    lead = nd - len(small)
    sizes = np.ones(max(nd, 2), np.int64)
    steps = np.zeros(max(nd, 2), np.int64)
    runs = 0
    step = 1
    for d in range(nd - 1, -1, -1):
        if shape[d] == 1:
            continue
        kept = d >= lead and small[d - lead] != 1
        if runs > 0 and (steps[runs - 1] != 0) == kept:
            sizes[runs - 1] *= shape[d]
        else:
            sizes[runs] = shape[d]
            steps[runs] = step if kept else 0
            runs += 1
        if kept:
            step *= shape[d]
    outer = 1
    for r in range(2, runs):
        outer *= sizes[r]
    bases = np.zeros(outer, np.int64)
    for o in range(outer):
        rest = o
        for r in range(2, runs):
            bases[o] += (rest % sizes[r]) * steps[r]
            rest //= sizes[r]
    return bases, sizes[1], steps[1], sizes[0], steps[0]


@functools.cache
def make_group_fold(update):
    """A jitable folding the flat C-order `values` of `shape` into `out` (flat `small`, holding
    each group's start) with update(acc, value), visiting each group's elements in C order."""
    def group_fold(values, shape, small, out):
        bases, middle, middle_step, inner, inner_step = group_plan(shape, small)
        for o in range(bases.size):
            for m in range(middle):
                g = bases[o] + m * middle_step
                row = (o * middle + m) * inner
                if inner_step == 0:
                    acc = out[g]
                    for i in range(inner):
                        acc = update(acc, values[row + i])
                    out[g] = acc
                else:
                    for i in range(inner):
                        out[g + i] = update(out[g + i], values[row + i])
        return out
    return register_jitable(named(group_fold, f"group_fold_{update.__name__.strip('_')}"))


@register_jitable
def add(a, b):
    return a + b


sum_into_groups = make_group_fold(add)


@register_jitable
def spread(values, shape, small):
    """The flat C-order array of `shape` whose every element is the value of its group in
    `values` (flat `small`): a broadcast to `shape`."""
    bases, middle, middle_step, inner, inner_step = group_plan(shape, small)
    out = np.empty(bases.size * middle * inner, values.dtype)
    for o in range(bases.size):
        for m in range(middle):
            g = bases[o] + m * middle_step
            row = (o * middle + m) * inner
            if inner_step == 0:
                value = values[g]
                for i in range(inner):
                    out[row + i] = value
            else:
                for i in range(inner):
                    out[row + i] = values[g + i]
    return out


@register_jitable
def group_index(shape, small):
    """For each element (C order) of an array of `shape`, the flat index of its element of `small`:
    for the functions that visit groups in an order of their own or map three operands at once."""
    nd = len(shape)
    lead = nd - len(small)
    stride = np.zeros(nd, np.int64)
    step = 1
    for d in range(nd - 1, lead - 1, -1):
        if small[d - lead] != 1:
            stride[d] = step
        step *= small[d - lead]
    size = 1
    for d in range(nd):
        size *= shape[d]
    out = np.empty(size, np.int64)
    index = np.zeros(nd, np.int64)
    j = 0
    for i in range(size):
        out[i] = j
        d = nd - 1
        while d >= 0:
            index[d] += 1
            j += stride[d]
            if index[d] < shape[d]:
                break
            j -= stride[d] * index[d]
            index[d] = 0
            d -= 1
    return out
