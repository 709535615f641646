"""A bare LogisticRegression on 30 numeric features (the issue's linear C row): C batch
throughput against sklearn, the peers and the memory-bandwidth floor."""

from __future__ import annotations

from pathlib import Path

from sklearn.linear_model import LogisticRegression

from . import models, peers
from .config import Scale
from .data import NumericTask
from .measure import COLUMNS, Workload, attempt, batch_row, memory_floor_row, scorer_of
from .report import C_BATCH, PER_ROW_NS, Row, Table
from .scorec_side import CLibrary, compile_model
from .scorers import sklearn_scorer

TITLE = "LogisticRegression, 30 numeric features"


def tables(scale: Scale, workdir: Path) -> list[Table]:
    task = NumericTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    path = models.save(model, workdir / "logistic.joblib")
    compiled = compile_model(path, workdir / "logistic_scorec", "logistic")
    rows = task.features(scale.batch_rows, seed=2)
    work = Workload.of(model, rows, task.features(scale.edge_rows, seed=3) * 1e3, scale)
    clib = attempt("scorec C", lambda: CLibrary(compiled, workdir / "logistic_c"))
    batch = Table(section=C_BATCH, title=f"C batch — {TITLE}, {scale.batch_rows:,} rows per call",
                  metrics=PER_ROW_NS, columns=COLUMNS)
    batch.add(batch_row(scorer_of("scorec C", clib, CLibrary.scorer_batch), work,
                        reference="scorec C"))
    batch.add(clib if isinstance(clib, Row) else memory_floor_row(clib.structs(rows), work))
    batch.add(batch_row(sklearn_scorer(model), work))
    batch.add(batch_row(attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows)), work))
    batch.add(batch_row(attempt("m2cgen C", lambda: peers.m2cgen_c_scorer(
        path, workdir / "logistic_m2cgen_c", scale.peer_timeout_s)), work))
    batch.notes += [
        f"bench rows: {len(rows):,} draws from the training distribution; edge rows: "
        f"{scale.edge_rows:,} draws scaled by 1000 (probabilities at 0 and 1)",
        "sklearn: `predict_proba` on the whole float64 array (its dot product is BLAS)"]
    return [batch]
