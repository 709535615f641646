"""Checks shared by the XGBoost and LightGBM tests: rows built from per-input probe values
(the model's split thresholds and their neighbours, specials), compared on every target
with the library's own outputs."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from conftest import TARGETS, build_scorer

from scorec.compiler.ir import Program
from scorec.compiler.lower import lower_model
from scorec.runtime.verify import compare

Probes = Callable[[object, Program], dict[int, list]]


def probe_rows(program: Program, probes: dict[int, list], seed: int) -> list[list]:
    """One row per probe value per feature, the other features at random probes."""
    rng = np.random.default_rng(seed)
    rows = []
    for j, values in probes.items():
        for v in values:
            row = [probes[i][rng.integers(len(probes[i]))] for i in range(len(program.features))]
            row[j] = v
            rows.append(row)
    return rows


def check_model(model: object, probes_of: Probes, rows: list[list] | None = None,
                reference: object | None = None, targets: tuple[str, ...] = TARGETS,
                seed: int = 0) -> None:
    """`model` compiled for `targets` equals `reference` (default: the model) on `rows`
    (default: rows at the probes `probes_of(model, program)` gives)."""
    program = lower_model(model)
    rows = rows if rows is not None else probe_rows(program, probes_of(model, program), seed)
    for target in targets:
        with tempfile.TemporaryDirectory() as tmp:
            scorer, manifest = build_scorer(program, target, Path(tmp))
            report = compare(reference or model, program, [scorer], manifest["outputs"], rows)
        assert report.ok, f"[{target}]\n" + report.format(program.features)


class CategoryColumns:
    """A wrapper fitted on pandas category columns, asked as its user asks it: with the
    columns made categorical with the training categories (runtime/reference.py passes
    text as object columns, which the libraries refuse); `to_library` does that."""

    def __init__(self, est: object, to_library: Callable[[object], object]) -> None:
        self.est = est
        self.feature_names_in_ = est.feature_names_in_
        self.to_library = to_library

    def __getattr__(self, output: str):
        return lambda X: getattr(self.est, output)(self.to_library(X))
