"""manage.py smsd restarts its daemon from its own failures: the process manager sees an exit only on a
configuration error. A real smsd process, a gateway that raises out of the daemon the first time (failing_backend)."""

import subprocess
import sys

import pytest

from tests.processes import ROOT, gateways_json, process_env, shared_db, stop_process, wait_for  # noqa: F401

BACKEND = "tests.sms.failing_backend.FailsOnceBackend"
QUEUE = ("from abah.sms import services; "
         "services.queue_message(to='081230900095', text='Kode Anda 1234', kind='code', idempotency_key='restart:1')")


def start_smsd(db, log_path, *args):
    env = process_env(db.url, SMS_GATEWAYS=gateways_json(BACKEND, dlr_delay=[0, 0]))
    log = open(log_path, "w")  # noqa: SIM115 - the child writes it; closed when the test ends
    proc = subprocess.Popen([sys.executable, "manage.py", "smsd", "--worker-id", "w-restart", "--interval", "0.1",  # noqa: S603
                             "--max-seconds", "120", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def message_status(db) -> str:
    rows = db.rows("SELECT status FROM sms_message WHERE idempotency_key = %s", ("restart:1",))
    return rows[0][0] if rows else ""


@pytest.mark.django_db(transaction=True)
def test_smsd_restarts_its_daemon_after_an_unexpected_error_and_sends(shared_db, tmp_path):  # noqa: F811
    shared_db.shell(QUEUE)
    proc, log = start_smsd(shared_db, tmp_path / "smsd.log")
    try:
        def sent_or_exited():
            return message_status(shared_db) in ("sent", "delivered") or proc.poll() is not None

        wait_for(sent_or_exited, timeout=60, message="the message to be sent")
        assert message_status(shared_db) in ("sent", "delivered"), (tmp_path / "smsd.log").read_text()
        assert proc.poll() is None  # still running
        output = (tmp_path / "smsd.log").read_text()
        assert "RuntimeError: the gateway library broke" in output  # logged with its traceback …
        assert "Traceback (most recent call last)" in output
        assert "restarting the daemon in 1 s (restart 1)" in output  # … and counted
        assert shared_db.rows("SELECT count(*) FROM sms_simulatordelivery")[0][0] == 1
        heartbeat = wait_for(lambda: shared_db.rows(
            "SELECT state, last_error FROM sms_workerheartbeat WHERE worker = %s", ("w-restart",)), timeout=30,
            message="the worker's heartbeat")
        assert heartbeat[0][0] == "running"
        assert heartbeat[0][1].startswith("Restarted after an error: RuntimeError: the gateway library broke")
    finally:
        code = stop_process(proc)
        log.close()
    assert code == 0  # SIGTERM: a clean stop, as before


@pytest.mark.django_db(transaction=True)
def test_no_restart_keeps_the_old_behaviour(shared_db, tmp_path):  # noqa: F811
    shared_db.shell(QUEUE)
    proc, log = start_smsd(shared_db, tmp_path / "smsd.log", "--no-restart")
    try:
        code = proc.wait(timeout=60)
    finally:
        stop_process(proc)
        log.close()
    output = (tmp_path / "smsd.log").read_text()
    assert code == 1 and "RuntimeError: the gateway library broke" in output
    assert message_status(shared_db) == "queued"


@pytest.mark.django_db(transaction=True)
def test_a_configuration_error_still_ends_the_command(shared_db, tmp_path):  # noqa: F811
    env = process_env(shared_db.url, SMS_ROUTES='{"code": ["nowhere"]}')
    done = subprocess.run([sys.executable, "manage.py", "smsd", "--max-seconds", "30"], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120)
    # It exits at once, so that systemd sees the configuration error; no restart loop hides it.
    assert done.returncode != 0, done.stdout + done.stderr
    assert "ImproperlyConfigured" in done.stderr and "unknown gateway" in done.stderr
    assert "restarting the daemon" not in done.stderr + done.stdout
