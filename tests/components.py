"""Which real components this machine has for the test suite; printed by `make test` before pytest runs.

A test that needs a missing component is skipped with a loud reason; with ABAH_REQUIRE_ALL=1 (CI) a missing
component fails the run instead, so nothing is skipped there.
"""

import os
import shutil
import socket
import sys

CHROMIUM = os.environ.get("ABAH_CHROMIUM", "/usr/bin/chromium")


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def postgres_available() -> tuple[bool, str]:
    url = database_url()
    if not url.startswith(("postgres://", "postgresql://")):
        return False, "DATABASE_URL is not PostgreSQL: PostgreSQL-only tests (SKIP LOCKED, concurrent workers) are skipped"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True, "PostgreSQL reachable"
    except OSError as error:
        return False, f"PostgreSQL not reachable on 127.0.0.1:5432 ({error})"


def chromium_available() -> tuple[bool, str]:
    if os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return True, f"Chromium at {CHROMIUM}"
    return False, f"Chromium not found at {CHROMIUM} (apt-get install chromium): browser tests are skipped"


def gammu_available() -> tuple[bool, str]:
    path = shutil.which("gammu-smsd")
    if path:
        return True, f"gammu-smsd at {path}"
    return False, "gammu-smsd not found (apt-get install gammu-smsd libdbd-sqlite3): Gammu tests are skipped"


def node_available() -> tuple[bool, str]:
    path = shutil.which("node")
    if path:
        return True, f"node at {path} (the JS segment counter is checked against the Python module)"
    return False, "node not found (apt-get install nodejs): the JS counter test is skipped"


def libreoffice_available() -> tuple[bool, str]:
    path = shutil.which("libreoffice") or shutil.which("soffice")
    if path:
        return True, f"LibreOffice at {path} (exports are opened in a spreadsheet: no formula is evaluated)"
    return False, ("LibreOffice not found (apt-get install --no-install-recommends libreoffice-calc-nogui): the check "
                   "that a spreadsheet opens exports without evaluating a formula is skipped")


COMPONENTS = {
    "chromium": chromium_available,
    "postgres": postgres_available,
    "gammu": gammu_available,
    "node": node_available,
    "libreoffice": libreoffice_available,
}


def main() -> int:
    required = os.environ.get("ABAH_REQUIRE_ALL") == "1"
    missing = []
    print("Real components for the test suite:")
    for name, probe in COMPONENTS.items():
        ok, detail = probe()
        if name == "postgres" and not database_url().startswith(("postgres://", "postgresql://")):
            print(f"  [ -- ] {name:<11} not used in this run (SQLite); CI runs the suite on PostgreSQL too")
            continue
        print(f"  [{' ok ' if ok else 'MISS'}] {name:<11} {detail}")
        if not ok:
            missing.append(name)
    if missing:
        banner = "!" * 72
        print(banner)
        print(f"  MISSING: {', '.join(missing)} - the tests that need them will be SKIPPED.")
        print(banner)
        if required:
            print("ABAH_REQUIRE_ALL=1: refusing to run with missing components.")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
