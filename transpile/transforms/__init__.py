"""Transformations: each maps a core-form IRFunction to a new one, so they chain in any order."""
