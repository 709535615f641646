"""scorec benchmark suite: `python benchmarks/run.py [--quick] [--out benchmarks/RESULTS.md]`.

Trains models on synthetic data (fixed seeds), compiles them with scorec and with every
peer tool installed, and reports speed, exactness against sklearn, build time and
artifact size as markdown tables. See benchmarks/README.md.
"""
