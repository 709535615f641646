"""Gradient boosting (GradientBoostingClassifier, HistGradientBoostingClassifier) on 30
numeric features: scorec's C batch throughput and single-row latency (C via ctypes,
Python) against sklearn and the peers, measured as for the forest (bench_forest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import models, peers
from .bench_forest import add_latency_head, tree_batch_table
from .config import Scale
from .data import NumericTask, split_edge_rows
from .measure import COLUMNS, Workload, attempt, latency_note, scorer_of, single_row
from .report import PER_ROW_US, SINGLE_ROW, Table
from .scorec_side import CLibrary, compile_model


def model_tables(title: str, key: str, model: object, task: NumericTask, rows: np.ndarray,
                 scale: Scale, workdir: Path) -> list[Table]:
    """A C batch table and a single-row latency table for one boosted model."""
    path = models.save(model, workdir / f"{key}.joblib")
    edge = split_edge_rows(model, task.features(scale.edge_rows, seed=3), seed=4)
    work = Workload.of(model, rows, edge, scale)
    compiled = attempt("scorec", lambda: compile_model(path, workdir / f"{key}_scorec", key))
    clib = scorer_of("scorec C", compiled, lambda c: CLibrary(c, workdir / f"{key}_c"))
    onnx = attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows))
    timeout = scale.peer_timeout_s
    workload = (f"bench rows: {len(work.rows):,} new draws from the training distribution; "
                f"edge rows: {len(work.edge):,} rows with 10 features each set exactly on, or "
                "one double / one float32 step beside, one of the model's split thresholds")

    batch = tree_batch_table(title, model, path, key, work, clib, onnx, workdir,
                             with_emlearn=False)
    batch.notes += [workload, "sklearn: `predict_proba` on the whole float64 array"]

    latency = Table(section=SINGLE_ROW,
                    title=f"Single-row latency — {title}, 30 numeric features",
                    metrics=PER_ROW_US, columns=COLUMNS)
    add_latency_head(latency, clib, compiled, model, work)
    latency.add(single_row(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
        path, workdir / f"{key}_m2cgen_py", timeout)), work))
    latency.add(single_row(onnx, work))
    latency.notes += [
        latency_note(scale, "")]
    return [batch, latency]


def tables(scale: Scale, workdir: Path) -> list[Table]:
    task = NumericTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    rows = task.features(scale.batch_rows, seed=2)
    return [
        *model_tables(models.GRADIENT_BOOSTING, "gb", models.gradient_boosting(X, y), task,
                      rows, scale, workdir),
        *model_tables(models.HIST_GRADIENT_BOOSTING, "hgb",
                      models.hist_gradient_boosting(X, y), task, rows, scale, workdir),
    ]
