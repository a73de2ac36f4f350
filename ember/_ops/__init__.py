"""Differentiable primitives, grouped by family (see each module's docstring)."""
