"""Numba settings shared by the tests that compile many small runtime helpers and rules."""
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import numba

import transpile.runtime as rt
from transpile import rules


@contextlib.contextmanager
def numba_for_tests():
    """LLVM -O0 (these tests check typing and values, not speed; optimisation is most of Numba's
    compile time) and an on-disk cache keyed by the runtime and rules sources and Numba's
    version, so later runs load machine code and an edit there recompiles."""
    sources = sorted([*Path(rt.__file__).parent.glob("*.py"), *Path(rules.__file__).parent.glob("*.py")])
    digest = hashlib.sha1(numba.__version__.encode() + b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    root = os.environ.get("TRANSPILE_TEST_CACHE", Path(tempfile.gettempdir()) / "transpile-numba-tests")
    saved = {k: os.environ.get(k) for k in ("NUMBA_OPT", "NUMBA_CACHE_DIR")}
    os.environ.update(NUMBA_OPT="0", NUMBA_CACHE_DIR=str(Path(root) / digest))
    numba.core.config.reload_config()
    try:
        yield Path(root) / digest
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        numba.core.config.reload_config()
