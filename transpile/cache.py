"""Generated modules on disk, named by a hash of their content, imported as real modules.

Real files make tracebacks, `inspect`, `pdb` and Numba's own `cache=True` work. Files are
written atomically (temp file + rename) and carry a checksum, so a process never imports a
half-written or corrupted module: it regenerates it instead.
"""
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import warnings

CHECKSUM_PREFIX = "# transpile-checksum: "
_lock = threading.Lock()
_cache_dir = None
_runtime_fingerprint = None
# What compiled code depends on beyond its own source: runtime helpers that Numba inlines
# (vector math, reductions, tapes) and the backends' compile flags.
_COMPILED_DEPENDENCIES = ("runtime", "backends")


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "transpile")


def cache_dir():
    """The configured folder, or a temporary one (with a warning) when it is not writable."""
    global _cache_dir
    wanted = os.environ.get("TRANSPILE_CACHE_DIR") or default_cache_dir()
    if _cache_dir is not None and _cache_dir[0] == wanted:
        return _cache_dir[1]
    path = wanted
    try:
        os.makedirs(path, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe-", delete=True)
        probe.close()
    except OSError as exc:
        path = os.path.join(tempfile.gettempdir(), f"transpile-{os.getuid()}")
        os.makedirs(path, exist_ok=True)
        warnings.warn(f"transpile cache folder {wanted!r} is not writable ({exc}); using {path!r}",
                      RuntimeWarning, stacklevel=3)
    _cache_dir = (wanted, path)
    return path


def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode() if not isinstance(part, bytes) else part)
        h.update(b"\0")
    return h.hexdigest()


def _checksum(body):
    return hashlib.sha256(body.encode()).hexdigest()


def _read_valid(path):
    """The module body if the file is complete and unmodified, else None."""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
            body = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith(CHECKSUM_PREFIX) or first[len(CHECKSUM_PREFIX):].strip() != _checksum(body):
        return None
    return body


def _write_atomic(path, body):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(CHECKSUM_PREFIX + _checksum(body) + "\n" + body)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def runtime_fingerprint():
    """A hash of the package code that compiled modules depend on. It names the module files,
    because Numba's on-disk cache recognizes a module by its file alone: the same generated
    source compiled against an older runtime (an older `vector_exp`, say) would be reused."""
    global _runtime_fingerprint
    if _runtime_fingerprint is None:
        package = os.path.dirname(os.path.abspath(__file__))
        h = hashlib.sha256()
        for folder in _COMPILED_DEPENDENCIES:
            for entry in sorted(os.listdir(os.path.join(package, folder))):
                if entry.endswith(".py"):
                    with open(os.path.join(package, folder, entry), "rb") as f:
                        h.update(entry.encode() + b"\0" + f.read() + b"\0")
        _runtime_fingerprint = h.hexdigest()
    return _runtime_fingerprint


def store(name_hint, body):
    """Path and module name of `body` in the cache, and whether it was already there."""
    key = _checksum(body + runtime_fingerprint())[:20]
    module_name = f"tp_{name_hint}_{key}"
    path = os.path.join(cache_dir(), module_name + ".py")
    if _read_valid(path) == body:
        return path, module_name, True
    _write_atomic(path, body)
    return path, module_name, False


def load(path, module_name, injected):
    """Import the module at `path`, with `injected` objects bound as globals before it runs."""
    with _lock:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, "__file__", None) == path:
            return module
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        module.__dict__.update(injected)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        return module


def clear():
    """Remove every generated module; returns how many files went."""
    folder = cache_dir()
    removed = 0
    for entry in os.listdir(folder):
        full = os.path.join(folder, entry)
        if entry.startswith("tp_") or entry == "__pycache__":
            if os.path.isdir(full):
                shutil.rmtree(full, ignore_errors=True)
            else:
                os.unlink(full)
            removed += 1
    return removed
