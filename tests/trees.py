"""Comparing results that may be tuples of arrays (vmap and pmap tests)."""
import numpy as np


def assert_tree_close(actual, expected, rtol=1e-10, atol=1e-12):
    """Equal structure (tuples), equal shapes, values close."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_tree_close(a, e, rtol, atol)
        return
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
