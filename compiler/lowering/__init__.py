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
    lgbm,
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
    xgb,
)

__all__ = ["anomaly", "bayes", "boosting", "compose", "discretize", "encode", "expand", "impute",
           "lgbm", "linear", "meta", "neighbors", "neural", "nonlinear", "project", "scale",
           "select", "svm", "trees", "xgb"]
