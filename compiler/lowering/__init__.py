"""Lowering rules, one module per family of sklearn components; importing registers them."""

from . import boosting, compose, encode, impute, linear, scale, trees

__all__ = ["boosting", "compose", "encode", "impute", "linear", "scale", "trees"]
