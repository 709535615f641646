"""Sizes of everything, for the full run and for `--quick` (a smoke test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForestSpec:
    n_estimators: int
    max_depth: int

    def __str__(self) -> str:
        return f"RandomForestClassifier({self.n_estimators} trees, max_depth={self.max_depth})"


@dataclass(frozen=True)
class Scale:
    name: str
    forest: ForestSpec          # the C batch, single-row latency and SQL benchmarks
    big_forest: ForestSpec      # the compile-time benchmark
    train_rows: int             # training rows for every model except the big forest
    big_train_rows: int
    batch_rows: int             # rows per batch call (C batch, sklearn batch, ...)
    latency_rows: int           # rows the single-row loops run over
    exact_rows: int             # rows per-row scorers are checked on (untimed)
    edge_rows: int              # edge rows (see data.py), checked for every scorer
    sql_rows: int
    repeats: int                # timed repeats after the warm-up; the best one is reported
    budget_s: float             # a measurement stops repeating after this many seconds
    peer_timeout_s: float       # cap on each bounded peer step (code generation, cc, SQL)
    scorec_sql_timeout_s: float  # cap on scorec's own SQL run (it must get a number)


FULL = Scale(name="full", forest=ForestSpec(100, 10), big_forest=ForestSpec(300, 14),
             train_rows=20_000, big_train_rows=20_000, batch_rows=100_000,
             latency_rows=1_000, exact_rows=5_000, edge_rows=1_000, sql_rows=1_000_000,
             repeats=5, budget_s=20.0, peer_timeout_s=240.0,
             scorec_sql_timeout_s=1200.0)

QUICK = Scale(name="quick", forest=ForestSpec(20, 8), big_forest=ForestSpec(40, 10),
              train_rows=5_000, big_train_rows=5_000, batch_rows=20_000,
              latency_rows=200, exact_rows=1_000, edge_rows=200, sql_rows=20_000,
              repeats=3, budget_s=3.0, peer_timeout_s=30.0,
              scorec_sql_timeout_s=120.0)
