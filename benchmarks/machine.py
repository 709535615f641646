"""What the numbers were measured on: CPU, cores, compiler, library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("scorec", "scikit-learn", "numpy", "pandas", "duckdb", "skl2onnx", "onnxruntime",
            "onnx", "m2cgen", "tl2cgen", "treelite", "emlearn", "orbital", "ibis-framework",
            "sqlglot", "xgboost", "lightgbm", "lleaves", "onnxmltools", "pyspark", "psycopg")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def c_compiler() -> str:
    cc = os.environ.get("CC", "cc")
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
        return out.stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return f"{cc}: not found"


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def describe() -> list[tuple[str, str]]:
    """(label, value) pairs for the head of RESULTS.md."""
    return [
        ("CPU", cpu_model()),
        ("cores", str(os.cpu_count())),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", platform.python_version()),
        ("C compiler", c_compiler()),
        *((name, package_version(name)) for name in PACKAGES),
    ]
