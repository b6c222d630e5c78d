"""From a FunctionSpec to core-form IR: capture, fence, normalize, then each transformation."""
import threading

from .frontend.capture import capture
from .ir import FunctionSpec, IRFunction, stand_in

TRANSFORMS = {}
ARGUMENT_CHECKS = {}     # transform name -> check(args, **options), run before each call
RESULT_STRUCTURES = {}   # transform name -> rebuild(result, treedefs, **options) for pytree calls
INNER_KINDS = {}         # transform name -> kinds of the inner function's parameters from the outer's
WANTS_KINDS = set()      # transforms that also receive the outer parameters' kinds (`kinds=`)
KEEPS_STRUCTURE = set()  # transforms whose results have the inner function's pytree structure
_normalized = {}
_built = {}
_lock = threading.RLock()


def register_transform(name, check_arguments=None, rebuild_result=None, inner_kinds=None,
                       wants_kinds=False, keeps_structure=False):
    """Declare `name` in a FunctionSpec chain as the pass `fn(ir, **options) -> IRFunction`.

    `check_arguments` refuses bad call arguments (ints where derivatives are asked);
    `rebuild_result` gives results of pytree calls their structure back. `inner_kinds` is called
    with the outer kinds, the options and `inner_chain` (the transformations below this one).
    """
    def decorate(fn):
        TRANSFORMS[name] = fn
        if check_arguments is not None:
            ARGUMENT_CHECKS[name] = check_arguments
        if rebuild_result is not None:
            RESULT_STRUCTURES[name] = rebuild_result
        if inner_kinds is not None:
            INNER_KINDS[name] = inner_kinds
        if wants_kinds:
            WANTS_KINDS.add(name)
        if keeps_structure:
            KEEPS_STRUCTURE.add(name)
        return fn
    return decorate


def base_ir(pyfunc, kinds=None):
    """The user's function in core form (normalized once per function)."""
    from .frontend.fence import check
    from .frontend.normalize import normalize
    from .frontend.transform_calls import inline_transform_calls
    if pyfunc not in _normalized:
        sf = capture(pyfunc)
        check(sf)
        fdef, namespace = normalize(sf)
        inline_transform_calls(fdef, namespace, sf.filename)
        _normalized[pyfunc] = (fdef, namespace, sf.filename)
    fdef, namespace, filename = _normalized[pyfunc]
    return IRFunction(fdef=fdef, namespace=namespace, filename=filename,
                      spec=FunctionSpec(pyfunc, (), kinds), kinds=kinds)


def generated_function_spec(fdef, namespace, filename, runs_where):
    """The spec of a function that has no source of its own (a loop segment of
    transforms/checkpoint.py, a kernel of transforms/fuse_kernels.py): a stand-in function
    object is registered for the core-form `fdef`, so passes build it like a user function."""
    pyfunc = stand_in(fdef.name, [a.id for a in fdef.args.args], runs_where)
    with _lock:
        _normalized[pyfunc] = (fdef, namespace, filename)
    return FunctionSpec(pyfunc)


def build_ir(spec):
    """The IR of `spec`, built once per spec (passes must not mutate their input)."""
    with _lock:
        ir = _built.get(spec)
        if ir is None:
            if not spec.chain:
                ir = base_ir(spec.pyfunc, spec.kinds)
            else:
                name, options = spec.chain[-1]
                inner_kinds = None
                if spec.kinds is not None:
                    inner_kinds = INNER_KINDS.get(name, _same_kinds)(
                        spec.kinds, inner_chain=spec.chain[:-1], **dict(options))
                inner = build_ir(FunctionSpec(spec.pyfunc, spec.chain[:-1], inner_kinds))
                extra = {"kinds": spec.kinds} if name in WANTS_KINDS else {}
                own = getattr(spec.pyfunc, "tp_transform", None) if len(spec.chain) == 1 else None
                ir = own(name, inner, **dict(options), **extra) if own is not None else None  # custom rules
                if ir is None:
                    ir = TRANSFORMS[name](inner, **dict(options), **extra)
                ir.spec = spec
                ir.kinds = spec.kinds
            _built[spec] = ir
        return ir


def _same_kinds(kinds, **options):
    return kinds
