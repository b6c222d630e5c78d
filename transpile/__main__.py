"""Command line: `python -m transpile show FILE.py:FUNC -t grad -t vmap:in_axes=None,0`."""
import argparse
import ast
import importlib
import importlib.util
import os
import sys

from . import api, cache
from .errors import TranspileError

FUNCTION_TRANSFORMS = ("grad", "value_and_grad", "jit", "vmap", "pmap", "jacfwd", "jacrev", "hessian", "checkpoint")


class UsageError(Exception):
    """A bad command line: printed on one line, exit code 2."""


def load_function(target):
    """The function named by `FILE.py:FUNC` or `package.module:FUNC`."""
    if ":" not in target:
        raise UsageError(f"expected FILE.py:FUNC or module:FUNC, got {target!r}")
    where, func_name = target.rsplit(":", 1)
    if where.endswith(".py") or os.sep in where:
        if not os.path.isfile(where):
            raise UsageError(f"no such file: {where}")
        module_name = "_transpile_cli_" + os.path.splitext(os.path.basename(where))[0]
        spec = importlib.util.spec_from_file_location(module_name, where)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise UsageError(f"cannot import module {where!r}: {exc}") from None
    fn = getattr(module, func_name, None)
    if fn is None:
        raise UsageError(f"{where} has no function {func_name!r}")
    return fn


def _option_value(text):
    values = []
    for p in text.split(","):
        try:
            values.append(ast.literal_eval(p))
        except (ValueError, SyntaxError):
            values.append(p)
    return values[0] if len(values) == 1 else tuple(values)


def parse_transform(text):
    """`vmap:in_axes=None,0` -> ("vmap", {"in_axes": (None, 0)})."""
    name, _, rest = text.partition(":")
    if name not in FUNCTION_TRANSFORMS or not hasattr(api, name):
        available = ", ".join(n for n in FUNCTION_TRANSFORMS if hasattr(api, n))
        raise UsageError(f"unknown transform {name!r}; available: {available}")
    options = {}
    if rest:
        for item in _split_options(rest):
            key, eq, value = item.partition("=")
            if not eq:
                raise UsageError(f"transform option {item!r} must look like name=value")
            options[key] = _option_value(value)
    return name, options


def _split_options(text):
    """Split `argnums=0,1,has_aux=True` at the commas that start a new `name=`."""
    items, current = [], []
    for piece in text.split(","):
        if "=" in piece and current:
            items.append(",".join(current))
            current = []
        current.append(piece)
    if current:
        items.append(",".join(current))
    return items


def cmd_show(args):
    fn = load_function(args.target)
    for text in args.transform or []:
        name, options = parse_transform(text)
        try:
            fn = getattr(api, name)(fn, **options)
        except TypeError as exc:
            raise UsageError(f"bad options for {name}: {exc}") from None
    sys.stdout.write(api.show(fn))
    return 0


def cmd_cache(args):
    if args.action == "clear":
        print(f"removed {cache.clear()} entries from {cache.cache_dir()}")
    else:
        print(cache.cache_dir())
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m transpile",
        description="Source-to-source grad, vmap and jit for plain Python/NumPy functions.")
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print the generated source of a (transformed) function",
                          description="Print the generated Python source of FUNC with the "
                                      "transformations applied innermost first.")
    show.add_argument("target", help="FILE.py:FUNC or package.module:FUNC")
    show.add_argument("-t", "--transform", action="append", metavar="NAME[:opt=val,...]",
                      help="a transformation to apply (repeatable, innermost first), e.g. "
                           "-t grad:argnums=0,1 -t vmap:in_axes=None,0")
    show.set_defaults(run=cmd_show)
    cache_cmd = sub.add_parser("cache", help="inspect or clear the cache of generated modules")
    cache_cmd.add_argument("action", choices=["clear", "dir"], help="clear: delete all; dir: print folder")
    cache_cmd.set_defaults(run=cmd_cache)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TranspileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
