"""Production settings pass `check --deploy`; every Indonesian catalogue is complete."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({
        "DEBUG": "0", "SECRET_KEY": "x7!kq2-production-like-secret-" + "a9" * 20, "ALLOWED_HOSTS": "sms.example.go.id", "EMAIL_HOST": "mail.example.go.id",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    })
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_secret_key_refused_in_production():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env["DEBUG"] = "0"
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def _without_secret(*argv):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_maintenance_commands_run_without_secret_key():
    result = _without_secret("manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_workers_and_wsgi_refuse_to_start_without_secret_key():
    for argv in (("manage.py", "smsd", "--once"), ("manage.py", "serve", "--no-worker"),
                 ("-c", "import config.wsgi")):
        result = _without_secret(*argv)
        assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr, argv


def po_files():
    return [p for p in ROOT.rglob("locale/id/LC_MESSAGES/django.po") if ".venv" not in p.parts]


def test_indonesian_catalogues_are_complete():
    assert po_files(), "no Indonesian catalogue found"
    problems = []
    for po in po_files():
        text = po.read_text(encoding="utf-8")
        for block in text.split("\n\n")[1:]:
            if not block.strip() or block.lstrip().startswith("#~"):
                continue
            if re.search(r"^#,.*fuzzy", block, re.M):
                problems.append(f"{po}: fuzzy: {block[:120]!r}")
            strings = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block + "\n", re.M)
            for s in strings:
                if "".join(re.findall(r'"(.*)"', s)) == "":
                    problems.append(f"{po}: untranslated: {block[:160]!r}")
    assert problems == []


def test_indonesian_by_default_whatever_the_browser_language_until_english_is_picked(client, db):
    """A browser set to English still gets the Indonesian interface; the ID/EN switch changes it."""
    from django.urls import reverse

    login = reverse("accounts:login")
    page = client.get(login, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="id"' in page and "Masuk" in page
    client.post(reverse("core:set_language"), {"language": "en", "next": login})
    page = client.get(login, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert 'lang="en"' in page
