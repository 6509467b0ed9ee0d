"""Issue 13, finding 9 and the Content-Security-Policy: Indonesian 400/403/404/500 pages (the 500 page renders with
no database), a policy with a per-request nonce and no 'unsafe-inline' / 'unsafe-eval', and no template that the
policy would break (inline handlers, style="" attributes, javascript: links, hx-on, eval'd hx-trigger filters)."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.decorators import login_not_required
from django.test import Client, RequestFactory
from django.urls import path, reverse

ROOT = Path(__file__).resolve().parents[2]


@login_not_required
def _boom(request):
    raise RuntimeError("the database went away")


urlpatterns = [path("boom/", _boom)]


def template_files():
    folders = [ROOT / "templates", *sorted((ROOT / "abah").glob("*/templates"))]
    return sorted(p for folder in folders for p in folder.rglob("*.html"))


# ---------------------------------------------------------------- error pages


def test_500_page_is_indonesian_and_standalone(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    content = response.content.decode()
    assert "Kesalahan server" in content and "Terjadi kesalahan di sisi kami" in content
    assert "Server Error (500)" not in content
    assert "/static/css/abah.css" in content and "/static/vendor/bootstrap/bootstrap.min.css" in content


def test_500_page_renders_without_the_database():
    """No `db` fixture: pytest-django refuses every database access in this test, as a dead database would."""
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Kesalahan server" in response.content.decode()


def test_400_page_is_indonesian(settings):
    settings.DEBUG = False
    response = Client().get("/", HTTP_HOST="evil.example")  # DisallowedHost → 400
    assert response.status_code == 400
    content = response.content.decode()
    assert "Permintaan tidak valid" in content and "Bad Request" not in content


@pytest.mark.django_db
def test_403_and_404_pages_are_indonesian(petugas_client, settings):
    settings.DEBUG = False
    denied = petugas_client.get(reverse("accounts:user_list"))
    assert denied.status_code == 403 and "Akses ditolak" in denied.content.decode()
    missing = petugas_client.get("/tidak-ada-halaman-ini/")
    assert missing.status_code == 404 and "Halaman tidak ditemukan" in missing.content.decode()


# ---------------------------------------------------------------- Content-Security-Policy


@pytest.mark.django_db
def test_every_page_has_a_policy_with_a_nonce_and_nothing_unsafe(client):
    response = client.get(reverse("accounts:login"))
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    assert directives["script-src"].startswith("'self'")
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # The nonce of the header is the one on the page's scripts (htmx's tag), and it changes on every request.
    assert f'nonce="{nonce}"' in response.content.decode()
    assert nonce not in client.get(reverse("accounts:login")).headers["Content-Security-Policy"]
    # The other security headers are as before.
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_htmx_neither_injects_styles_nor_evals():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base and '"allowEval": false' in base


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)(?![^>]*\snonce=)[^>]*>", re.IGNORECASE)
EVAL_ATTRS = re.compile(r"hx-on|hx-vals=[\"']\s*js:|hx-trigger=\"[^\"]*\[|javascript:", re.IGNORECASE)


def test_no_template_needs_unsafe_inline_or_eval():
    problems = []
    for file in template_files():
        text = file.read_text()
        for name, pattern in [("inline handler", INLINE_HANDLER), ("style attribute", STYLE_ATTR),
                              ("inline script without nonce", INLINE_SCRIPT), ("eval", EVAL_ATTRS)]:
            problems += [f"{file.relative_to(ROOT)}: {name}: {m.group(0)[:80]}" for m in pattern.finditer(text)]
    assert problems == []
    assert len(template_files()) > 50  # the walk found the templates



def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    """README "Production": DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, EMAIL_HOST …; warnings count as failures."""
    import os
    import secrets
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if not key.startswith(("DEBUG", "SECURE_", "DJANGO_"))}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="sms.example.go.id",
               EMAIL_HOST="smtp.example.go.id", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = subprocess.run(  # noqa: S603 — our own manage.py with the interpreter running the tests
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
