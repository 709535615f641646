"""Load a joblib file and make sure it holds a fitted sklearn model.

Loading a joblib file runs pickled code: only compile models you trust.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
from pathlib import Path

from .registry import CompileError, rule_of


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# a library's own model file, by its suffix: read by scorec.compiler.native.<reader>
NATIVE_READERS = {".json": "xgboost_file", ".ubj": "xgboost_file", ".txt": "lightgbm_file"}


def load_model(path: str | Path) -> object:
    """The fitted model in `path`, or a CompileError saying what is wrong: a joblib file
    (an sklearn estimator or pipeline, or an XGBoost / LightGBM model object), or a
    library's own model file (XGBoost .json / .ubj, LightGBM .txt), which is parsed, not
    unpickled, and needs no library installed."""
    path = Path(path)
    if not path.exists():
        raise CompileError(f"model file not found: {path}")
    if not path.is_file():
        raise CompileError(f"model path is not a file: {path}")
    reader = NATIVE_READERS.get(path.suffix.lower())
    if reader is not None:
        return importlib.import_module(f"scorec.compiler.native.{reader}").read(path)
    return _load_joblib(path)


def _load_joblib(path: Path) -> object:
    import joblib
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        model = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError,
            ModuleNotFoundError, AttributeError, TypeError) as exc:
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name in ("xgboost", "lightgbm"):
            hint = (f" (it holds a {exc.name} model: pip install 'scorec[{exc.name}]', or "
                    "compile the library's own model file, which needs no library)")
        raise CompileError(f"{path} is not a readable joblib model file: {exc}{hint}") from exc
    if rule_of(model) is not None and not isinstance(model, BaseEstimator):
        return model  # a library's model object with a rule (a raw Booster)
    if not isinstance(model, BaseEstimator):
        raise CompileError(f"{path} holds a {type(model).__name__}, not a scikit-learn estimator")
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise CompileError(f"{path} holds an unfitted {type(model).__name__}: fit it before "
                           "saving") from exc
    return model
