"""RandomForestClassifier on 30 numeric features: C batch throughput and single-row
latency, scorec against sklearn and the peers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from . import models, peers
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
from .report import PER_ROW_US, SINGLE_ROW, Row, Table
from .scorec_side import CLibrary, Compiled, compile_model, python_scorer
from .scorers import Scorer, sklearn_scorer


@dataclass
class Forest:
    """The trained forest, its file, scorec's compilation of it, and its task."""

    model: RandomForestClassifier
    path: Path
    compiled: Compiled
    task: NumericTask


def train(scale: Scale, workdir: Path) -> Forest:
    task = NumericTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    model = models.forest(scale.forest, X, y)
    path = models.save(model, workdir / "forest.joblib")
    return Forest(model, path, compile_model(path, workdir / "forest_scorec", "forest"), task)


def edge_rows(forest: Forest, n: int) -> np.ndarray:
    return split_edge_rows(forest.model, forest.task.features(n, seed=3), seed=4)


def workload_notes(work: Workload) -> list[str]:
    return [f"bench rows: {len(work.rows):,} new draws from the training distribution; "
            f"edge rows: {len(work.edge):,} rows with 10 features each set exactly on, or one "
            "double / one float32 step beside, one of the forest's split thresholds"]


def tree_batch_table(title: str, model: object, path: Path, key: str, work: Workload,
                     clib: CLibrary | Row, onnx: Scorer | Row, workdir: Path,
                     with_emlearn: bool) -> Table:
    """The C batch table of a tree ensemble: scorec, sklearn and the tree peers."""
    timeout = work.scale.peer_timeout_s
    batch = c_batch_table(title, scorer_of("scorec C", clib, CLibrary.scorer_batch), work)
    batch.add(batch_row(sklearn_scorer(model), work))
    batch.add(batch_row(attempt("tl2cgen", lambda: peers.tl2cgen_scorer(
        model, workdir / f"{key}_tl2cgen", timeout)), work))
    batch.add(batch_row(attempt("treelite GTIL", lambda: peers.gtil_scorer(model)), work))
    if with_emlearn:
        batch.add(batch_row(attempt("emlearn", lambda: peers.emlearn_scorer(
            model, workdir / f"{key}_emlearn", timeout)), work))
    batch.add(batch_row(onnx, work))
    batch.add(batch_row(attempt("m2cgen C", lambda: peers.m2cgen_c_scorer(
        path, workdir / f"{key}_m2cgen_c", timeout)), work))
    return batch


def add_latency_head(latency: Table, clib: CLibrary | Row, compiled: Compiled, model: object,
                     work: Workload) -> None:
    """The first rows of a single-row table: scorec C, scorec Python, sklearn."""
    latency.add(single_row(scorer_of("scorec C", clib, CLibrary.scorer_single), work,
                           reference="scorec C"))
    latency.add(single_row(attempt("scorec Python", lambda: python_scorer(compiled)), work,
                           reference="scorec Python"))
    latency.add(single_row(sklearn_scorer(model), work))


def tables(forest: Forest, scale: Scale, workdir: Path) -> list[Table]:
    model, compiled = forest.model, forest.compiled
    rows = forest.task.features(scale.batch_rows, seed=2)
    work = Workload.of(model, rows, edge_rows(forest, scale.edge_rows), scale)
    clib = attempt("scorec C", lambda: CLibrary(compiled, workdir / "forest_c"))
    timeout = scale.peer_timeout_s

    onnx = attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows))
    batch = tree_batch_table(str(scale.forest), model, forest.path, "forest", work, clib, onnx,
                             workdir, with_emlearn=True)
    batch.notes += workload_notes(work) + [
        "scorec codegen s = `compile_file` to all three targets; build s = "
        "`cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -shared -fPIC`",
        "sklearn: `predict_proba` on the whole float64 array, n_jobs=1"]

    latency = Table(section=SINGLE_ROW,
                    title=f"Single-row latency — {scale.forest}, 30 numeric features",
                    metrics=PER_ROW_US, columns=COLUMNS)
    add_latency_head(latency, clib, compiled, model, work)
    latency.add(single_row(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
        forest.path, workdir / "forest_m2cgen_py", timeout)), work))
    latency.add(single_row(attempt("ONNX Runtime", lambda: peers.onnx_scorer(model, rows)),
                           work))
    latency.notes += [
        latency_note(scale, "ctypes struct pointer, Python list, 1-row numpy array, "
                     "1-row float32 tensor")]
    return [batch, latency, tree_latency(forest, scale, workdir)]


TREE_DEPTH = 12


def tree_latency(forest: Forest, scale: Scale, workdir: Path) -> Table:
    """Python single-row latency of one decision tree on the forest's task: scorec's
    module against sklearn and m2cgen's Python."""
    X, y = forest.task.training_set(scale.train_rows)
    tree = DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=0).fit(X, y)
    path = models.save(tree, workdir / "tree.joblib")
    rows = forest.task.features(scale.batch_rows, seed=2)
    edge = split_edge_rows(SimpleNamespace(estimators_=[tree]),
                           forest.task.features(scale.edge_rows, seed=3), seed=4)
    work = Workload.of(tree, rows, edge, scale)
    table = Table(section=SINGLE_ROW,
                  title=f"Python single-row latency — DecisionTreeClassifier(max_depth="
                        f"{TREE_DEPTH}, {tree.tree_.node_count:,} nodes), 30 numeric features",
                  metrics=PER_ROW_US, columns=COLUMNS)
    table.add(single_row(attempt("scorec Python", lambda: python_scorer(
        compile_model(path, workdir / "tree_scorec", "tree"))), work,
        reference="scorec Python"))
    table.add(single_row(sklearn_scorer(tree), work))
    table.add(single_row(attempt("m2cgen Python", lambda: peers.m2cgen_python_scorer(
        path, workdir / "tree_m2cgen_py", scale.peer_timeout_s)), work))
    table.notes += [
        "as the forest's single-row table; edge rows on and beside this tree's thresholds; "
        "scorec also checks every row as sklearn does (types, NaN routing, float32 "
        "overflow of all 30 features), m2cgen reads the list as it is"]
    return table
