"""Turn a `Scorer` into a table row: time its batch or single-row path, check its
probabilities against sklearn on the benchmark rows and on the edge rows."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from .config import Scale
from .report import C_BATCH, PER_ROW_NS, Row, Table, delta, seconds
from .scorers import Rows, Scorer, Unavailable, as_matrix, max_abs_diff, take
from .timing import best_of, per_row_latency

T = TypeVar("T")

DELTA_ROWS = "max abs Δp, bench rows"
DELTA_EDGE = "max abs Δp, edge rows"
COLUMNS = (DELTA_ROWS, DELTA_EDGE, "codegen s", "build s", "artifact", "notes")


@dataclass
class Workload:
    """The rows a table is measured on, with sklearn's probabilities for them."""

    rows: Rows             # benchmark rows (batch paths score all of them)
    edge: Rows             # edge rows (see data.py)
    expected: np.ndarray   # the model's `output` (predict_proba by default) on rows
    expected_edge: np.ndarray
    scale: Scale

    @classmethod
    def of(cls, model: object, rows: Rows, edge: Rows, scale: Scale,
           output: str = "predict_proba") -> Workload:
        fn = getattr(model, output)
        return cls(rows, edge, as_matrix(fn(rows), len(rows)), as_matrix(fn(edge), len(edge)),
                   scale)


def describe_error(exc: BaseException) -> str:
    """`Type: first line of the message`, plus the direct cause's when there is one."""
    def one(e: BaseException) -> str:
        lines = str(e).strip().splitlines()
        text = lines[0] if lines else ""
        text = text if len(text) <= 100 else text[:100] + "…"
        return f"{type(e).__name__}: {text}".rstrip(": ")
    cause = exc.__cause__
    return one(exc) + (f" (cause: {one(cause)})" if cause is not None else "")


def failed(name: str, exc: Exception) -> Row:
    """A row for a tool that raised; the error (and, for scorec, the traceback) goes to
    stderr too."""
    message = describe_error(exc)
    print(f"[{name}] fails: {message}", file=sys.stderr)
    if name.startswith("scorec"):
        traceback.print_exc(file=sys.stderr)
    return Row(tool=name, status=f"fails: {message}")


def attempt(name: str, factory: Callable[[], T]) -> T | Row:
    """The scorer, or a row saying why there is none."""
    try:
        return factory()
    except Unavailable as exc:
        return Row(tool=name, status=str(exc))
    except Exception as exc:  # a tool's failure is a result, not a crash of the suite
        return failed(name, exc)


def scorer_of(name: str, made: T | Row, make: Callable[[T], Scorer]) -> Scorer | Row:
    """`make(made)`, unless `attempt` already returned a row saying why there is none."""
    return made if isinstance(made, Row) else attempt(name, lambda: make(made))


def _cells(scorer: Scorer, work: Workload, n_checked: int) -> dict[str, str]:
    """Exactness on the first `n_checked` bench rows and on the edge rows; build facts."""
    checked = take(work.rows, n_checked)
    return {
        DELTA_ROWS: delta(max_abs_diff(scorer.proba(checked), work.expected[:n_checked])),
        DELTA_EDGE: delta(max_abs_diff(scorer.proba(work.edge), work.expected_edge)),
        "codegen s": seconds(scorer.codegen_s),
        "build s": seconds(scorer.build_s),
        "artifact": scorer.artifact or "—",
        "notes": "; ".join(scorer.notes),
    }


def batch_row(scorer: Scorer | Row, work: Workload, reference: str = "") -> Row:
    """ns/row of one call over all benchmark rows (best of `scale.repeats`)."""
    if isinstance(scorer, Row):
        return scorer
    try:
        prepared = scorer.prepare_batch(work.rows)
        best = best_of(lambda: scorer.batch(prepared), work.scale.repeats, work.scale.budget_s)
        cells = _cells(scorer, work, len(work.rows))
    except Exception as exc:
        return failed(scorer.name, exc)
    return Row(tool=scorer.name, seconds=best / len(work.rows), cells=cells,
               reference=reference)


def c_batch_table(title: str, scorec_c: Scorer | Row, work: Workload) -> Table:
    """A C batch table over 30 numeric features, opened by scorec's C row (the reference
    the other rows are timed against)."""
    batch = Table(section=C_BATCH, title=f"C batch — {title}, 30 numeric features, "
                                         f"{len(work.rows):,} rows per call",
                  metrics=PER_ROW_NS, columns=COLUMNS)
    batch.add(batch_row(scorec_c, work, reference="scorec C"))
    return batch


def single_row(scorer: Scorer | Row, work: Workload, reference: str = "") -> Row:
    """Seconds per call of the single-row path over the first `latency_rows` rows (best
    pass of `scale.repeats`)."""
    if isinstance(scorer, Row):
        return scorer
    scale = work.scale
    try:
        prepared = scorer.prepare_rows(take(work.rows, scale.latency_rows))
        per_row = per_row_latency(scorer.one, prepared, scale.repeats, scale.budget_s)
        n_checked = min(scale.exact_rows, len(work.rows))
        cells = _cells(scorer, work, n_checked)
    except Exception as exc:
        return failed(scorer.name, exc)
    return Row(tool=scorer.name, seconds=per_row, cells=cells, reference=reference)


def memory_floor_row(structs: np.ndarray, work: Workload) -> Row:
    """The memory-bandwidth floor of a C batch: reading every byte of the input structs
    once (numpy's xor-reduce over them as 64-bit words), per row. Text values, reached
    through pointers, are not counted."""
    words = structs.view(np.uint64).reshape(len(structs), -1)
    best = best_of(lambda: np.bitwise_xor.reduce(words, axis=None), work.scale.repeats,
                   work.scale.budget_s)
    return Row(tool="memory floor (read every input byte once)",
               seconds=best / len(structs),
               cells={"notes": f"{structs.dtype.itemsize} bytes per row; the same struct "
                               "array the scorec row scores"})


def latency_note(scale: Scale, inputs: str) -> str:
    """What a single-row table measures; `inputs` names each tool's one-row input."""
    return (f"one call per row over {scale.latency_rows:,} rows, each tool given its own "
            f"ready-made one-row input{f' ({inputs})' if inputs else ''}; exactness on the "
            f"first {min(scale.exact_rows, scale.batch_rows):,} bench rows and all "
            f"{scale.edge_rows:,} edge rows")
