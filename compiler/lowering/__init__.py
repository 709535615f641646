"""Lowering rules, one module per family of sklearn components; importing registers them."""

from . import compose, encode, impute, linear, scale, trees

__all__ = ["compose", "encode", "impute", "linear", "scale", "trees"]
