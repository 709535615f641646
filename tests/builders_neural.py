"""Builders for the neural family (see builders.py): one per supported component.

Small networks (one or two hidden layers of 1-6 units, every activation) fitted for a few
iterations (convergence warnings are expected and harmless), behind the preprocessing a
real pipeline has: a scaler, an imputer and a one-hot encoder, or nothing at all (raw,
unscaled inputs saturate the activations, and NaN rows are refused)."""

from __future__ import annotations

import numpy as np
from builders import _fit, _preprocessed, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


def _network(draw) -> dict:
    """The hyper-parameters every MLP shares; the solver only changes the weights. An
    iteration of lbfgs costs ten of adam or sgd (scipy's setulb), hence its fewer."""
    solver = draw(st.sampled_from(["lbfgs", "adam", "sgd"]))
    iterations = (1, 3) if solver == "lbfgs" else (3, 30)
    return {
        "hidden_layer_sizes": tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=2))),
        "activation": draw(st.sampled_from(ACTIVATIONS)),
        "solver": solver,
        "alpha": draw(st.sampled_from([1e-4, 1e-2, 1.0])),
        "learning_rate_init": draw(st.sampled_from([1e-3, 1e-2, 0.1])),
        "max_iter": draw(st.integers(*iterations)),
        "random_state": draw(st.integers(0, 2**16)),
    }


def _mlp(draw, task: str, est: MLPClassifier | MLPRegressor, target=None) -> object:
    """`est` behind one of the fronts a pipeline puts before a network; `target` maps y.

    A fit that diverged (weights beyond 1e3: sgd or adam on a poisson loss can do that) is
    drawn again. On huge inputs its layers overflow, and where two infinite terms of
    opposite signs meet, sklearn's own answer depends on how many rows it is asked at once
    (OpenBLAS's gemm fuses multiply-adds and returns an infinity, gemv for a single row
    returns NaN): the comparison with it cannot judge such rows."""
    front = draw(st.sampled_from(["encoded", "imputed", "scaled", "bare"]))
    X, y = draw(dataset(task=task, n_str=(0, 2) if front == "encoded" else (0, 0),
                        missing=front in ("encoded", "imputed")))
    if target is not None:
        y = target(y)
    if front == "encoded":  # numbers imputed and scaled, text one-hot encoded
        model = _preprocessed(draw, X, est)
    elif front == "imputed":
        model = make_pipeline(SimpleImputer(strategy=draw(st.sampled_from(["mean", "median"]))),
                              StandardScaler(), est)
    elif front == "scaled":
        model = make_pipeline(draw(st.sampled_from([StandardScaler(), MinMaxScaler()])), est)
    else:
        model = est if draw(st.booleans()) else make_pipeline(est)
    model = _fit(model, X, y)
    assume(max(float(np.abs(c).max()) for c in est.coefs_) < 1e3)
    return model


@st.composite
def mlp_classifier(draw):
    """Binary and multiclass (the label sets of `dataset` have 2 to 4 classes)."""
    return _mlp(draw, "classification", MLPClassifier(**_network(draw)))


@st.composite
def mlp_regressor(draw):
    """squared_error (identity output) and poisson (exp output, y made non-negative)."""
    loss = draw(st.sampled_from(["squared_error", "poisson"]))
    est = MLPRegressor(loss=loss, **_network(draw))
    return _mlp(draw, "regression", est, target=np.abs if loss == "poisson" else None)


BUILDERS = {
    "MLPClassifier": mlp_classifier,
    "MLPRegressor": mlp_regressor,
}
