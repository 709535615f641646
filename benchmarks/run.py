"""The benchmark suite's one command (run from the repository root):

    python benchmarks/run.py [--quick] [--out benchmarks/RESULTS.md] [--only NAME ...]

Also runs as `python -m benchmarks.run`. Threads are pinned to one before numpy or any
native runtime loads; the work itself is in `suite.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make `benchmarks` importable as a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.timing import pin_threads

    pin_threads()
    from benchmarks.suite import main as run_suite

    return run_suite(argv)


if __name__ == "__main__":
    sys.exit(main())
