"""What every benchmark's parent process shares: options, and a child process per engine on a throwaway
database (a temporary SQLite file; a fresh PostgreSQL database on 127.0.0.1:5432, dropped afterwards)."""

import json
import os
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def option(argv, name: str, default: str) -> str:
    """The value of ``--name=value`` in argv, else the default."""
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


@contextmanager
def throwaway_database(engine: str):
    """Yield a DATABASE_URL for a fresh database of the engine ("sqlite", else PostgreSQL); remove it after."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="abah-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    import psycopg

    name = f"abah_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def run_engine(module: str, engine: str, args: list[str]) -> dict | None:
    """``python -m <module> --child <args> --out=<file>`` on a throwaway database of the engine, its output
    shown as it goes; the dict the child wrote, {"failed": True} if it failed, None if the engine is missing."""
    if engine != "sqlite" and not postgres_reachable():
        print(f"  {engine}: not available (nothing listens on 127.0.0.1:5432)")
        return None
    env = {**os.environ, "DEBUG": "1", "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "AXES_ENABLED": "0",
           "LOG_LEVEL": "WARNING"}
    env.pop("TEST_DATABASE_NAME", None)
    with throwaway_database(engine) as url, tempfile.TemporaryDirectory(prefix="abah-bench-") as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run(  # noqa: S603
            [sys.executable, "-m", module, "--child", *args, f"--out={out}"], cwd=BASE_DIR,
            env={**env, "DATABASE_URL": url}, timeout=3600, check=False)
        if proc.returncode != 0 or not out.exists():
            print(f"  {engine}: child failed (exit {proc.returncode})")
            return {"failed": True}
        return json.loads(out.read_text())


def per_engine(module: str, argv, args: list[str], heading: str):
    """(engine, data) for each engine asked for (``--engine=…``, else SQLite then PostgreSQL), after printing
    ``-- engine: heading``; data is the child's dict, or None when the child failed. A missing engine is
    skipped (run_engine says so)."""
    engines = [option(argv, "engine", "")] if option(argv, "engine", "") else ["sqlite", "postgres"]
    for engine in engines:
        print(f"-- {engine}: {heading}", flush=True)
        data = run_engine(module, engine, args)
        if data is not None:
            yield engine, None if data.get("failed") else data
