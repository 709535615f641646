"""Lowering rules, one module per family of sklearn components; importing registers them."""

from . import (
    anomaly,
    bayes,
    boosting,
    compose,
    discretize,
    encode,
    expand,
    impute,
    linear,
    meta,
    neighbors,
    neural,
    nonlinear,
    project,
    scale,
    select,
    svm,
    trees,
)

__all__ = ["anomaly", "bayes", "boosting", "compose", "discretize", "encode", "expand", "impute",
           "linear", "meta", "neighbors", "neural", "nonlinear", "project", "scale", "select",
           "svm", "trees"]
