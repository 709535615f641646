"""Gradient boosting, which scorec does not compile yet: sklearn's and the peers' numbers
on the same rows, and scorec's own compile-time refusal (not a number)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from . import models, peers
from .config import Scale
from .data import NumericTask, split_edge_rows
from .measure import COLUMNS, Workload, attempt, batch_row, single_row
from .report import BOOSTING, PER_ROW_NS, PER_ROW_US, Row, Table
from .scorec_side import compile_model
from .scorers import sklearn_scorer


def scorec_refusal(path: Path, outdir: Path) -> str:
    """What scorec says when asked to compile the model (its first line)."""
    try:
        compile_model(path, outdir, path.stem)
    except Exception as exc:  # scorec's CompileError, or anything else it raises
        reason = str(exc).split(". Supported:")[0].split("\n")[0][:150]
        return f"not supported yet ({type(exc).__name__}: {reason})"
    return "compiled (unexpected: update this benchmark)"


def add_model(batch: Table, latency: Table, title: str, key: str, model: object,
              task: NumericTask, rows: np.ndarray, scale: Scale, workdir: Path) -> None:
    """One model's rows in both tables, each tool name prefixed with the model's."""
    path = models.save(model, workdir / f"{key}.joblib")
    edge = split_edge_rows(model, task.features(scale.edge_rows, seed=3), seed=4)
    work = Workload.of(model, rows, edge, scale)
    refusal = scorec_refusal(path, workdir / f"{key}_scorec")
    timeout = scale.peer_timeout_s
    onnx = attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows))
    prefix = title.split("(")[0] + ": "

    for row in (Row(tool="scorec C", status=refusal),
                batch_row(sklearn_scorer(model), work),
                batch_row(attempt("tl2cgen", lambda: peers.tl2cgen_scorer(
                    model, workdir / f"{key}_tl2cgen", timeout)), work),
                batch_row(attempt("treelite GTIL", lambda: peers.gtil_scorer(model)), work),
                batch_row(onnx, work),
                batch_row(attempt("m2cgen C", lambda: peers.m2cgen_c_scorer(
                    path, workdir / f"{key}_m2cgen_c", timeout)), work)):
        batch.add(replace(row, tool=prefix + row.tool))
    for row in (Row(tool="scorec Python", status=refusal),
                single_row(sklearn_scorer(model), work),
                single_row(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
                    path, workdir / f"{key}_m2cgen_py", timeout)), work),
                single_row(onnx, work)):
        latency.add(replace(row, tool=prefix + row.tool))


def tables(scale: Scale, workdir: Path) -> list[Table]:
    task = NumericTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    rows = task.features(scale.batch_rows, seed=2)
    batch = Table(section=BOOSTING,
                  title=f"Batch — gradient boosting, 30 numeric features, "
                        f"{scale.batch_rows:,} rows per call",
                  metrics=PER_ROW_NS, columns=COLUMNS)
    latency = Table(section=BOOSTING,
                    title="Single-row latency — gradient boosting, 30 numeric features",
                    metrics=PER_ROW_US, columns=COLUMNS)
    add_model(batch, latency, models.GRADIENT_BOOSTING, "gb", models.gradient_boosting(X, y),
              task, rows, scale, workdir)
    add_model(batch, latency, models.HIST_GRADIENT_BOOSTING, "hgb",
              models.hist_gradient_boosting(X, y), task, rows, scale, workdir)
    note = (f"models: {models.GRADIENT_BOOSTING}, {models.HIST_GRADIENT_BOOSTING}; bench rows "
            "and edge rows (on / beside each model's own split thresholds) as for the forest; "
            "no scorec numbers: it refuses these models at compile time, as shown")
    batch.notes.append(note)
    latency.notes.append(note)
    return [batch, latency]
