"""README.md keeps its promises: the support table is the registry's, the commands match CI."""

from __future__ import annotations

import re
from pathlib import Path

from scorec.compiler.support import support_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_support_table_is_generated_from_the_registry():
    block = re.search(r"<!-- support-table:start -->\n(.*?)\n<!-- support-table:end -->",
                      README, re.S)
    assert block, "README.md lost its support-table markers"
    assert block.group(1).strip() == support_table().strip()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = "bash tests/install-engines.sh && python -m pytest"
    assert f"\n{command}\n" in README
    assert ci.strip().splitlines()[-1] == command
    assert "pip install --quiet -e '.[dev]'" in ci and "pip install -e '.[dev]'" in README
