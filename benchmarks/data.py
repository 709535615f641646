"""Synthetic data with fixed seeds, and the "edge rows" each exactness column is also
measured on.

Benchmark rows come from the same distribution as the training rows (new draws, new
seed). Edge rows are where compilers go wrong: for trees, feature values placed exactly at,
and one double / one float32 step around, the model's own split thresholds (sklearn
compares `float32(x) <= threshold`); for the linear pipeline, missing numbers and
categories never seen in training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_FEATURES = 30


class NumericTask:
    """A binary task over `N_FEATURES` correlated numeric features with a non-linear
    decision boundary, so that deep trees have something to learn."""

    def __init__(self, seed: int = 0, n_features: int = N_FEATURES):
        rng = np.random.default_rng(seed)
        self.n_features = n_features
        self.mixing = np.eye(n_features) + rng.normal(0, 0.3, (n_features, n_features))
        self.weights = rng.normal(0, 1, n_features) * (rng.random(n_features) < 0.5)

    def features(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return rng.normal(0, 1, (n, self.n_features)) @ self.mixing

    def labels(self, X: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        score = (X @ self.weights / 3 + np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] / 2
                 + np.where(X[:, 3] > 0.5, 1.0, -0.5))
        return (score + rng.logistic(0, 0.5, len(X)) > 0).astype(np.int64)

    def training_set(self, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
        X = self.features(n, seed)
        return X, self.labels(X, seed + 1000)


NUMBER_COLUMNS = [f"num_{i:02d}" for i in range(26)]
MISSING_COLUMNS = NUMBER_COLUMNS[:6]     # these have ~5% missing values
TEXT_COLUMNS = {"region": ["north", "south", "east", "west", "centre"],
                "channel": ["web", "store", "phone"],
                "plan": ["basic", "plus", "pro", "team", "enterprise", "edu", "trial"],
                "device": ["ios", "android", "desktop", "tv"]}


class MixedTask:
    """A binary task over 26 numeric columns (some with missing values) and 4 text
    columns, as a pandas DataFrame: the shape the linear pipeline benchmark needs."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.numeric = NumericTask(seed, len(NUMBER_COLUMNS))
        self.effects = {col: dict(zip(levels, rng.normal(0, 0.7, len(levels))))
                        for col, levels in TEXT_COLUMNS.items()}

    def frame(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed + 7)
        df = pd.DataFrame(self.numeric.features(n, seed) * 10 + 50, columns=NUMBER_COLUMNS)
        for col, levels in TEXT_COLUMNS.items():
            df[col] = pd.Series(rng.choice(levels, n), dtype=object)
        for col in MISSING_COLUMNS:
            df.loc[rng.random(n) < 0.05, col] = np.nan
        return df

    def labels(self, df: pd.DataFrame, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        X = (df[NUMBER_COLUMNS].fillna(50).to_numpy() - 50) / 10
        score = X @ self.numeric.weights / 3
        for col, effect in self.effects.items():
            score = score + df[col].map(effect).to_numpy(dtype=float)
        return (score + rng.logistic(0, 0.5, len(df)) > 0).astype(np.int64)

    def training_set(self, n: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
        df = self.frame(n, seed)
        return df, self.labels(df, seed + 1000)

    def edge_frame(self, n: int, seed: int) -> pd.DataFrame:
        """Rows with missing numbers in the imputed columns and unseen categories."""
        rng = np.random.default_rng(seed)
        df = self.frame(n, seed)
        for col in MISSING_COLUMNS:
            df.loc[rng.random(n) < 0.5, col] = np.nan
        for col in TEXT_COLUMNS:
            df.loc[rng.random(n) < 0.3, col] = "unseen-" + col
        return df


# ---- split thresholds of tree models ------------------------------------------------------

def split_thresholds(model: object) -> dict[int, np.ndarray]:
    """Feature index -> the distinct thresholds the model's trees split that feature at.
    Understands forests, GradientBoosting* (sklearn trees) and HistGradientBoosting*."""
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if hasattr(model, "_predictors"):  # HistGradientBoosting
        for per_class in model._predictors:
            for predictor in per_class:
                nodes = predictor.nodes[~predictor.nodes["is_leaf"].astype(bool)]
                pairs.append((nodes["feature_idx"], nodes["num_threshold"]))
    else:
        for est in np.ravel(model.estimators_):
            tree = est.tree_
            inner = tree.children_left != -1
            pairs.append((tree.feature[inner], tree.threshold[inner]))
    features = np.concatenate([f for f, _ in pairs]).astype(int)
    values = np.concatenate([t for _, t in pairs])
    return {int(f): np.unique(values[features == f]) for f in np.unique(features)}


def _near(t: float, rng: np.random.Generator) -> float:
    """`t` itself, or one double step or one float32 step next to it."""
    f32 = np.float32(t)
    choices = (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), float(f32),
               float(np.nextafter(f32, np.float32(-np.inf))),
               float(np.nextafter(f32, np.float32(np.inf))))
    return float(choices[rng.integers(len(choices))])


def split_edge_rows(model: object, base: np.ndarray, seed: int, per_row: int = 10,
                    thresholds: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Copies of `base` rows with `per_row` features moved onto or next to one of the
    model's split thresholds for that feature (`thresholds`: feature -> thresholds, for
    models `split_thresholds` does not read)."""
    rng = np.random.default_rng(seed)
    thresholds = split_thresholds(model) if thresholds is None else thresholds
    features = sorted(thresholds)
    rows = np.array(base, dtype=float, copy=True)
    for row in rows:
        for f in rng.choice(features, size=min(per_row, len(features)), replace=False):
            row[f] = _near(float(rng.choice(thresholds[f])), rng)
    return rows
