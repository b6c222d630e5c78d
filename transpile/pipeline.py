"""From a FunctionSpec to core-form IR: capture, fence, normalize, then each transformation."""
import threading

from .frontend.capture import capture
from .ir import FunctionSpec, IRFunction

TRANSFORMS = {}
ARGUMENT_CHECKS = {}     # transform name -> check(args, **options), run before each call
RESULT_STRUCTURES = {}   # transform name -> rebuild(result, treedefs, **options) for pytree calls
INNER_KINDS = {}         # transform name -> kinds of the inner function's parameters from the outer's
_normalized = {}
_built = {}
_lock = threading.RLock()


def register_transform(name, check_arguments=None, rebuild_result=None, inner_kinds=None):
    """Declare `name` in a FunctionSpec chain as the pass `fn(ir, **options) -> IRFunction`.

    `check_arguments` refuses bad call arguments (ints where derivatives are asked);
    `rebuild_result` gives results of pytree calls their structure back.
    """
    def decorate(fn):
        TRANSFORMS[name] = fn
        if check_arguments is not None:
            ARGUMENT_CHECKS[name] = check_arguments
        if rebuild_result is not None:
            RESULT_STRUCTURES[name] = rebuild_result
        if inner_kinds is not None:
            INNER_KINDS[name] = inner_kinds
        return fn
    return decorate


def base_ir(pyfunc, kinds=None):
    """The user's function in core form (normalized once per function)."""
    from .frontend.fence import check
    from .frontend.normalize import normalize
    if pyfunc not in _normalized:
        sf = capture(pyfunc)
        check(sf)
        fdef, namespace = normalize(sf)
        _normalized[pyfunc] = (fdef, namespace, sf.filename)
    fdef, namespace, filename = _normalized[pyfunc]
    return IRFunction(fdef=fdef, namespace=namespace, filename=filename,
                      spec=FunctionSpec(pyfunc, (), kinds), kinds=kinds)


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
                    inner_kinds = INNER_KINDS.get(name, _same_kinds)(spec.kinds, **dict(options))
                inner = build_ir(FunctionSpec(spec.pyfunc, spec.chain[:-1], inner_kinds))
                ir = TRANSFORMS[name](inner, **dict(options))
                ir.spec = spec
                ir.kinds = spec.kinds
            _built[spec] = ir
        return ir


def _same_kinds(kinds, **options):
    return kinds
