"""From a FunctionSpec to core-form IR: capture, fence, normalize, then each transformation."""
import threading

from .frontend.capture import capture
from .ir import FunctionSpec, IRFunction

TRANSFORMS = {}
ARGUMENT_CHECKS = {}     # transform name -> check(args, **options), run before each call
RESULT_STRUCTURES = {}   # transform name -> rebuild(result, treedefs, **options) for pytree calls
_built = {}
_lock = threading.RLock()


def register_transform(name, check_arguments=None, rebuild_result=None):
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
        return fn
    return decorate


def base_ir(pyfunc):
    from .frontend.fence import check
    from .frontend.normalize import normalize
    sf = capture(pyfunc)
    check(sf)
    fdef, namespace = normalize(sf)
    return IRFunction(fdef=fdef, namespace=namespace, filename=sf.filename,
                      spec=FunctionSpec(pyfunc))


def build_ir(spec):
    """The IR of `spec`, built once per spec (passes must not mutate their input)."""
    with _lock:
        ir = _built.get(spec)
        if ir is None:
            if not spec.chain:
                ir = base_ir(spec.pyfunc)
            else:
                name, options = spec.chain[-1]
                inner = build_ir(FunctionSpec(spec.pyfunc, spec.chain[:-1]))
                ir = TRANSFORMS[name](inner, **dict(options))
                ir.spec = spec
            _built[spec] = ir
        return ir
