"""Result rows and their markdown rendering.

A table has one timed quantity (`Row.seconds`: per row, or per run) shown through the
table's `metric` columns, then one ratio column per scorec reference row (this tool's time
divided by that scorec time, measured in the same run: above 1 means slower than scorec),
then free-form columns whose cells the benchmark fills in as text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

DASH = "—"

# RESULTS.md headings, in order; each Table names the one it belongs under
C_BATCH = "C target: batch throughput"
SINGLE_ROW = "Single-row latency from Python (scorec C via ctypes, scorec Python)"
SQL = "DuckDB SQL target"
COMPILE = "Compile time and artifact size"
HEADINGS = (C_BATCH, SINGLE_ROW, SQL, COMPILE)


@dataclass
class Row:
    tool: str
    seconds: float | None = None   # the timed quantity; None when there is no measurement
    status: str = ""               # why there is no measurement ("not installed", ...)
    cells: dict[str, str] = field(default_factory=dict)
    reference: str = ""            # non-empty: a scorec row other rows are compared with


@dataclass
class Metric:
    header: str
    render: Callable[[float], str]


@dataclass
class Table:
    section: str             # the heading RESULTS.md groups tables under
    title: str
    metrics: Sequence[Metric]
    columns: Sequence[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def markdown(self) -> str:
        refs = [r for r in self.rows if r.reference and r.seconds]
        header = ["tool", *(m.header for m in self.metrics),
                  *(f"time ÷ {r.reference}" for r in refs), *self.columns]
        lines = [f"### {self.title}", "", "| " + " | ".join(header) + " |",
                 "|" + "|".join("---" for _ in header) + "|"]
        for row in self.rows:
            if row.seconds is None:
                metric_cells = [row.status or DASH] + [DASH] * (len(self.metrics) - 1)
            else:
                metric_cells = [m.render(row.seconds) for m in self.metrics]
            ratios = [ratio(row.seconds, r.seconds) for r in refs]
            extra = [row.cells.get(c, DASH) for c in self.columns]
            cells = [row.tool, *metric_cells, *ratios, *extra]
            lines.append("| " + " | ".join(map(cell, cells)) + " |")
        lines.append("")
        lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines).rstrip() + "\n"


# ---- cell formatting --------------------------------------------------------------------

def cell(text: str) -> str:
    """Text safe inside one markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def ratio(seconds: float | None, reference: float | None) -> str:
    if not seconds or not reference:
        return DASH
    value = seconds / reference
    return f"{value:.2f}×" if value < 10 else f"{value:,.0f}×"


def significant(x: float, digits: int = 3) -> str:
    """`x` to `digits` significant digits, with thousands separators above 1000."""
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{x:.{decimals}f}"


def ns_per_row(seconds: float) -> str:
    return significant(seconds * 1e9)


def us_per_row(seconds: float) -> str:
    return significant(seconds * 1e6)


def rows_per_second(seconds: float) -> str:
    return significant(1.0 / seconds)


def seconds(value: float | None) -> str:
    return DASH if value is None else significant(value)


def size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return DASH
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} B"


def delta(value: float | None) -> str:
    """A max |difference| cell: `0` when bit-identical, else two significant digits."""
    if value is None:
        return DASH
    if math.isnan(value):
        return "NaN"
    return "0" if value == 0 else f"{value:.1e}"


PER_ROW_NS = (Metric("ns/row", ns_per_row), Metric("rows/s", rows_per_second))
PER_ROW_US = (Metric("µs/row", us_per_row), Metric("rows/s", rows_per_second))
