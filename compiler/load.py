"""Load a joblib file and make sure it holds a fitted sklearn model.

Loading a joblib file runs pickled code: only compile models you trust.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from .registry import CompileError


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(path: str | Path) -> object:
    """The fitted estimator in `path`, or a CompileError saying what is wrong."""
    import joblib
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    path = Path(path)
    if not path.exists():
        raise CompileError(f"model file not found: {path}")
    if not path.is_file():
        raise CompileError(f"model path is not a file: {path}")
    try:
        model = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError,
            ModuleNotFoundError, AttributeError, TypeError) as exc:
        raise CompileError(f"{path} is not a readable joblib model file: {exc}") from exc
    if not isinstance(model, BaseEstimator):
        raise CompileError(f"{path} holds a {type(model).__name__}, not a scikit-learn estimator")
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise CompileError(f"{path} holds an unfitted {type(model).__name__}: fit it before "
                           "saving") from exc
    return model
