"""Hostile input over every view (issue 13): every URL pattern of the project, as Admin and as Petugas, GET with
hostile query parameters and POST with hostile form values, from a table and from hypothesis.

Asserted for every request: no HTTP 500 (the test client does not re-raise; the status is counted), no redirect
off this site; for a POST that answers an error (anything but a redirect or an htmx success), no row written
(row counts of every model, audit entries and sessions aside, before and after).

Which parameters a view reads is found in its source (and the same-module helpers it calls): ``request.GET.get``,
``param(request.GET, …)``, ``id_param`` / ``date_param`` / ``ids_param``, and the fields of the forms it builds.
Every view gets each of those names alone with each sharp value, and all names at once with every value of the
table. The count of distinct (name, value) inputs × endpoints is printed at the end of the module
(``pytest -s``) and checked to be several hundred.
"""

import datetime
import inspect
import re
from collections import Counter
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abah.core.access import required_role

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------- the table of hostile values
# Each value as sent: text (percent-encoded when sent) or, for bytes no text can hold, a raw encoded form.
RAW_SURROGATE = "%ED%A0%80"  # a lone surrogate, as UTF-8 bytes: invalid
RAW_NUL = "%00"
VALUES = [
    "²", "١٢", "10" + "0" * 24, str(2**63), str(2**63 - 1), "-1", "0", "-0", "1.5", "1e3", "NaN",
    "9999-12-31", "0001-01-01", "2026-13-45", "2026-02-30", "31 Desember 9999",
    "\x00", "a\x00b", "%00", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "😀🇮🇩",
    "https://evil.example", "//evil.example", "javascript:alert(1)", "/\\evil.example",
    "{{ 7*7 }}", "\r\nSet-Cookie: x=1", "", " ", "ｆｕｌｌ", "\u202eabc", "x" * 4096,
    RAW_SURROGATE, RAW_NUL,
]
RAW = {RAW_SURROGATE, RAW_NUL}
# Sent to each parameter alone (the full table goes to all parameters at once).
SHARP = ["²", "10" + "0" * 24, "-1", "2026-13-45", "\x00", "//evil.example", RAW_SURROGATE]
BIG = "x" * 200 * 1024
SHARP_POST = ["²", "10" + "0" * 24, "9999-12-31", "https://evil.example", RAW_SURROGATE]
# The names the brief lists, asked of every view in the all-at-once requests.
COMMON = ["before", "since", "to", "hibah", "ids", "from", "until", "q", "page", "kind", "status", "next",
          "thread", "o", "scope", "export", "partial", "number", "state", "date_from", "date_to"]

SKIP = {"accounts:logout", "core:set_language"}  # ends the session / Django's own view

# ---------------------------------------------------------------- the URL patterns and what each view reads


def _iter_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _iter_patterns(entry, prefix + str(entry.pattern), entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


_READ = re.compile(r"""(GET|POST|params|data)\.get(?:list)?\(\s*["'](\w+)["']""")
_PARAM = re.compile(r"""\w*param\(\s*(?:request\.)?(\w+),\s*["'](\w+)["']""")
_FORM = re.compile(r"""\b((?:forms\.)?[A-Z]\w*Form)\((request\.GET)?""")


def _source_of(fn) -> tuple[str, dict]:
    module = inspect.getmodule(fn)
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return "", {}
    namespace = vars(module) if module else {}
    for name in getattr(getattr(fn, "__code__", None), "co_names", ()):
        helper = namespace.get(name)
        if inspect.isfunction(helper) and helper.__module__ == module.__name__ and helper is not fn:
            try:
                source += inspect.getsource(helper)
            except (OSError, TypeError):
                pass
    return source, namespace


def _form_fields(expr: str, namespace: dict) -> set[str]:
    obj = namespace.get(expr.split(".")[0])
    if "." in expr and obj is not None:
        obj = getattr(obj, expr.split(".")[1], None)
    fields = getattr(obj, "base_fields", None)
    return set(fields) if fields else set()


def names_read(callback) -> tuple[set[str], set[str]]:
    """(names read from the query string, names read from a POST body) by a view, from its source."""
    fn = inspect.unwrap(callback)
    view_class = getattr(callback, "view_class", None)
    source, namespace = _source_of(fn)
    if view_class is not None:
        source += "".join(_source_of(m)[0] for m in vars(view_class).values() if inspect.isfunction(m))
        namespace = vars(inspect.getmodule(view_class))
        form_class = getattr(view_class, "form_class", None)
        fields = set(getattr(form_class, "base_fields", {}) or {})
    else:
        fields = set()
    get, post = set(), set(fields)
    for where, name in _READ.findall(source) + _PARAM.findall(source):
        (post if where == "POST" else get).add(name)
    for expr, from_query in _FORM.findall(source):
        (get if from_query else post).update(_form_fields(expr, namespace))
    return get, post | get


# ---------------------------------------------------------------- a world for the views to find


@pytest.fixture
def world(db, admin_user, petugas, locmem_gateway, settings):
    from abah.automation.models import SmsTemplateVersion
    from abah.automation.services import ensure_templates
    from abah.grants.messaging import institution_conversation
    from abah.grants.models import Grant
    from abah.notifications import services as notes
    from abah.nphd import services as nphd_services
    from abah.sms import services as sms
    from tests.conftest import make_user
    from tests.grants.conftest import make_grant, make_institution

    settings.ABAH_SMS_INFO_PHONE = "(031) 3524001"
    ensure_templates()
    institution = make_institution("Yayasan Nurul Huda", phone="081230900095")
    grant = make_grant(institution, petugas=petugas, status=Grant.Status.DITETAPKAN, year=2026,
                       lpj_due_date=datetime.date(2027, 1, 10))
    Grant.objects.filter(pk=grant.pk).update(sk_number="188/45/KPTS/013/2026")
    owing = make_grant(make_institution("Masjid Al-Ikhlas", phone="085730900096"), petugas=petugas,
                       status=Grant.Status.LPJ_MENUNGGU, year=2025, lpj_due_date=datetime.date(2026, 1, 10))
    grant.refresh_from_db()
    invitation = nphd_services.invitation_create(
        grant=grant, date=datetime.date.today() + datetime.timedelta(days=7), phone="081230900095",
        person="Ahmad Fauzi", region="ID", by=petugas)
    conversation = institution_conversation(institution)
    sms.queue_message(to="081230900095", text="Halo", kind="manual", conversation=conversation)
    sms.receive_message(number="081230900077", text="Siapa ini?")
    pending = make_user("calon", role="", active=False)
    notification = notes.notify(user=petugas, kind="contact_changed", text="Ada tugas", url="/hibah/cari/")
    notes.notify(user=admin_user, kind="contact_changed", text="Ada tugas", url="/hibah/cari/")
    internal = notes.message_send(sender=admin_user, recipients=[petugas], subject="Rapat", body="Besok")
    version = SmsTemplateVersion.objects.order_by("pk").first()
    return {
        "grant": grant, "owing": owing, "institution": institution, "invitation": invitation,
        "appointment": invitation.appointment, "conversation": conversation, "pending": pending,
        "notification": notification, "internal": internal, "version": version,
    }


def _kwargs(name: str, route: str, world, role: str) -> dict:
    """Real objects for a pattern's arguments, so that views get past their lookups."""
    app, view = name.split(":")
    by_view = {
        "nphd": {"invitation_edit": "invitation", "invitation_cancel": "invitation", "invitation_resend": "invitation"},
        "grants": {"institution_detail": "institution", "contact_edit": "institution",
                   "institution_messages": "institution"},
        "accounts": {},
        "notifications": {"open": "notification", "message_detail": "internal", "reply": "internal"},
        "automation": {"template_restore": "version", "reminder_pause": "owing"},
    }
    default = {"nphd": "appointment", "grants": "grant", "sms": "conversation", "accounts": "pending"}
    kwargs = {}
    for arg in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if arg == "pk":
            key = by_view.get(app, {}).get(view) or default.get(app)
            obj = world.get(key) if key else None
            kwargs[arg] = obj.pk if obj is not None else 1
        elif arg == "grant_pk":
            kwargs[arg] = world["grant"].pk
        elif arg == "stage":
            kwargs[arg] = 1
        elif arg == "kind":
            kwargs[arg] = "lpj_billing"
        else:
            kwargs[arg] = "x"
    if name == "core:media":
        kwargs["path"] = "../../etc/passwd"
    return kwargs


PATTERNS = [(f"{ns}:{p.name}", route, p) for route, p, ns in _iter_patterns()
            if f"{ns}:{p.name}" not in SKIP]


# ---------------------------------------------------------------- sending and checking

TALLY: Counter = Counter()  # (kind) -> requests
INPUTS: set = set()  # distinct (endpoint, name, value)
STATUSES: Counter = Counter()
UNCOUNTED = {"audit", "sessions"}  # audit entries are written by design (searches, failures); sessions change


def _encode(value: str) -> str:
    return value if value in RAW else quote(value, safe="")


def _query(pairs) -> str:
    return "&".join(f"{quote(name)}={_encode(value)}" for name, value in pairs)


def _fingerprint() -> tuple:
    models = [m for m in apps.get_models() if m._meta.app_label not in UNCOUNTED and m._meta.managed
              and not m._meta.proxy]
    tables = sorted({m._meta.db_table for m in models})
    select = ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(t)})" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select}")
        return tuple(zip(tables, cursor.fetchone(), strict=True))


def _check(response, what: str):
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, f"{what}: HTTP {response.status_code}"
    location = response.get("Location") or response.get("HX-Redirect") or ""
    if location:
        assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"}), f"{what}: off-site {location}"


def _succeeded(response) -> bool:
    """A POST that did what it was asked (a redirect, or an htmx answer that says so)."""
    return (response.status_code in (301, 302, 303) or response.has_header("HX-Refresh")
            or response.has_header("HX-Redirect") or "sms-sent" in response.get("HX-Trigger", ""))


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


ROTATION = 6  # values of the table each (view, role, method) gets with every name at once


def _share(values, role, index):
    """A window of the table, turning from view to view and different for Admin and Petugas: every value reaches
    many views with every name at once, and the walk stays short (each view × value × name would take minutes)."""
    start = (index * ROTATION + (0 if role == "admin" else len(values) // 2)) % len(values)
    return [values[(start + k) % len(values)] for k in range(ROTATION)]


def _get_requests(get_names, post_names, role, forbidden, index):
    every = sorted(get_names | set(COMMON))
    if forbidden:  # refused before any parameter is read
        yield [(n, SHARP[0]) for n in every]
        return
    if role == "admin":  # each name the view reads from the query, alone, with each sharp value
        for name in sorted(get_names):
            for value in SHARP:
                yield [(name, value)]
        yield [("q", BIG)]
    for value in _share(VALUES, role, index):  # every name at once
        yield [(n, value) for n in every]


def _post_bodies(get_names, post_names, role, index):
    every = sorted(post_names | set(COMMON))
    if role == "admin":
        for field in sorted(post_names):
            for value in SHARP_POST:
                yield {field: value}, field, value
        yield {n: BIG for n in sorted(post_names) or ["text"]}, "*", "200 KB"
        yield {n: [BIG[:1000], "²", "-1"] for n in every}, "*", "list"
    for value in _share(VALUES, role, index):
        yield {n: value for n in every}, "*", value


def _post(client, path, body, value):
    if value == RAW_SURROGATE:  # a form body with invalid UTF-8
        payload = "&".join(f"{quote(k)}={RAW_SURROGATE}" for k in body)
        return client.post(path, payload, content_type="application/x-www-form-urlencoded")
    return client.post(path, {k: ("\x00" if v == RAW_NUL else v) for k, v in body.items()})


def _walk(world, user, role, method):
    client = _client(user)
    failures = []
    for index, (name, route, pattern) in enumerate(PATTERNS):
        path = reverse(name, kwargs=_kwargs(name, route, world, role))
        get_names, post_names = names_read(pattern.callback)
        forbidden = required_role(pattern.callback) == "admin" and role != "admin"
        try:
            if method == "GET":
                for inputs in _get_requests(get_names, post_names, role, forbidden, index):
                    _check(client.get(f"{path}?{_query(inputs)}"), f"GET {name} {str(inputs[0])[:40]}…")
                    INPUTS.update((name, "GET", n, v) for n, v in inputs)
                    TALLY["get"] += 1
                continue
            probe = client.post(path, {})
            _check(probe, f"POST {name} (empty)")
            TALLY["post"] += 1
            if probe.status_code == 405:
                continue
            if forbidden:
                assert probe.status_code == 403, f"POST {name}: a Petugas got {probe.status_code}"
                continue
            before = _fingerprint()
            for body, field, value in _post_bodies(get_names, post_names, role, index):
                response = _post(client, path, body, value)
                what = f"POST {name} {field}={str(value)[:20]!r}"
                _check(response, what)
                INPUTS.update((name, "POST", k, str(value)) for k in body)
                TALLY["post"] += 1
                after = _fingerprint()
                if not _succeeded(response):
                    assert after == before, f"{what} answered {response.status_code} but wrote rows: " \
                        f"{[(a, b) for a, b in zip(before, after, strict=True) if a != b]}"
                before = after
                if not client.session.get("_auth_user_id"):  # a view that ended the session: log in again
                    client.force_login(user)
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
            client = _client(user)
    return failures


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("role", ["admin", "petugas"])
def test_every_view_refuses_hostile_input(world, admin_user, petugas, role, method):
    failures = _walk(world, admin_user if role == "admin" else petugas, role, method)
    assert failures == [], "\n".join(failures)


# ---------------------------------------------------------------- hypothesis: generated text and integers

GENERATED = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.dates(min_value=datetime.date(1, 1, 1)).map(lambda d: d.isoformat()),
    st.from_regex(r"[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),
)
ENDPOINTS = [("sms:message_list", ["before", "thread", "from", "to", "q"]),
             ("sms:conversation_thread", ["since"]), ("sms:conversation_older", ["before"]),
             ("notifications:compose", ["to"]), ("grants:contact_edit", ["hibah"]),
             ("nphd:appointment_list", ["date_from", "date_to", "page"]), ("grants:search", ["q", "page"])]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(value=GENERATED, post=st.one_of(GENERATED, st.lists(GENERATED, max_size=4)))
def test_generated_values_never_answer_500(world, admin_user, value, post):
    client = _client(admin_user)
    for name, params in ENDPOINTS:
        path = reverse(name, kwargs=_kwargs_for(name, world))
        for param in params:
            _check(client.get(f"{path}?{_query([(param, value)])}"), f"GET {name} {param}={value!r}")
            INPUTS.add((name, "GET", param, value))
    conversation = world["conversation"]
    before = _fingerprint()
    response = client.post(reverse("sms:conversation_send", args=[conversation.pk]), {"text": "", "since": value})
    _check(response, f"POST kirim since={value!r}")
    assert _fingerprint() == before  # an empty text is refused whatever since says: nothing queued
    response = client.post(reverse("nphd:bulk_action"), {"action": "process", "ids": post})
    _check(response, f"POST nphd bulk ids={post!r}")
    response = client.post(reverse("notifications:compose"), {"recipients": post, "subject": "", "body": ""})
    _check(response, f"POST compose recipients={post!r}")
    assert _fingerprint() == before


def _kwargs_for(name, world):
    route = next(r for n, r, _p in PATTERNS if n == name)
    return _kwargs(name, route, world, "admin")


def test_zz_report_count(capsys):
    """Runs after the walk (same module, named last): the suite sent several hundred distinct inputs."""
    if not INPUTS:
        pytest.skip("the walk did not run in this session")
    endpoints = len({i[0] for i in INPUTS})
    with capsys.disabled():
        print(f"\nhostile input: {len(INPUTS)} distinct (endpoint, method, name, value) inputs over {endpoints} "
              f"endpoints; {TALLY['get']} GET + {TALLY['post']} POST requests; statuses {dict(sorted(STATUSES.items()))}")
    assert len(INPUTS) >= 500
