"""Shared fixtures: users of each role, a logged-in client, and Playwright on Debian's Chromium."""

import itertools
import os
from pathlib import Path

import pytest

from tests import components

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by tests are still
# synchronous, so Django's async-safety guard must not refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "Rahasia-Kuat-2026"


@pytest.fixture(autouse=True)
def _settings_for_tests(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AXES_ENABLED = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The send window's holidays are off unless a test sets them (a run on 25 December holds no text); setting it
    # also clears the cached window (abah.sms.conf.send_window), so no test sees the last one's.
    settings.SMS_SEND_HOLIDAYS = "none"
    from django.core.cache import cache

    cache.clear()  # counters kept in the cache (the registration throttle) start at zero in every test


@pytest.fixture(autouse=True)
def _site_language():
    """Every test starts in the site's language (Indonesian): a request or test that switched to English must not
    leak into the next test's translated messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


_phone_serial = itertools.count(1)


def synthetic_phone() -> str:
    """A unique, valid Indonesian mobile number for test users (+62 813 ...)."""
    return f"+62813{os.getpid() % 1000:03d}{next(_phone_serial):05d}"


def make_user(username, *, role="petugas", active=True, **extra):
    """A user; approved users get a verified phone by default (pass phone="" to get one without)."""
    from django.utils import timezone

    from abah.accounts.models import User

    if role and "phone" not in extra:
        extra["phone"] = synthetic_phone()
        extra.setdefault("phone_verified_at", timezone.now())

    defaults = {
        "email": f"{username}@example.test",
        "first_name": username.capitalize(),
        "last_name": "Test",
        "role": role,
        "is_active": active,
        "approved_at": timezone.now() if role else None,
    }
    defaults.update(extra)
    user = User(username=username, **defaults)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def admin_user(db):
    return make_user("adminuser", role="admin", phone="+6281230900011", phone_verified_at=_now())


@pytest.fixture
def petugas(db):
    return make_user("petugasa", role="petugas", phone="+6281230900012", phone_verified_at=_now())


@pytest.fixture
def petugas2(db):
    return make_user("petugasb", role="petugas", phone="+6281230900013", phone_verified_at=_now())


def _now():
    from django.utils import timezone

    return timezone.now()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def petugas_client(client, petugas):
    client.force_login(petugas)
    return client


# ---------------------------------------------------------------- browser


def _require(probe):
    ok, detail = probe()
    if not ok:
        if os.environ.get("ABAH_REQUIRE_ALL") == "1":
            pytest.fail(f"required component missing: {detail}")
        pytest.skip(f"MISSING COMPONENT: {detail}")


@pytest.fixture(scope="session")
def chromium():
    _require(components.chromium_available)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=components.CHROMIUM,
            args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID", timezone_id="Asia/Jakarta")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base_url = live_server.url
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def browser_login(page, username, password=PASSWORD):
    page.goto(page.base_url + "/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.fixture
def require_postgres():
    """PostgreSQL-only behaviour (SKIP LOCKED across connections): runs in the PostgreSQL pass of CI.

    On the SQLite pass it is not a missing component but another engine, so it is skipped there even in CI;
    when DATABASE_URL is PostgreSQL and the server is unreachable, that is a missing component."""
    if not components.database_url().startswith(("postgres://", "postgresql://")):
        pytest.skip("PostgreSQL-only test: runs when DATABASE_URL is PostgreSQL (the second pass of .ci/run)")
    _require(components.postgres_available)


# ---------------------------------------------------------------- SMS gateway for service tests

LOCMEM = {"default": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend", "OPTIONS": {}}}


@pytest.fixture
def locmem_gateway(settings, monkeypatch):
    """The in-memory gateway (tests read ``locmem.outbox`` and feed reports), sending at any hour."""
    from abah.sms.backends import locmem

    monkeypatch.delenv("SMS_GATEWAY_BACKEND", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_OPTIONS", raising=False)
    settings.SMS_GATEWAYS = LOCMEM
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    locmem.reset()
    yield locmem
    locmem.reset()
