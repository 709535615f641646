"""LogisticRegression pipeline (imputer + scaler on 26 numbers, one-hot on 4 text
columns): C batch throughput and single-row latency."""

from __future__ import annotations

from pathlib import Path

from . import models, peers
from .config import Scale
from .data import MixedTask
from .measure import COLUMNS, Workload, attempt, batch_row, scorer_of, single_row
from .report import C_BATCH, PER_ROW_NS, PER_ROW_US, SINGLE_ROW, Row, Table
from .scorec_side import CLibrary, compile_model, python_scorer
from .scorers import sklearn_scorer

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
    latency.add(single_row(scorer_of("scorec C", clib, CLibrary.scorer_single), work,
                           reference="scorec C"))
    latency.add(single_row(attempt("scorec Python", lambda: python_scorer(compiled)), work,
                           reference="scorec Python"))
    latency.add(single_row(sklearn_scorer(model), work))
    latency.add(m2cgen(single_row(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
        bare, workdir / "linear_m2cgen_py", timeout, transform)), work)))
    latency.add(single_row(attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows)),
                           work))
    latency.notes += [
        f"one call per row over {scale.latency_rows:,} rows, each tool given its own "
        "ready-made one-row input (ctypes struct pointer, Python list, 1-row DataFrame, "
        "dict of 1-row tensors); exactness on the first "
        f"{min(scale.exact_rows, scale.batch_rows):,} bench rows and all "
        f"{scale.edge_rows:,} edge rows"]
    return [batch, latency]


def workload_notes(work: Workload) -> list[str]:
    return [f"bench rows: {len(work.rows):,} new draws from the training distribution "
            "(about 5% missing values in 6 numeric columns); edge rows: "
            f"{len(work.edge):,} rows with half of those 6 columns missing and 30% unseen "
            "categories per text column"]
