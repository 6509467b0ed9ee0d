"""One vocabulary: every page, rendered in Indonesian on the demo data as Admin and as Petugas, carries no English
label of our catalogues (a msgid whose Indonesian differs: a label that was never translated, or rendered outside
the catalogue), no English fallback of Django's own catalogue (Django 6's "- Select an option -" has no Indonesian),
no gateway class name ("SimulatorBackend") and no raw enum value in capitals ("USULAN_DITERIMA").

Pages: GET of every named URL pattern that takes no argument, plus one of each detail page (the table DETAIL below;
a pattern neither walked nor listed in SKIPPED fails the test, so a new page cannot be forgotten). What people
typed (SMS texts, notes, names) is user data and is not scanned: elements marked ``data-user-text`` or with the class
``sms-text``, and the values of form fields.
"""

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.apps import apps
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
DJANGO_CATALOGUES = ("django/conf/locale/en/LC_MESSAGES/django.po",
                     "django/contrib/auth/locale/en/LC_MESSAGES/django.po")

# Patterns with arguments that are not pages (POST-only actions) or need what a page cannot have (a reset token).
SKIPPED = {
    "core:media": "files, not pages",
    "accounts:password_reset_confirm": "needs a token from an e-mail",
    "accounts:user_approve": "POST action", "accounts:user_reject": "POST action", "accounts:user_role": "POST action",
    "accounts:user_deactivate": "POST action", "accounts:user_activate": "POST action",
    "nphd:appointment_cancel": "POST action", "nphd:appointment_resend": "POST action",
    "nphd:invitation_cancel": "POST action", "nphd:invitation_resend": "POST action",
    "automation:template_restore": "POST action", "automation:broadcast_cancel": "POST action",
    "automation:reminder_pause": "POST action",
    "sms:conversation_send": "POST action",
    "notifications:open": "redirects to its target", "notifications:reply": "POST action",
    "notifications:failed_resend": "POST action",
    "sms:callback": "an HTTP SMS provider's callback, not a page",
}
# No-argument URLs that are not pages.
NOT_PAGES = {"core:set_language", "core:health", "accounts:logout"}


def _patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}:{entry.name}" if namespace else entry.name, entry


def _takes_arguments(pattern: URLPattern) -> bool:
    return bool(pattern.pattern.converters) or bool(re.search(r"[(<]", str(pattern.pattern)))


def _demo_objects():
    """One object of each kind the detail pages show, from the demo data (petugas1's, so both roles may open it)."""
    from abah.accounts.models import User
    from abah.automation.models import TemplateKind
    from abah.grants.models import Grant
    from abah.notifications.services import message_send
    from abah.nphd.models import Invitation
    from abah.sms.models import Conversation

    petugas = User.objects.get(username="petugas1")
    admin = User.objects.get(username="admin")
    grant = Grant.objects.filter(petugas=petugas).exclude(status=Grant.Status.ARSIP).order_by("pk").first()
    invitation = Invitation.objects.order_by("pk").first()
    if invitation is None:  # a small demo has too few grants with an SK for seed_demo's invitations
        import datetime

        from django.utils import timezone

        from abah.nphd.services import invitation_create

        invited = Grant.objects.filter(petugas=petugas).exclude(pk=grant.pk).order_by("pk").first()
        Grant.objects.filter(pk=invited.pk).update(status=Grant.Status.DITETAPKAN)
        invited.refresh_from_db()
        invitation = invitation_create(grant=invited, date=timezone.localdate() + datetime.timedelta(days=3),
                                       phone="081230900095", person="Ahmad Fauzi", by=petugas)
    appointment = invitation.appointment
    conversation = Conversation.objects.order_by("pk").first()
    internal = message_send(sender=admin, recipients=[petugas], subject="Jadwal NPHD", body="Mohon dicek.")
    broadcast = _broadcast(admin)
    return {
        "grant": grant.pk, "institution": grant.institution_id, "appointment": appointment.pk,
        "invitation": invitation.pk, "conversation": conversation.pk, "kind": TemplateKind.values[0],
        "internal": internal.pk, "broadcast": broadcast.pk if broadcast else None,
    }


def _broadcast(admin):
    from abah.automation import broadcasts
    from abah.automation.models import Broadcast

    try:
        return broadcasts.broadcast_create(text="Yth. {nama}, rapat koordinasi hibah. Biro Kesra", filters={},
                                           by=admin)
    except Exception:  # noqa: BLE001 - the walk still covers every other page; the detail is then skipped
        return Broadcast.objects.order_by("pk").first()


DETAIL = {  # pattern → kwargs from the demo objects
    "grants:grant_detail": lambda o: {"pk": o["grant"]},
    "grants:grant_log": lambda o: {"pk": o["grant"]},
    "grants:note_add": lambda o: {"pk": o["grant"]},
    "grants:grant_status": lambda o: {"pk": o["grant"]},
    "grants:grant_assign": lambda o: {"pk": o["grant"]},
    "grants:nphd_sign": lambda o: {"pk": o["grant"]},
    "grants:disbursement": lambda o: {"pk": o["grant"], "stage": 1},
    "grants:lpj": lambda o: {"pk": o["grant"]},
    "grants:institution_detail": lambda o: {"pk": o["institution"]},
    "grants:contact_edit": lambda o: {"pk": o["institution"]},
    "grants:institution_messages": lambda o: {"pk": o["institution"]},
    "nphd:invite": lambda o: {"grant_pk": o["grant"]},
    "nphd:appointment_detail": lambda o: {"pk": o["appointment"]},
    "nphd:appointment_edit": lambda o: {"pk": o["appointment"]},
    "nphd:appointment_process": lambda o: {"pk": o["appointment"]},
    "nphd:invitation_edit": lambda o: {"pk": o["invitation"]},
    "automation:template_edit": lambda o: {"kind": o["kind"]},
    "automation:template_preview": lambda o: {"kind": o["kind"]},
    "automation:broadcast_detail": lambda o: {"pk": o["broadcast"]},
    "automation:broadcast_progress": lambda o: {"pk": o["broadcast"]},
    "sms:conversation_dialog": lambda o: {"pk": o["conversation"]},
    "sms:conversation_thread": lambda o: {"pk": o["conversation"]},
    "sms:conversation_older": lambda o: {"pk": o["conversation"]},
    "notifications:message_detail": lambda o: {"pk": o["internal"]},
}


# ---------------------------------------------------------------- what must not appear


def _entries(path: Path):
    with path.open("rb") as handle:
        for message in read_po(handle):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            yield message.context, ids, strings


@cache
def english_phrases() -> tuple[frozenset, tuple]:
    """(exact, long): msgids of our catalogues that Indonesian pages render differently, and the msgids of Django's
    catalogues that its Indonesian lacks (Django 6's "- Select an option -") unless ours translate them.

    ``exact`` are matched against a whole text of the page (a label, a button, an option); ``long`` (three words
    or more, placeholders allowed) anywhere in a text."""
    import django

    def rendered(context, msgid):
        return translation.pgettext(context, msgid) if context else translation.gettext(msgid)

    found = set()
    with translation.override("id"):
        for po in [*ROOT.glob("abah/*/locale/id/LC_MESSAGES/django.po"), ROOT / "locale/id/LC_MESSAGES/django.po"]:
            for context, ids, strings in _entries(po):
                if strings[0] and rendered(context, ids[0]) != ids[0]:
                    found.update(ids)
        site = Path(django.__file__).resolve().parent.parent
        for name in DJANGO_CATALOGUES:
            indonesian = {ids[0] for _c, ids, strings in _entries(site / name.replace("/en/", "/id/")) if strings[0]}
            for context, ids, _strings in _entries(site / name):
                if (ids[0] not in indonesian and "%" not in ids[0] and re.search(r"[a-z]{3}", ids[0])
                        and rendered(context, ids[0]) == ids[0]):
                    found.add(ids[0])
    exact, long = set(), []
    for msgid in found:
        text = " ".join(msgid.split())
        literal = re.sub(r"%(\([a-z_]+\))?[sd]|\{[a-z_]+\}", "\0", text)
        if len(re.findall(r"[A-Za-z]+", literal)) >= 3:
            pieces = [re.escape(piece) for piece in literal.split("\0")]
            longest = max(literal.split("\0"), key=len).strip()
            long.append((text, longest, re.compile(r"(?<![A-Za-z])" + r".{1,80}?".join(pieces) + r"(?![A-Za-z])")))
        if "\0" not in literal:
            exact.add(text)
    return frozenset(exact), tuple(long)


@cache
def raw_enum_values() -> frozenset:
    """Stored values in capitals of our models' choices whose label differs (USULAN_DITERIMA → "Usulan diterima")."""
    values = set()
    for model in apps.get_models():
        if not model.__module__.startswith("abah."):
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", value) and str(label) != value:
                    values.add(value)
    return frozenset(values)


CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]+Backend\b")
TEXT_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-bs-title", "data-confirm"}


class _Texts(HTMLParser):
    """The texts a person reads: text nodes and the attributes shown as text; user data left out."""

    SKIP = {"script", "style"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def _skipping(self):
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        skip = tag in self.SKIP or "data-user-text" in attrs or "sms-text" in classes
        if tag not in {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "area", "base", "col", "embed"}:
            self.stack.append((tag, skip))
        if skip or self._skipping():
            return
        for name, value in attrs.items():
            if value and (name in TEXT_ATTRIBUTES or (name.startswith("data-label") or name.startswith("data-text"))):
                self.texts.append(value)
        if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.texts.append(data)


def texts_of(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.texts]


def problems_in(html: str) -> list[str]:
    exact, long = english_phrases()
    texts = texts_of(html)
    whole = "\n".join(texts)
    found = []
    for text in texts:
        bare = text.strip(" :*…·-—()")
        if text in exact or bare in exact:
            found.append(f"English label: {text!r}")
        for match in CLASS_NAME.finditer(text):
            found.append(f"class name: {match.group()!r} in {text!r}")
        for word in re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", text):
            if word in raw_enum_values():
                found.append(f"raw value: {word!r} in {text!r}")
    for msgid, longest, pattern in long:
        if longest in whole:
            match = pattern.search(whole)
            if match:
                found.append(f"English text: {match.group()!r} (msgid {msgid!r})")
    return sorted(set(found))


# ---------------------------------------------------------------- the walk


def walk(client) -> tuple[dict, list[str]]:
    """{url: problems} for every page that answered 200, and the patterns neither walked nor skipped."""
    objects = _demo_objects()
    results, forgotten = {}, []
    for name, pattern in _patterns():
        if name in NOT_PAGES or name in SKIPPED:
            continue
        if _takes_arguments(pattern):
            if name not in DETAIL:
                forgotten.append(name)
                continue
            kwargs = DETAIL[name](objects)
            if None in kwargs.values():
                continue
            url = reverse(name, kwargs=kwargs)
        else:
            url = reverse(name)
        response = client.get(url)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            results[url] = problems_in(response.content.decode())
    return results, forgotten


@pytest.fixture
def demo(db, settings):
    settings.SMS_GATEWAYS = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend", "OPTIONS": {}}}
    call_command("seed_demo", size=200, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.parametrize("username", ["admin", "petugas1", None])
def test_every_page_speaks_indonesian(client, demo, username):
    from abah.accounts.models import User

    if username:
        client.force_login(User.objects.get(username=username))
    results, forgotten = walk(client)
    assert forgotten == [], "pages with arguments neither walked nor skipped: add them to DETAIL or SKIPPED"
    assert len(results) >= {"admin": 45, "petugas1": 35, None: 4}[username], sorted(results)
    bad = {url: problems for url, problems in results.items() if problems}
    assert bad == {}, "\n".join(f"{url}: {problem}" for url, problems in sorted(bad.items()) for problem in problems)


def test_the_scan_finds_what_it_looks_for():
    """The detector itself: an English label, Django's untranslated blank choice, a class name, a raw value."""
    with translation.override("id"):
        html = ('<h1>Search</h1><select><option value="">- Select an option -</option></select>'
                '<p>Gateway: SimulatorBackend</p><span>USULAN_DITERIMA</span>'
                '<p>The placeholder {foo} is not known, so it cannot be filled in. Use only the placeholders allowed '
                'in this template: {lembaga}.</p>'
                '<div class="sms-text">Search</div><input value="Search">')
        found = problems_in(html)
    assert "English label: 'Search'" in found
    assert "English label: '- Select an option -'" in found
    assert any("SimulatorBackend" in problem for problem in found)
    assert any("USULAN_DITERIMA" in problem for problem in found)
    assert any(problem.startswith("English text: 'The placeholder {foo}") for problem in found)
    assert len([problem for problem in found if "'Search'" in problem]) == 1  # user text and field values skipped
