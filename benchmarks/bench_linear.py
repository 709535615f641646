"""LogisticRegression pipeline (imputer + scaler on 26 numbers, one-hot on 4 text
columns): C batch throughput and single-row latency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

from scorec.runtime.python_runtime import import_module

from . import models, peers
from .bench_forest import add_latency_head
from .config import Scale
from .data import MixedTask, NumericTask
from .measure import COLUMNS, Workload, attempt, batch_row, latency_note, scorer_of, single_row
from .report import C_BATCH, PER_ROW_NS, PER_ROW_US, SINGLE_ROW, Row, Table, size
from .scorec_side import CLibrary, Compiled, compile_model
from .scorers import Rows, Scorer, sklearn_scorer
from .timing import stopwatch

M2CGEN_NOTE = ("m2cgen cannot compile pipelines: it gets the bare LogisticRegression and "
               "rows already transformed by the fitted sklearn preprocessing (untimed); it "
               "returns the raw decision score, the sigmoid is applied outside the timing")


def tables(scale: Scale, workdir: Path) -> list[Table]:
    task = MixedTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    model = models.linear_pipeline(X, y)
    path = models.save(model, workdir / "linear.joblib")
    bare = models.save(model.steps[-1][1], workdir / "linear_bare_lr.joblib")
    compiled = compile_model(path, workdir / "linear_scorec", "linear")
    rows = task.frame(scale.batch_rows, seed=2)
    work = Workload.of(model, rows, task.edge_frame(scale.edge_rows, seed=3), scale)
    transform = model[:-1].transform
    timeout = scale.peer_timeout_s
    clib = attempt("scorec C", lambda: CLibrary(compiled, workdir / "linear_c"))

    def m2cgen(row: Row) -> Row:
        if row.status == "" and row.seconds is not None:
            row.tool += " — bare LR on pre-transformed rows"
            row.cells["notes"] = "; ".join(filter(None, [row.cells.get("notes"), M2CGEN_NOTE]))
        return row

    batch = Table(section=C_BATCH,
                  title=f"C batch — {models.LINEAR_PIPELINE}, {scale.batch_rows:,} rows per call",
                  metrics=PER_ROW_NS, columns=COLUMNS)
    batch.add(batch_row(scorer_of("scorec C", clib, CLibrary.scorer_batch), work,
                        reference="scorec C"))
    batch.add(batch_row(sklearn_scorer(model), work))
    batch.add(batch_row(attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows)), work))
    batch.add(m2cgen(batch_row(attempt("m2cgen C", lambda: peers.m2cgen_c_scorer(
        bare, workdir / "linear_m2cgen_c", timeout, transform)), work)))
    batch.notes += workload_notes(work) + [
        "sklearn: `predict_proba` on the whole DataFrame (ColumnTransformer included)"]

    latency = Table(section=SINGLE_ROW, title=f"Single-row latency — {models.LINEAR_PIPELINE}",
                    metrics=PER_ROW_US, columns=COLUMNS)
    add_latency_head(latency, clib, compiled, model, work)
    latency.add(m2cgen(single_row(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
        bare, workdir / "linear_m2cgen_py", timeout, transform)), work)))
    latency.add(single_row(attempt("scorec Python, bare LR", lambda: module_scorer(
        compile_model(bare, workdir / "linear_bare_scorec", "linear_bare"), "decision_function",
        "scorec Python `decision_function(row)` — bare LR on pre-transformed rows",
        transform=transform)), work))
    latency.add(single_row(attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows)),
                           work))
    latency.notes += [
        latency_note(scale, "ctypes struct pointer, Python list, 1-row DataFrame, "
                     "dict of 1-row tensors"),
        "scorec Python, bare LR: scorec's module for the same bare LogisticRegression as "
        "m2cgen, given the same pre-transformed rows, timing `decision_function(row)` (the "
        "raw score, as m2cgen's `score`)"]
    return [batch, latency, ridge_latency(scale, workdir)]


def module_scorer(compiled: Compiled, timed: str, name: str, column: bool = False,
                  transform: Callable[[Rows], np.ndarray] | None = None) -> Scorer:
    """scorec's module, timing `timed(row)` on rows pre-transformed by `transform`
    (untimed); exactness on `predict_proba`, or on `predict` as one column (`column`)."""
    import_s, module = stopwatch(lambda: import_module(compiled.file(".py")))

    def prepare(rows: Rows) -> list[list]:
        return [list(r) for r in zip(*compiled.columns(transform(rows) if transform else rows))]

    def proba(rows: Rows) -> np.ndarray:
        if column:
            return np.array([[module.predict(r)] for r in prepare(rows)])
        return np.array([module.predict_proba(r) for r in prepare(rows)])

    return Scorer(name=name, proba=proba, prepare_rows=prepare, one=getattr(module, timed),
                  codegen_s=compiled.seconds, build_s=import_s,
                  artifact=f"{size(compiled.target_bytes('python'))} .py",
                  notes=["build = import time"])


def ridge_latency(scale: Scale, workdir: Path) -> Table:
    """Python single-row latency of a Ridge regression on 30 numeric features: scorec's
    `predict(row)` against sklearn and m2cgen's Python (Δ columns: |prediction − sklearn's|)."""
    task = NumericTask(seed=0)
    X, _ = task.training_set(scale.train_rows)
    y = X @ task.weights + np.sin(X[:, 0])
    model = Ridge(alpha=1.0).fit(X, y)
    path = models.save(model, workdir / "ridge.joblib")
    rows = task.features(scale.batch_rows, seed=2)
    edge = task.features(scale.edge_rows, seed=3) * 1e6
    work = Workload(rows, edge, model.predict(rows)[:, None], model.predict(edge)[:, None],
                    scale)

    def as_regressor(scorer: Scorer | Row) -> Scorer | Row:
        """m2cgen's scorer, its `proba` the (n, 1) column of its predictions."""
        if isinstance(scorer, Row):
            return scorer
        return replace(scorer, proba=lambda rows: np.array(
            [[scorer.one(r)] for r in scorer.prepare_rows(rows)]))

    def scorec() -> Scorer:
        return module_scorer(compile_model(path, workdir / "ridge_scorec", "ridge"), "predict",
                             "scorec Python `predict(row)`", column=True)

    table = Table(section=SINGLE_ROW,
                  title="Python single-row latency — Ridge, 30 numeric features",
                  metrics=PER_ROW_US, columns=COLUMNS)
    table.add(single_row(attempt("scorec Python", scorec), work, reference="scorec Python"))
    table.add(single_row(Scorer(
        name="sklearn predict", proba=lambda rows: model.predict(rows)[:, None],
        prepare_rows=lambda rows: [rows[i:i + 1] for i in range(len(rows))],
        one=model.predict), work))
    table.add(single_row(as_regressor(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
        path, workdir / "ridge_m2cgen_py", scale.peer_timeout_s))), work))
    table.notes += [
        "Δ columns: |prediction − sklearn's predict|; bench rows as the forest's, edge rows "
        "the same draws times 1e6; scorec also checks every row for NaN and infinity (as "
        "sklearn refuses them), m2cgen does not"]
    return table


def workload_notes(work: Workload) -> list[str]:
    return [f"bench rows: {len(work.rows):,} new draws from the training distribution "
            "(about 5% missing values in 6 numeric columns); edge rows: "
            f"{len(work.edge):,} rows with half of those 6 columns missing and 30% unseen "
            "categories per text column"]
