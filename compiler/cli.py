"""`scorec compile | verify | inspect`.

Errors print one line and exit 2 (a traceback only with --debug); a failed verification
prints the report and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import TARGETS, compile_file
from .registry import CompileError, rule_of


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scorec", description="Compile fitted scikit-learn "
                                "pipelines to Python, C99 and DuckDB SQL, proven equal.")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compile", help="compile MODEL into OUTDIR")
    c.add_argument("model")
    c.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    c.add_argument("--name", help="artifact name (default: the model file's stem)")
    c.add_argument("--target", action="append", choices=TARGETS,
                   help="target to emit (repeatable; default: all)")
    c.add_argument("--c-float", choices=("double", "float"), default="double")
    v = sub.add_parser("verify", help="check every artifact in OUTDIR against MODEL")
    v.add_argument("model")
    v.add_argument("outdir")
    v.add_argument("--data", help="CSV or Parquet rows to check (plus generated rows)")
    v.add_argument("--examples", type=int, default=500,
                   help="generated adversarial rows (default 500)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--postgres", metavar="DSN",
                   help="database to run the PostgreSQL artifact in (default: libpq's PG* "
                   "variables if set, else a throwaway local cluster)")
    i = sub.add_parser("inspect", help="show MODEL's input schema and steps")
    i.add_argument("model")
    for sp in (c, v, i):
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    return p


def _compile(args: argparse.Namespace) -> int:
    targets = tuple(dict.fromkeys(args.target)) if args.target else TARGETS
    manifest = compile_file(args.model, args.output, args.name, targets, args.c_float)
    files = ", ".join(f for fs in manifest["files"].values() for f in fs)
    print(f"compiled {manifest['name']} ({manifest['task']}, "
          f"{len(manifest['features'])} features) -> {args.output}: {files}, manifest.json")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from scorec.runtime.scorer import read_manifest
    from scorec.runtime.verify import check_files, generate_rows, read_rows, verify_dir

    from .load import load_model, sha256_file
    from .lower import lower_model

    try:
        manifest = read_manifest(args.outdir)
    except FileNotFoundError as exc:
        raise CompileError(str(exc)) from None
    model = load_model(args.model)
    if sha256_file(Path(args.model)) != manifest["model_sha256"]:
        raise CompileError(f"{args.outdir} was compiled from a different model "
                           "(model_sha256 differs): recompile it")
    program = lower_model(model)
    problems = check_files(args.outdir, manifest)
    if problems:
        print("\n".join(f"FAILED: {p}" for p in problems))
        return 1
    base = None
    if args.data:
        try:
            base = read_rows(args.data, program.features)
        except (FileNotFoundError, ValueError) as exc:
            raise CompileError(str(exc)) from None
    rows = list(base or []) + generate_rows(program, max(args.examples, 0), args.seed, base)
    report = verify_dir(model, program, args.outdir, rows, manifest, args.postgres)
    print(report.format(program.features))
    return 0 if report.ok else 1


def _describe(obj: object, indent: int, lines: list[str], label: str) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    pad = "  " * indent
    if isinstance(obj, str):
        lines.append(f"{pad}{label}{obj}")
        return
    ok = rule_of(obj) is not None
    mark = "supported" if ok else "NOT SUPPORTED"
    lines.append(f"{pad}{label}{type(obj).__name__}  [{mark}]")
    if isinstance(obj, Pipeline):
        for name, step in obj.steps:
            _describe(step if step is not None else "passthrough", indent + 1, lines,
                      f"{name}: ")
    elif isinstance(obj, ColumnTransformer):
        names = getattr(obj, "feature_names_in_", None)
        for name, trans, _ in getattr(obj, "transformers_", obj.transformers):
            idx = getattr(obj, "_transformer_to_input_indices", {}).get(name, [])
            cols = [str(names[i]) if names is not None else f"x{i}" for i in idx]
            _describe(trans, indent + 1, lines, f"{name} {cols}: ")


def _inspect(args: argparse.Namespace) -> int:
    from .load import load_model
    from .lower import input_names, lower_model

    model = load_model(args.model)
    lines = ["steps:"]
    _describe(model, 1, lines, "")
    try:
        program = lower_model(model)
        schema = [f"  {f.name!r}: {f.kind}" for f in program.features]
        verdict = (f"compiles: yes ({program.task}; outputs: "
                   f"{', '.join(program.outputs)})")
    except CompileError as exc:
        schema = [f"  {n!r}" for n in input_names(model)]
        verdict = f"compiles: no: {exc}"
    print("\n".join(["inputs (in order):", *schema, *lines, verdict]))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"compile": _compile, "verify": _verify, "inspect": _inspect}
    try:
        return handlers[args.command](args)
    except (CompileError, OSError, RuntimeError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"scorec: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
