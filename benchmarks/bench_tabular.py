"""Table-shaped sklearn models that are not tree ensembles of the earlier sections (an MLP,
an rbf SVC) and an IsolationForest, on 30 numeric features: scorec's C batch and
single-row paths (C via ctypes, Python) against sklearn and ONNX Runtime, DuckDB SQL
against fetching the rows into sklearn, and compile time per target."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

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

SVC_TRAIN_ROWS = 1_600  # an rbf SVC fitted on this many rows keeps about 1,000 vectors
# skl2onnx writes IsolationForest with ai.onnx.ml opset 4 by default, which onnxruntime
# 1.32 refuses to load; opset 3 holds the same operators
ISO_ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}
SQL_ROWS_CAP = 50_000  # an MLP / SVC row costs 10-100x a forest row in SQL


@dataclass
class Subject:
    """One model under test: what it is called, the output compared, its edge rows."""

    title: str
    key: str
    model: object
    output: str       # the method compared with sklearn's: predict_proba, decision_function
    onnx_output: str  # the ONNX Runtime output holding the same numbers
    onnx_opset: dict[str, int] | None
    edge: np.ndarray
    edge_note: str


def scaled_edge(task: NumericTask, n: int) -> np.ndarray:
    """Rows far outside the training range (draws times 1000): saturated activations,
    probabilities at 0 and 1, rbf kernels underflowing to 0."""
    return task.features(n, seed=3) * 1000.0


def subjects(task: NumericTask, scale: Scale) -> list[Subject]:
    X, y = task.training_set(scale.train_rows)
    mlp = MLPClassifier(hidden_layer_sizes=(100, 100), max_iter=50, random_state=0).fit(X, y)
    svc = SVC(kernel="rbf", probability=True, random_state=0).fit(X[:SVC_TRAIN_ROWS],
                                                                    y[:SVC_TRAIN_ROWS])
    iso = IsolationForest(n_estimators=100, random_state=0, n_jobs=1).fit(X)
    far = "edge rows: draws times 1000 (saturated units, probabilities at 0 and 1)"
    return [
        Subject("MLPClassifier(hidden_layer_sizes=(100, 100), relu, max_iter=50)", "mlp", mlp,
                "predict_proba", "probabilities", None, scaled_edge(task, scale.edge_rows), far),
        Subject(f"SVC(rbf, probability=True, {int(svc.n_support_.sum()):,} support vectors)",
                "svc", svc, "predict_proba", "probabilities", None,
                scaled_edge(task, scale.edge_rows),
                "edge rows: draws times 1000 (every kernel value underflows to 0)"),
        Subject("IsolationForest(100 trees, max_samples='auto')", "iso", iso,
                "decision_function", "scores", ISO_ONNX_OPSET,
                split_edge_rows(iso, task.features(scale.edge_rows, seed=3), seed=4),
                "edge rows: 10 features each on, or one double / one float32 step beside, "
                "one of the forest's split thresholds; Δ columns compare decision_function"),
    ]


def latency_scale(scale: Scale, key: str) -> Scale:
    """The SVC's Python single row costs milliseconds: fewer rows keep its loops short."""
    if key != "svc":
        return scale
    return replace(scale, latency_rows=min(scale.latency_rows, 200),
                   exact_rows=min(scale.exact_rows, 1_000))


def model_tables(subject: Subject, task: NumericTask, rows: np.ndarray, scale: Scale,
                 workdir: Path) -> tuple[list[Table], Compiled | None, Path]:
    """C batch, single-row and DuckDB tables of one model; its compilation and file."""
    key, model, output = subject.key, subject.model, subject.output
    path = models.save(model, workdir / f"{key}.joblib")
    work = Workload.of(model, rows, subject.edge, scale, output)
    compiled = attempt("scorec", lambda: compile_model(path, workdir / f"{key}_scorec", key))
    clib = scorer_of("scorec C", compiled, lambda c: CLibrary(c, workdir / f"{key}_c", output))
    onnx = attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows, subject.onnx_output,
                                                             subject.onnx_opset))
    workload = (f"bench rows: {len(rows):,} new draws from the training distribution; "
                f"{subject.edge_note}")

    batch = c_batch_table(subject.title, scorer_of("scorec C", clib, CLibrary.scorer_batch), work)
    batch.add(batch_row(sklearn_scorer(model, output), work))
    batch.add(batch_row(onnx, work))
    batch.notes += [workload, f"sklearn: `{output}` on the whole float64 array, one BLAS "
                              "thread"]

    lat = latency_scale(scale, key)
    lwork = Workload(rows, work.edge, work.expected, work.expected_edge, lat)
    latency = Table(section=SINGLE_ROW, title=f"Single-row latency — {subject.title}",
                    metrics=PER_ROW_US, columns=COLUMNS)
    latency.add(single_row(scorer_of("scorec C", clib, CLibrary.scorer_single), lwork,
                           reference="scorec C"))
    latency.add(single_row(scorer_of("scorec Python", compiled,
                                     lambda c: python_scorer(c, output)), lwork,
                           reference="scorec Python"))
    latency.add(single_row(sklearn_scorer(model, output), lwork))
    latency.add(single_row(onnx, lwork))
    latency.notes += [latency_note(lat, "")]

    tables = [batch, latency]
    if not isinstance(compiled, Compiled):
        return tables, None, path
    n_sql = min(scale.sql_rows, SQL_ROWS_CAP)
    bench = SqlBench(model, compiled, task.features(n_sql, seed=5), subject.edge, scale,
                     workdir, key=f"{key}_", output=output)
    sql = sql_table(f"DuckDB SQL — {subject.title}, {n_sql:,} + {len(subject.edge):,} edge "
                    "rows, one thread", bench, [])
    sql.notes += [f"as the forest's SQL table; at most {SQL_ROWS_CAP:,} rows (an MLP or SVC "
                  "row costs far more than a forest row); edge rows as in the C batch table"]
    return [*tables, sql], compiled, path


def tables(scale: Scale, workdir: Path) -> list[Table]:
    task = NumericTask(seed=0)
    rows = task.features(scale.batch_rows, seed=2)
    out: list[Table] = []
    compiled: list[tuple[str, Path, Compiled | None]] = []
    for subject in subjects(task, scale):
        made, comp, path = model_tables(subject, task, rows, scale, workdir)
        out += made
        compiled.append((subject.title, path, comp))
    out.append(target_table("MLPClassifier, SVC, IsolationForest", compiled, workdir))
    return out
