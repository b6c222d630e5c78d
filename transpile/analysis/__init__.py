"""Analyses over core-form functions: name resolution, definitions and uses, activity."""
