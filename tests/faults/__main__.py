"""``make faults`` (``python -m tests.faults``): the fault suite at full size, on SQLite and PostgreSQL, with one
line of figures per fault at the end.

Options: --messages=10000 (ABAH_FAULTS_MESSAGES), --engines=sqlite,postgres (ABAH_FAULTS_ENGINES), and any
other argument goes to pytest (``-k kill``, ``-x``). The whole tests/faults directory runs, the Gammu faults
included. Exit status: pytest's.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def option(argv: list[str], name: str, default: str) -> tuple[str, list[str]]:
    value, rest = default, []
    for arg in argv:
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest


def main(argv: list[str]) -> int:
    count, argv = option(argv, "messages", os.environ.get("ABAH_FAULTS_MESSAGES", "10000"))
    engines, argv = option(argv, "engines", os.environ.get("ABAH_FAULTS_ENGINES", "sqlite,postgres"))
    with tempfile.TemporaryDirectory(prefix="abah-faults-") as tmp:
        report = Path(tmp) / "report.jsonl"
        env = {**os.environ, "DEBUG": "1", "ABAH_FAULTS_MESSAGES": count, "ABAH_FAULTS_ENGINES": engines,
               "ABAH_FAULTS_REPORT": str(report)}
        print(f"fault suite: {count} messages per run, engines {engines}", flush=True)
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/faults", "-p", "no:warnings", "-q", "-rfEs",
                               "--tb=line", *argv], cwd=ROOT, env=env, check=False)
        lines = []
        if report.exists():
            lines = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    print()
    print("=" * 100)
    print(f"Fault suite figures ({count} messages per run; targets: lost=0, duplicates <= in flight at kills "
          f"and <= window*kills, 0 on SMSC/database restarts, worker_exits=0, web_down=0.0s)")
    for record in lines:
        print(record["line"])
    if not lines:
        print("(no fault produced figures)")
    print("=" * 100)
    print("PASS" if proc.returncode == 0 else f"FAIL (pytest exit {proc.returncode}: see the failures above)")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
