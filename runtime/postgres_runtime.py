"""Create the functions of NAME.postgres.sql in a PostgreSQL database and score rows with
them (psycopg, the `postgres` extra); and a throwaway local cluster for tests and
benchmarks (`throwaway_cluster`), started with the server's own initdb and pg_ctl."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .scorer import read_manifest
from .sql_runtime import Aborted, EngineScorer


def connect(conninfo: str = "") -> object:
    """An autocommit connection: `conninfo` (a DSN), or libpq's PG* variables."""
    import psycopg

    return psycopg.connect(conninfo, autocommit=True)


def attach(con: object, outdir: str | Path, manifest: dict | None = None) -> dict:
    """Create the scoring functions of `outdir` in the database of `con`."""
    manifest = manifest or read_manifest(outdir)
    for fn in manifest["files"]["postgres"]:
        con.execute((Path(outdir) / fn).read_text(encoding="utf-8"))
    return manifest


class PostgresScorer(EngineScorer):
    """The functions of NAME.postgres.sql, on connection `con` (autocommit)."""

    target = "postgres"

    def __init__(self, outdir: str | Path, manifest: dict, con: object):
        import psycopg

        super().__init__(manifest)
        self.raised = psycopg.errors.RaiseException
        self.con = con
        attach(con, outdir, manifest)

    def load(self, rows: list[list]) -> None:
        kinds = {"index": "integer", "number": "double precision", "string": "text"}
        cols = self.columns(rows)
        names = ", ".join(f'"{name}"' for name, _, _ in cols)
        arrays = ", ".join(f"%s::{kinds[kind]}[]" for _, kind, _ in cols)
        self.con.execute(f"DROP TABLE IF EXISTS {self.table}")
        self.con.execute(f"CREATE TEMP TABLE {self.table} AS SELECT * FROM unnest({arrays}) "
                         f"AS t({names})", [values for _, _, values in cols])

    def rows_of(self, sql: str) -> list[tuple]:
        try:
            return self.con.execute(sql).fetchall()
        except self.raised as exc:
            raise Aborted(exc.diag.message_primary or str(exc)) from None

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.table}")


def _server_tool(name: str) -> str | None:
    """initdb / pg_ctl: on PATH, else in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A new PostgreSQL cluster in a temporary directory, listening only on a Unix socket
    there; yields its conninfo and removes everything on exit. As root, the server runs
    as the `postgres` user (PostgreSQL refuses to run as root)."""
    initdb, pg_ctl = _server_tool("initdb"), _server_tool("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) not found: install "
                           "PostgreSQL (e.g. apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="scorec-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o",
            f"-p {port} -k {root} -c listen_addresses='' -c fsync=off", "start")
        try:
            yield f"host={root} port={port} user=postgres dbname=postgres"
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"starting a PostgreSQL cluster failed: {exc.stderr}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
