"""`make run PORT=… HOST=…` reaches `manage.py serve`, which prints the URL its web server really listens on and
refuses, in words, a port another program holds (issue 14, item 10b). Real processes, as in
tests/core/test_serve_supervision.py."""

import re
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.processes import ROOT, process_env, shared_db, stop_process, wait_for  # noqa: F401

BANNER = re.compile(r"ABAH SMS Center is running:\s+(http://\S+)")


def _dry_run(*args: str) -> str:
    done = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,  # noqa: S603, S607
                          env={**process_env("sqlite://"), "PORT": "9999", "HOST": "0.0.0.0"})  # noqa: S104 (the environment make must ignore)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_passes_port_and_host_to_serve():
    assert 'manage.py serve --host "127.0.0.1" --port "8080"' in _dry_run("PORT=8080", "HOST=127.0.0.1")
    assert 'manage.py serve --host "0.0.0.0" --port "8123"' in _dry_run("PORT=8123", "HOST=0.0.0.0")
    # The defaults; an exported PORT/HOST in the shell (set in _dry_run's environment) does not move it.
    assert 'manage.py serve --host "127.0.0.1" --port "8000"' in _dry_run()


@pytest.mark.django_db(transaction=True)
def test_serve_prints_the_url_it_really_listens_on(shared_db, tmp_path):  # noqa: F811
    lines: list[str] = []
    with open(tmp_path / "stderr.log", "w") as err:
        # Port 0: the system chooses; the banner must name the port waitress got, not ":0".
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "serve", "--port", "0", "--host", "127.0.0.1", "--no-worker",
             "--threads", "2"], cwd=ROOT, env=shared_db.env, stdout=subprocess.PIPE, stderr=err, text=True)
        reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
        reader.start()
        try:
            url = wait_for(lambda: next((m[1] for line in list(lines) if (m := BANNER.search(line))), None),
                           timeout=90, message=f"the banner; {lines}")
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url) and not url.endswith(":0/"), url
            with urllib.request.urlopen(url + "akun/masuk/", timeout=10) as response:  # noqa: S310
                assert response.status == 200
        finally:
            stop_process(proc, timeout=30)
            reader.join(timeout=5)


def test_serve_refuses_a_port_in_use_in_words(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = process_env(f"sqlite:///{tmp_path / 'db.sqlite3'}")
        done = subprocess.run([sys.executable, "manage.py", "serve", "--port", str(port), "--no-worker"],  # noqa: S603
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"http://127.0.0.1:{port}/ is in use by another program" in done.stderr
    assert f"make run PORT={port + 1}" in done.stderr
    assert "ABAH SMS Center is running" not in done.stdout
