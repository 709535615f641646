"""The models under test, trained with fixed seeds and single-threaded, saved with joblib
(scorec compiles model files)."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import ForestSpec
from .data import NUMBER_COLUMNS, TEXT_COLUMNS

LINEAR_PIPELINE = ("Pipeline(ColumnTransformer(SimpleImputer+StandardScaler on 26 numbers, "
                   "OneHotEncoder on 4 text columns), LogisticRegression)")
GRADIENT_BOOSTING = "GradientBoostingClassifier(100 trees, max_depth=3)"
HIST_GRADIENT_BOOSTING = "HistGradientBoostingClassifier(max_iter=100)"


def forest(spec: ForestSpec, X: np.ndarray, y: np.ndarray) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=spec.n_estimators, max_depth=spec.max_depth,
                                  random_state=0, n_jobs=1).fit(X, y)


def linear_pipeline(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    prep = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         NUMBER_COLUMNS),
        ("text", OneHotEncoder(handle_unknown="ignore"), list(TEXT_COLUMNS)),
    ])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000))]).fit(X, y)


def gradient_boosting(X: np.ndarray, y: np.ndarray) -> GradientBoostingClassifier:
    return GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(X, y)


def hist_gradient_boosting(X: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=100, random_state=0,
                                          early_stopping=False).fit(X, y)


def save(model: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)
    return path
