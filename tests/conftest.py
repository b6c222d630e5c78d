"""Shared fixtures."""
import pytest


@pytest.fixture(params=["python", "cpu"])
def target(request):
    """Where transformed code runs: "python" (the generated source as Python) or "cpu" (tp.jit, Numba)."""
    return request.param
