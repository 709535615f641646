"""Compile time and artifact size on a big forest: scorec to all three targets, then
building / loading what it wrote; the peers' code generators, each step capped by
`scale.peer_timeout_s`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import models, peers
from .config import Scale
from .data import NumericTask
from .measure import failed
from .report import COMPILE, Metric, Row, Table, seconds, significant, size
from .scorec_side import Compiled, cc_command, compile_each_target, compile_model
from .scorers import Unavailable
from .timing import memory_cap, run_bounded, stopwatch

C_BUILD, C_SOURCE, C_LIB = "C: cc -O2 s", "C source", "C .so"
PY_SOURCE = "Python source"
PY_IMPORT, PY_CACHED = "Python: first import s", "Python: cached import s"
SQL_SOURCE, SQL_ATTACH = "SQL source", "SQL: CREATE MACRO s"
COLUMNS = (C_BUILD, C_SOURCE, C_LIB, PY_SOURCE, PY_IMPORT, PY_CACHED, SQL_SOURCE, SQL_ATTACH,
           "notes")


def _files_size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def _step(cells: dict[str, str], column: str, fn: Callable[[], float | str]) -> None:
    """Fill `column` with the seconds fn() took (or its text), or with why it has none."""
    try:
        value = fn()
        cells[column] = value if isinstance(value, str) else significant(value)
    except Unavailable as exc:
        cells[column] = str(exc)


@contextmanager
def _bytecode_cache(directory: Path) -> Iterator[None]:
    """Child interpreters started inside write and read their .pyc files in `directory`
    (and nowhere else), whatever PYTHONDONTWRITEBYTECODE says in this environment."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    os.environ["PYTHONPYCACHEPREFIX"] = str(directory)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class CompileBench:
    def __init__(self, scale: Scale, workdir: Path):
        self.scale, self.workdir = scale, workdir
        self.timeout = scale.peer_timeout_s
        task = NumericTask(seed=0)
        X, y = task.training_set(scale.big_train_rows)
        self.model = models.forest(scale.big_forest, X, y)
        self.path = models.save(self.model, workdir / "big_forest.joblib")
        self.n_nodes = sum(e.tree_.node_count for e in self.model.estimators_)

    def child_seconds(self, step: str, path: Path, what: str) -> str:
        """'<seconds> (peak RSS <size>)' of a bounded child step."""
        result = peers.bounded_step(step, [str(path)], self.timeout, what)
        return f"{significant(result['seconds'])} (peak RSS {size(result['peak_rss'])})"

    def python_imports(self, cells: dict[str, str], module: Path) -> None:
        """The first import of `module` in a fresh interpreter (Python compiles the source
        and writes the .pyc), then a cached import in another (it reads the .pyc)."""
        cache = self.workdir / f"pycache_{module.stem}"
        shutil.rmtree(cache, ignore_errors=True)
        with _bytecode_cache(cache):
            _step(cells, PY_IMPORT, lambda: self.child_seconds(
                "import-python", module, "first import"))
            if any(cache.rglob("*.pyc")):
                _step(cells, PY_CACHED, lambda: self.child_seconds(
                    "import-python", module, "cached import"))
        shutil.rmtree(cache, ignore_errors=True)

    def built(self, source: Path) -> dict[str, str]:
        """A peer's C source built with cc like scorec's: its size, build time and .so."""
        lib = source.with_suffix(".so")
        cells = {C_SOURCE: size(source.stat().st_size)}
        _step(cells, C_BUILD, lambda: self.cc(["cc", *peers.PEER_CFLAGS, str(source), "-o",
                                               str(lib), "-lm"]))
        if lib.exists():
            cells[C_LIB] = size(lib.stat().st_size)
        return cells

    def cc(self, command: list[str]) -> float:
        cap = memory_cap()
        result = run_bounded(command, self.timeout, cap)
        if result.timed_out:
            raise Unavailable(f"timeout after {self.timeout:.0f} s (cc)")
        if result.returncode != 0:
            raise Unavailable("cc " + peers.failure(result, cap))
        return result.seconds

    def scorec(self) -> Row:
        compiled = compile_model(self.path, self.workdir / "big_scorec", "big_forest")
        library = self.workdir / "big_scorec_build" / "big_forest.so"
        library.parent.mkdir(parents=True, exist_ok=True)
        cells = {C_SOURCE: size(compiled.target_bytes("c")),
                 PY_SOURCE: size(compiled.target_bytes("python")),
                 SQL_SOURCE: size(compiled.target_bytes("sql")),
                 "notes": "codegen = `compile_file` writing all three targets; cc with "
                          "scorec's strict flags (-std=c99 -Wall -Wextra -pedantic -Werror "
                          "-O2 -shared -fPIC)"}
        _step(cells, C_BUILD, lambda: self.cc(cc_command(compiled.file(".c"), library)))
        if library.exists():
            cells[C_LIB] = size(library.stat().st_size)
        self.python_imports(cells, compiled.file(".py"))
        _step(cells, SQL_ATTACH, lambda: self.child_seconds(
            "attach-sql", compiled.file(".sql"), "CREATE MACRO"))
        return Row(tool="scorec (Python + C + SQL)", seconds=compiled.seconds, cells=cells,
                   reference="scorec")

    def m2cgen_python(self) -> Row:
        peers.require("m2cgen")
        out = self.workdir / "big_m2cgen.py"
        codegen_s = peers.generate_bounded("m2cgen-python", self.path, out, self.timeout)
        cells = {PY_SOURCE: size(out.stat().st_size)}
        self.python_imports(cells, out)
        return Row(tool="m2cgen → Python", seconds=codegen_s, cells=cells)

    def m2cgen_c(self) -> Row:
        peers.require("m2cgen")
        out = self.workdir / "big_m2cgen.c"
        codegen_s = peers.generate_bounded("m2cgen-c", self.path, out, self.timeout)
        cells = self.built(out)
        return Row(tool="m2cgen → C", seconds=codegen_s, cells=cells)

    def tl2cgen(self) -> Row:
        peers.require("tl2cgen")
        peers.require("treelite")
        import tl2cgen
        import treelite

        source_dir = self.workdir / "big_tl2cgen"
        codegen_s, _ = stopwatch(lambda: tl2cgen.generate_c_code(
            treelite.sklearn.import_model(self.model), source_dir, params=peers.TL2CGEN_PARAMS))
        sources = sorted(source_dir.glob("*.c"))
        library = source_dir / "model.so"
        cells = {C_SOURCE: size(_files_size([*sources, *source_dir.glob("*.h")])),
                 "notes": f"generated with {peers.TL2CGEN_PARAMS}"}
        _step(cells, C_BUILD, lambda: self.cc(["cc", *peers.PEER_CFLAGS, *map(str, sources),
                                               "-o", str(library), "-lm"]))
        if library.exists():
            cells[C_LIB] = size(library.stat().st_size)
        return Row(tool="tl2cgen → C", seconds=codegen_s, cells=cells)

    def emlearn(self) -> Row:
        peers.require("emlearn")
        import emlearn

        source = self.workdir / "big_emlearn.c"
        codegen_s, code = stopwatch(lambda: emlearn.convert(
            self.model, method="inline", dtype="float", leaf_bits=8).save(name="big"))
        source.write_text(code, encoding="utf-8")
        cells = self.built(source)
        return Row(tool="emlearn → C", seconds=codegen_s, cells=cells)

    def onnx(self) -> Row:
        peers.require("skl2onnx")
        import numpy as np
        from skl2onnx import to_onnx

        X1 = np.zeros((1, self.model.n_features_in_), dtype=np.float32)
        codegen_s, onx = stopwatch(lambda: to_onnx(
            self.model, X1, options={id(self.model): {"zipmap": False}}))
        return Row(tool="skl2onnx → ONNX", seconds=codegen_s,
                   cells={"notes": f"{size(len(onx.SerializeToString()))} .onnx"})

    def orbital(self) -> Row:
        peers.require("orbital")
        out = self.workdir / "big_orbital.sql"
        codegen_s = peers.generate_bounded("orbital-duckdb", self.path, out, self.timeout)
        return Row(tool="orbital → DuckDB SQL", seconds=codegen_s,
                   cells={SQL_SOURCE: size(out.stat().st_size)})


def table(scale: Scale, workdir: Path, all_peers: bool = False) -> Table:
    """The compile-time table; `all_peers` adds tl2cgen, emlearn and orbital, whose steps
    on this forest mostly end at the time limit (minutes each)."""
    bench = CompileBench(scale, workdir)
    out = Table(section=COMPILE,
                title=f"Compile time and size — {scale.big_forest} "
                      f"({bench.n_nodes:,} nodes), 30 numeric features",
                metrics=(Metric("codegen s", seconds),), columns=COLUMNS)
    steps = [("scorec", bench.scorec), ("m2cgen → Python", bench.m2cgen_python),
             ("m2cgen → C", bench.m2cgen_c), ("skl2onnx → ONNX", bench.onnx)]
    if all_peers:
        steps += [("tl2cgen → C", bench.tl2cgen), ("emlearn → C", bench.emlearn),
                  ("orbital → DuckDB SQL", bench.orbital)]
    for name, run in steps:
        try:
            out.add(run())
        except Unavailable as exc:
            out.add(Row(tool=name, status=str(exc)))
        except Exception as exc:  # a tool's failure is a result
            out.add(failed(name, exc))
    out.notes += [
        f"every bounded step (peer code generation, each cc run, each import or CREATE "
        f"MACRO) runs in its own process, killed after {scale.peer_timeout_s:.0f} s, its "
        f"address space capped at {size(memory_cap())} (16 GiB or 3/4 of the free memory)",
        "Python import and SQL CREATE MACRO run in a fresh process / connection; times are of "
        "the step alone (one run each, no repeats); peak RSS is the child process's peak "
        "resident memory, Python itself included",
        "Python first import = a fresh interpreter imports the module with an empty bytecode "
        "cache (Python compiles the source and writes the .pyc); cached import = another "
        "fresh interpreter imports it again (it loads the .pyc)",
        "peer C is built with `cc -O2 -shared -fPIC`"]
    if not all_peers:
        out.notes.append("tl2cgen, emlearn and orbital are left out of this table unless "
                         "`--compile-all-peers` is given (their steps on this forest take "
                         "minutes each, mostly ending at the time limit); their build times "
                         "on the smaller forest are in the C batch and SQL tables")
    return out


# ---- compile time per target of the newer model families ----------------------------------

TARGET_STEPS = ("load", "lower", "python", "c", "sql", "spark", "postgres")
TARGET_COLUMNS = (*(f"{step} s" for step in TARGET_STEPS), C_BUILD, C_SOURCE, C_LIB,
                  PY_SOURCE, "DuckDB SQL", "Spark SQL", "PostgreSQL SQL", "notes")
CC_TIMEOUT_S = 240.0


def target_row(title: str, path: Path, compiled: Compiled | None, workdir: Path) -> Row:
    """One model: each compile step timed on its own (`compile_each_target`), cc -O2 of
    the C scorec wrote, and the size of every artifact."""
    if compiled is None:
        return Row(tool=title, status="scorec could not compile it (see its tables)")
    times = compile_each_target(path)
    cells = {f"{step} s": significant(times[step]) for step in TARGET_STEPS}
    library = workdir / f"{compiled.name}_cc" / f"{compiled.name}.so"
    library.parent.mkdir(parents=True, exist_ok=True)
    result = run_bounded(cc_command(compiled.file(".c"), library), CC_TIMEOUT_S)
    cells[C_BUILD] = (f"timeout after {CC_TIMEOUT_S:.0f} s" if result.timed_out else
                      significant(result.seconds) if result.returncode == 0 else
                      "cc " + peers.failure(result, memory_cap()))
    if library.exists():
        cells[C_LIB] = size(library.stat().st_size)
    for column, target in ((C_SOURCE, "c"), (PY_SOURCE, "python"), ("DuckDB SQL", "sql"),
                           ("Spark SQL", "spark"), ("PostgreSQL SQL", "postgres")):
        cells[column] = size(compiled.target_bytes(target))
    return Row(tool=title, seconds=sum(times.values()), cells=cells)


def target_table(family: str, compiled: list[tuple[str, Path, Compiled | None]],
                 workdir: Path) -> Table:
    """Compile time per target and artifact sizes of a family's models."""
    out = Table(section=COMPILE, title=f"Compile time per target and size — {family}",
                metrics=(Metric("total s", seconds),), columns=TARGET_COLUMNS)
    for title, path, comp in compiled:
        try:
            out.add(target_row(title, path, comp, workdir))
        except Exception as exc:  # a failure is a result
            out.add(failed(title, exc))
    out.notes += [
        "one run each: load = reading the joblib file, lower = model → IR, then each target "
        "printed on its own (`compile_program` with that target only; `scorec compile` "
        "does load + lower once and then every target, i.e. total s); "
        f"cc with scorec's strict flags (-O2), killed after {CC_TIMEOUT_S:.0f} s"]
    return out
