"""Load a joblib file and make sure it holds a fitted sklearn model.

Loading a joblib file runs pickled code: only compile models you trust.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
from pathlib import Path

from .registry import CompileError


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# a library's own model file, by its suffix: read by scorec.compiler.native.<reader>
NATIVE_READERS = {".json": "xgboost_file", ".ubj": "xgboost_file", ".txt": "lightgbm_file"}
# a library's raw Booster in a joblib file: (reader module, function(booster, path))
BOOSTER_ADAPTERS = {"xgboost.core.Booster": ("xgboost_file", "from_booster"),
                    "lightgbm.basic.Booster": ("lightgbm_file", "from_booster")}


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
    adapter = BOOSTER_ADAPTERS.get(f"{type(model).__module__}.{type(model).__qualname__}")
    if adapter is not None:  # a library's raw Booster: read as its own model file would be
        module, function = adapter
        return getattr(importlib.import_module(f"scorec.compiler.native.{module}"), function)(
            model, path)
    if not isinstance(model, BaseEstimator):
        raise CompileError(f"{path} holds a {type(model).__name__}, not a scikit-learn estimator")
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise CompileError(f"{path} holds an unfitted {type(model).__name__}: fit it before "
                           "saving") from exc
    return model
