"""XGBoost and LightGBM classifiers on 30 numeric features: scorec's C batch and single-row
paths against the library's own predict_proba, tl2cgen / treelite GTIL and lleaves;
exactness on benchmark rows and on rows at and around the boosters' own split thresholds
(with missing values); DuckDB SQL against fetching into the library; compile time of each
model to every target and the cc -O2 build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import models, peers
from .bench_compile import target_table
from .bench_sql import SqlBench, sql_table
from .config import Scale
from .data import NumericTask, split_edge_rows
from .measure import (
    COLUMNS,
    Workload,
    attempt,
    batch_row,
    c_batch_table,
    latency_note,
    scorer_of,
    single_row,
)
from .report import PER_ROW_US, SINGLE_ROW, Table
from .scorec_side import CLibrary, Compiled, compile_model, python_scorer
from .scorers import sklearn_scorer

XGB_TREES, XGB_DEPTH = 500, 6
LGBM_TREES, LGBM_LEAVES = 1_000, 31
QUICK_DIVISOR = 5  # --quick: a fifth of the trees
SQL_ROWS_CAP = 100_000  # 500-1,000 trees: ~4,000 rows/s in DuckDB on one thread
MISSING_SHARE = 0.3  # edge rows: this share of them get one missing feature


@dataclass
class Booster:
    """One boosted model: its title, library name, and split thresholds per feature."""

    title: str
    key: str
    library: str
    model: object
    thresholds: dict[int, np.ndarray]


def _per_feature(features: np.ndarray, values: np.ndarray) -> dict[int, np.ndarray]:
    return {int(f): np.unique(values[features == f]) for f in np.unique(features)}


def xgboost_thresholds(model: object) -> dict[int, np.ndarray]:
    """Feature -> XGBoost's split values (float32, compared as `float32(x) < split`)."""
    frame = model.get_booster().trees_to_dataframe()
    splits = frame[frame["Feature"] != "Leaf"]
    features = splits["Feature"].str.lstrip("f").astype(int).to_numpy()
    return _per_feature(features, splits["Split"].to_numpy(dtype=float))


def lightgbm_thresholds(model: object) -> dict[int, np.ndarray]:
    """Feature -> LightGBM's thresholds (doubles, compared as `x <= threshold`)."""
    frame = model.booster_.trees_to_dataframe()
    splits = frame[frame["split_feature"].notna()]
    features = splits["split_feature"].str.replace("Column_", "").astype(int).to_numpy()
    return _per_feature(features, splits["threshold"].to_numpy(dtype=float))


def boosters(X: np.ndarray, y: np.ndarray, scale: Scale) -> list[Booster]:
    from lightgbm import LGBMClassifier
    from xgboost import XGBClassifier

    divisor = QUICK_DIVISOR if scale.name == "quick" else 1
    n_xgb, n_lgbm = XGB_TREES // divisor, LGBM_TREES // divisor
    xgb = XGBClassifier(n_estimators=n_xgb, max_depth=XGB_DEPTH, n_jobs=1,
                        random_state=0).fit(X, y)
    lgbm = LGBMClassifier(n_estimators=n_lgbm, num_leaves=LGBM_LEAVES, n_jobs=1,
                          random_state=0, verbose=-1).fit(X, y)
    return [Booster(f"XGBClassifier({n_xgb} trees, max_depth={XGB_DEPTH})", "xgb", "xgboost",
                    xgb, xgboost_thresholds(xgb)),
            Booster(f"LGBMClassifier({n_lgbm} trees, num_leaves={LGBM_LEAVES})", "lgbm",
                    "lightgbm", lgbm, lightgbm_thresholds(lgbm))]


def edge_rows(booster: Booster, task: NumericTask, n: int) -> np.ndarray:
    """Rows with 10 features on or beside the booster's thresholds; MISSING_SHARE of them
    also with one feature missing (NaN takes each node's default direction)."""
    rows = split_edge_rows(booster.model, task.features(n, seed=3), seed=4,
                           thresholds=booster.thresholds)
    rng = np.random.default_rng(6)
    hit = rng.random(n) < MISSING_SHARE
    rows[hit, rng.integers(rows.shape[1], size=int(hit.sum()))] = np.nan
    return rows


def model_tables(booster: Booster, task: NumericTask, rows: np.ndarray, scale: Scale,
                 workdir: Path) -> tuple[list[Table], Compiled | None, Path]:
    key, model, library = booster.key, booster.model, booster.library
    path = models.save(model, workdir / f"{key}.joblib")
    edge = edge_rows(booster, task, scale.edge_rows)
    work = Workload.of(model, rows, edge, scale)
    compiled = attempt("scorec", lambda: compile_model(path, workdir / f"{key}_scorec", key))
    clib = scorer_of("scorec C", compiled, lambda c: CLibrary(c, workdir / f"{key}_c"))
    timeout = scale.peer_timeout_s
    workload = (f"bench rows: {len(rows):,} new draws from the training distribution; edge "
                f"rows: {len(edge):,} rows with 10 features each set exactly on, or one double "
                "/ one float32 step beside, one of the model's split thresholds, "
                f"{MISSING_SHARE:.0%} of them also with one feature missing (NaN)")

    batch = c_batch_table(booster.title, scorer_of("scorec C", clib, CLibrary.scorer_batch), work)
    batch.add(batch_row(sklearn_scorer(model, library=library), work))
    batch.add(batch_row(attempt("tl2cgen", lambda: peers.tl2cgen_scorer(
        model, workdir / f"{key}_tl2cgen", timeout)), work))
    batch.add(batch_row(attempt("treelite GTIL", lambda: peers.gtil_scorer(model)), work))
    if library == "lightgbm":
        batch.add(batch_row(attempt("lleaves", lambda: peers.lleaves_scorer(
            model, workdir / f"{key}_lleaves")), work))
    batch.notes += [workload, f"{library}: `predict_proba` on the whole float64 array, "
                              "n_jobs=1 (one thread)"]

    latency = Table(section=SINGLE_ROW, title=f"Single-row latency — {booster.title}",
                    metrics=PER_ROW_US, columns=COLUMNS)
    latency.add(single_row(scorer_of("scorec C", clib, CLibrary.scorer_single), work,
                           reference="scorec C"))
    latency.add(single_row(scorer_of("scorec Python", compiled, python_scorer), work,
                           reference="scorec Python"))
    latency.add(single_row(sklearn_scorer(model, library=library), work))
    latency.notes += [latency_note(scale, "")]

    tables = [batch, latency]
    if not isinstance(compiled, Compiled):
        return tables, None, path
    n_sql = min(scale.sql_rows, SQL_ROWS_CAP)
    bench = SqlBench(model, compiled, task.features(n_sql, seed=5), edge, scale,
                     workdir, key=f"{key}_", library=library)
    sql = sql_table(f"DuckDB SQL — {booster.title}, {n_sql:,} + {len(edge):,} edge "
                    "rows, one thread", bench, [])
    sql.notes += [f"as the forest's SQL table, at most {SQL_ROWS_CAP:,} rows (to keep the "
                  "run within minutes); edge rows as in the C batch table (NaN stored as "
                  "NULL, which scorec's macros and the fetch path both read as missing)"]
    return [*tables, sql], compiled, path


def tables(scale: Scale, workdir: Path) -> list[Table]:
    task = NumericTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    rows = task.features(scale.batch_rows, seed=2)
    out: list[Table] = []
    compiled: list[tuple[str, Path, Compiled | None]] = []
    for booster in boosters(X, y, scale):
        made, comp, path = model_tables(booster, task, rows, scale, workdir)
        out += made
        compiled.append((booster.title, path, comp))
    out.append(target_table("XGBoost, LightGBM (goals: < 10 s per target, cc -O2 < 60 s)",
                            compiled, workdir))
    return out
