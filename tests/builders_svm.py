"""Builders for the kernel SVMs (see builders.py): one per supported component.

Every model sees scaled numbers (libsvm's fit is slow on raw magnitudes), through one of
three inputs (`_svm_pipeline`): a StandardScaler on data without NaN (rows with NaN or
infinity reach the SVM's own checks); an imputer + scaler beside one-hot text, dense; or
the same as a sparse matrix (the SVM is then fitted on CSR and scores with libsvm's sparse
build). Kernels, gamma ('scale', 'auto' or a number), degree (0 included), coef0, C / nu /
epsilon are drawn; classifiers get two to four classes and sometimes probability=True.
"""

from __future__ import annotations

from builders import _encode_text, _fit, _split, dataset
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM


def _kernel_params(draw) -> dict:
    kernel = draw(st.sampled_from(["linear", "poly", "rbf", "sigmoid"]))
    return {"kernel": kernel,
            "gamma": draw(st.sampled_from(["scale", "auto", 0.3, 2.0])),
            "degree": draw(st.sampled_from([0, 1, 2, 3, 4])) if kernel == "poly" else 3,
            "coef0": draw(st.sampled_from([0.0, 1.0, -0.5])),
            "max_iter": 20000}  # a bound on libsvm's fit time; a ConvergenceWarning is fine


def _svm_pipeline(draw, est, task: str):
    """`est` fitted behind scaled numbers: plain, or beside one-hot text (dense / CSR)."""
    how = draw(st.sampled_from(["scaled", "text", "sparse"]))
    if how == "scaled":
        X, y = draw(dataset(task=task, missing=False))
        model = make_pipeline(StandardScaler(), est)
    else:
        X, y = draw(dataset(task=task, n_str=(1, 1)))
        num, txt = _split(X)
        steps = [("txt", _encode_text(), txt)]
        if num:  # a sparse block keeps its zeros sparse: scale without centering there
            scaler = StandardScaler(with_mean=how != "sparse")
            steps.append(("num", make_pipeline(SimpleImputer(), scaler), num))
        model = make_pipeline(ColumnTransformer(
            steps, sparse_threshold=1.0 if how == "sparse" else 0.0), est)
    return _fit(model, X, y)


def _classifier(cls, **options):
    @st.composite
    def build(draw):
        params = {k: draw(st.sampled_from(v)) for k, v in options.items()}
        shape = draw(st.sampled_from(["ovr", "ovo"]))
        est = cls(**_kernel_params(draw), **params, decision_function_shape=shape,
                  break_ties=shape == "ovr" and draw(st.booleans()),
                  probability=draw(st.sampled_from([False, False, True])), random_state=0)
        return _svm_pipeline(draw, est, "classification")

    return build


def _regressor(cls, **options):
    @st.composite
    def build(draw):
        params = {k: draw(st.sampled_from(v)) for k, v in options.items()}
        return _svm_pipeline(draw, cls(**_kernel_params(draw), **params), "regression")

    return build


BUILDERS = {
    "SVC": _classifier(SVC, C=[0.1, 1.0, 10.0], class_weight=[None, "balanced"]),
    "NuSVC": _classifier(NuSVC, nu=[0.1, 0.3, 0.5]),
    # epsilon=100 leaves every sample inside the tube: a model without support vectors
    "SVR": _regressor(SVR, C=[0.1, 1.0, 10.0], epsilon=[0.0, 0.1, 1.0, 100.0]),
    "NuSVR": _regressor(NuSVR, C=[0.1, 1.0, 10.0], nu=[0.1, 0.5, 0.9]),
    "OneClassSVM": _regressor(OneClassSVM, nu=[0.05, 0.3, 0.8]),
}
