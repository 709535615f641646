"""The support table in README.md, generated from the lowering registry so it cannot lie.

`python -m scorec.compiler.support` prints it; a test checks README.md holds exactly
this text. Every target implements every IR node, so a registered component is
supported by all three targets.
"""

from __future__ import annotations

from . import lowering  # noqa: F401  (registers the rules)
from .build import TARGETS
from .registry import RULES

ROLE_ORDER = {"composition": 0, "transformer": 1, "estimator": 2}
TARGET_TITLES = {"python": "Python", "c": "C99", "sql": "DuckDB SQL", "spark": "Spark SQL",
                 "postgres": "PostgreSQL"}


def support_table() -> str:
    rules = sorted(RULES.values(), key=lambda r: (ROLE_ORDER[r.role], r.module, r.name))
    head = ["component", "kind", *(TARGET_TITLES[t] for t in TARGETS), "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rules:
        cells = [f"`{r.name}`", r.role, *("yes" for _ in TARGETS), r.notes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(support_table())
