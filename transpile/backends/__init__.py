"""Backends turn a loaded generated module into a callable for one target."""
from .cpu import compile_cpu
from .python import compile_python

TARGETS = {"python": compile_python, "cpu": compile_cpu}
