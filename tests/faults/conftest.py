"""Fixtures of the fault suite: the engine of a run, its throwaway database, the SMSC peer, the throwaway
PostgreSQL cluster. A missing component (smpp34, PostgreSQL binaries, the shared server) is a loud skip, and a
failure under ABAH_REQUIRE_ALL=1 (CI), through tests.conftest._require.

Engines: ``make test`` runs the suite once on SQLite and once on PostgreSQL (DATABASE_URL); each pass runs the
faults on its own engine only, so CI does not run them twice. ABAH_FAULTS_ENGINES=sqlite,postgres (``make
faults``) runs both in one pass. The database-restart faults need PostgreSQL (a throwaway cluster) and run in
the PostgreSQL pass.
"""

import os
import socket

import pytest

from tests.conftest import _require
from tests.faults import pgcluster
from tests.faults.harness import Database
from tests.sms.peers.fixtures import SmscPeer


def selected_engines() -> set[str]:
    configured = os.environ.get("ABAH_FAULTS_ENGINES", "").strip()
    if configured:
        return {name.strip() for name in configured.split(",") if name.strip()}
    url = os.environ.get("DATABASE_URL", "")
    return {"postgres"} if url.startswith(("postgres://", "postgresql://")) else {"sqlite"}


def smpp34_available() -> tuple[bool, str]:
    try:
        import smpp34  # noqa: F401
    except ImportError as error:
        return False, f"smpp34 is not installed ({error}; `make install` installs the dev group): SMPP faults skipped"
    return True, "smpp34"


def shared_postgres_available() -> tuple[bool, str]:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True, "PostgreSQL on 127.0.0.1:5432"
    except OSError as error:
        return False, f"PostgreSQL not reachable on 127.0.0.1:5432 ({error}): PostgreSQL faults skipped"


def use_engine(engine: str) -> None:
    if engine not in selected_engines():
        pytest.skip(f"the {engine} faults run in the {engine} pass (or with ABAH_FAULTS_ENGINES={engine})")
    if engine == "postgres":
        _require(shared_postgres_available)


@pytest.fixture
def database(request, tmp_path):
    """A fresh, migrated database of the test's ``engine`` parameter, removed afterwards."""
    engine = request.getfixturevalue("engine")
    use_engine(engine)
    db = Database(engine, tmp_path).create()
    yield db
    db.drop()


@pytest.fixture
def make_peer(tmp_path):
    """A factory of SMSC peers (``make_peer(ids_from_one=True, no_resend=True)``), each stopped afterwards."""
    _require(smpp34_available)
    peers = []

    def make(**options) -> SmscPeer:
        workdir = tmp_path / f"peer{len(peers)}"
        workdir.mkdir()
        peer = SmscPeer(workdir, **options).start()
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.stop()


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway cluster for the session (each test makes its own database in it); removed at the end."""
    if "postgres" not in selected_engines():
        pytest.skip("the database-restart faults run in the PostgreSQL pass (or with ABAH_FAULTS_ENGINES=postgres)")
    _require(pgcluster.available)
    cluster = pgcluster.PgCluster()
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def cluster_database(pg_cluster, tmp_path):
    """A fresh, migrated database on the throwaway cluster."""
    if not pg_cluster.running:
        pg_cluster.start()
    db = Database("postgres-restart", tmp_path, server=pg_cluster.url("").rstrip("/")).create()
    yield db
    if not pg_cluster.running:
        pg_cluster.start()
    db.drop()
