"""Who may read which SMS message (abah.sms.access), for every kind of message × every role, in every view.

Kinds: a verification code while valid, after use and after expiry; a notification copy; an internal-message
copy; a typed message to an institution; an institution's reply. Roles: the staff member the message is
addressed to (petugas A), another petugas (B), an Admin. Views: UCP > Pesan (list, kind filter, count, text
search through the trigram index, the "search older messages" walk, the short-query scan), the Pesan dialog
(thread, poll, earlier messages) and the SMS Center status page's "last errors".

The private messages are put in an institution's thread the way it happens in the application (an Admin
attaches the staff member's number from the unknown-sender list), so the thread views are tested too.
Runs on SQLite (FTS5) and PostgreSQL (pg_trgm): the search code differs per engine.
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from abah.sms import phone, routing, services
from abah.sms.models import Message

SHARED = {"manual", "reply"}
ADDRESSED = {"code_spent", "code_expired", "notification", "internal"}  # the addressee only
KINDS = ["code_pending", "code_spent", "code_expired", "notification", "internal", "manual", "reply"]
ROLES = ["addressee", "other", "admin"]
CODE_NUMBER = "+6281230900077"  # a number petugas A does not own
INSTITUTION = "+6281230900095"


def _sees(kind: str, role: str) -> bool:
    return kind in SHARED or (kind in ADDRESSED and role == "addressee")


@pytest.fixture
def later(monkeypatch):
    """Time moves on by 11 minutes (a code is valid for 10)."""
    real = timezone.now

    def move():
        monkeypatch.setattr(timezone, "now", lambda: real() + timedelta(minutes=11))

    return move


@pytest.fixture
def clients(petugas, petugas2, admin_user):
    made = {}
    for role, user in (("addressee", petugas), ("other", petugas2), ("admin", admin_user)):
        made[role] = Client()
        made[role].force_login(user)
    return made


def _attach(number: str):
    """The Admin attaches a number from the unknown-sender list to an institution: its messages join the thread."""
    party = routing.Party("test.party", "99", "Yayasan Lampiran", number)
    return services.attach_number(number=number, party=party)


def _make(kind: str, petugas, petugas2, later) -> tuple[Message, str, str]:
    """The message of ``kind`` addressed to petugas A (or to an institution), a word of its text, and a secret
    that must never be shown to anyone ("" if none)."""
    from abah.notifications.models import Notification
    from abah.notifications.services import message_send, notify
    from abah.verification.services import verification_confirm, verification_request

    secret = ""
    if kind.startswith("code"):
        code = verification_request(user=petugas, number=CODE_NUMBER)
        message = Message.objects.get(pk=code.sms_message_id)
        secret = re.search(r"\d{6}", message.text).group()
        if kind == "code_spent":
            verification_confirm(user=petugas, code=secret)
        _attach(CODE_NUMBER)
    elif kind in ("notification", "internal"):
        petugas.notify_sms = True
        petugas.save(update_fields=["notify_sms"])
        if kind == "notification":
            notify(user=petugas, kind=Notification.Kind.NOTE_ADDED, text="Catatan rahasia tentang Zamrudwangi")
        else:
            message_send(sender=petugas2, recipients=[petugas], subject="Zamrudwangi rapat pribadi",
                         body="Isi pesan internal")
        message = Message.objects.get(kind=Message.Kind.NOTIFICATION)
        assert "Zamrudwangi" in message.text
        _attach(petugas.phone)
    else:
        thread = services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh",
                                           number=INSTITUTION)
        message = services.send_manual(conversation=thread, text="Undangan Zamrudwangi untuk rapat",
                                       sender=petugas2)
        if kind == "reply":
            message = services.receive_message(number=INSTITUTION, text="Terima kasih Zamrudwangi")
            assert message.conversation_id == thread.pk
    message.refresh_from_db()
    assert message.conversation_id is not None
    if kind == "code_expired":
        later()
    word = "Zamrudwangi" if not kind.startswith("code") else "verifi"  # verifikasi (id), verification (en)
    assert word in message.text
    return message, word, secret


def _ids(response) -> list[int]:
    assert response.status_code == 200
    return [m.pk for m in response.context["rows"]]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_list_search_count_and_thread(kind, role, clients, petugas, petugas2, later):
    message, word, secret = _make(kind, petugas, petugas2, later)
    client = clients[role]
    sees = _sees(kind, role)
    url = reverse("sms:message_list")
    shown = message.text if kind in SHARED else "Zamrudwangi"

    # UCP > Pesan: the list, the kind filter of the finding (?kind=code), the count.
    response = client.get(url)
    assert (message.pk in _ids(response)) is sees
    assert response.context["total"] == Message.objects.count() - (0 if sees else 1)
    if not kind.startswith("code"):
        assert (shown in response.content.decode()) is sees
    response = client.get(url, {"kind": message.kind})
    assert (message.pk in _ids(response)) is sees
    assert response.context["total"] == (1 if sees else 0)

    # The search: through the trigram index, the continuation read by key, a number, the thread's title.
    for params in ({"q": word}, {"q": word, "scan": "1"}, {"q": word.lower()[:5]}, {"q": word[:2]},
                   {"q": word, "kind": message.kind}):  # index, continuation by key, substring, short scan, filtered
        response = client.get(url, params)
        found = message.pk in _ids(response)
        # A code never matches a text search, not even for its addressee (its digits could be found by trial).
        assert found is (sees and not kind.startswith("code")), params
        if not found:
            assert message.pk not in [m.pk for m in response.context["rows"]]
    response = client.get(url, {"q": phone.national(message.number)})
    assert (message.pk in _ids(response)) is sees
    response = client.get(url, {"q": message.conversation.title})  # a text search too: never a code
    assert (message.pk in _ids(response)) is (sees and not kind.startswith("code"))
    response = client.get(url, {"thread": message.conversation_id})
    assert (message.pk in _ids(response)) is sees

    # The Pesan dialog: the thread, its poll and the earlier-messages chunk.
    conversation = message.conversation_id
    response = client.get(reverse("sms:conversation_dialog", args=[conversation]))
    assert response.status_code == 200
    assert (message.pk in [m.pk for m in response.context["thread"]]) is sees
    response = client.get(reverse("sms:conversation_thread", args=[conversation]), {"since": 1})
    assert (message.pk in [m.pk for m in response.context["thread"]]) is sees
    response = client.get(reverse("sms:conversation_older", args=[conversation]), {"before": message.pk + 1})
    assert (message.pk in [m.pk for m in response.context["older"]]) is sees
    if not kind.startswith("code"):
        assert (shown in response.content.decode()) is sees

    # A code's digits are shown to nobody, anywhere.
    if secret:
        for params in ({}, {"kind": "code"}, {"thread": conversation}):
            response = client.get(url, params)
            assert secret not in response.content.decode(), params
        for params in ({"q": secret}, {"q": secret[:3]}, {"q": secret, "scan": "1"}):  # never found by its digits
            assert message.pk not in _ids(client.get(url, params)), params
        response = client.get(reverse("sms:conversation_dialog", args=[conversation]))
        assert secret not in response.content.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_status_page_last_errors(kind, clients, petugas, petugas2, later):
    """The Admin sees that a message failed (existence); one addressed to someone else shows no number or text."""
    message, _word, secret = _make(kind, petugas, petugas2, later)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, error_reason="Undeliverable")
    response = clients["admin"].get(reverse("sms:status"))
    assert response.status_code == 200
    errors = {m.pk: m for m in response.context["errors"]}
    assert message.pk in errors  # existence, for every kind
    content = response.content.decode()
    assert (phone.national(message.number) in content) is (kind in SHARED)
    assert (errors[message.pk].shown_number == phone.mask(message.number)) is (kind not in SHARED)
    if secret:
        assert secret not in content
    for role in ("addressee", "other"):  # the page is the Admin's
        assert clients[role].get(reverse("sms:status")).status_code == 403


def test_admin_reads_his_own_notification_copy(admin_user, petugas, clients):
    """The rule is the same for an Admin: his own copies are his, in clear; petugas do not see them."""
    from abah.notifications.models import Notification
    from abah.notifications.services import notify

    admin_user.notify_sms = True
    admin_user.save(update_fields=["notify_sms"])
    notify(user=admin_user, kind=Notification.Kind.NOTE_ADDED, text="Catatan Zamrudwangi untuk Admin")
    message = Message.objects.get(kind=Message.Kind.NOTIFICATION)
    assert message.addressee_id == admin_user.pk
    url = reverse("sms:message_list")
    response = clients["admin"].get(url, {"q": "Zamrudwangi"})
    assert message.pk in _ids(response) and "Catatan Zamrudwangi" in response.content.decode()
    for role in ("addressee", "other"):
        response = clients[role].get(url, {"q": "Zamrudwangi"})
        assert message.pk not in _ids(response)


def test_code_text_is_masked_for_its_addressee_once_spent(clients, petugas, petugas2, later):
    message, _word, secret = _make("code_expired", petugas, petugas2, later)
    response = clients["addressee"].get(reverse("sms:message_list"), {"kind": "code"})
    row = next(m for m in response.context["rows"] if m.pk == message.pk)
    assert secret in message.text  # an expired code's SMS still holds its digits in the outbox …
    assert secret not in row.shown_text and "\u2022" * 6 in row.shown_text  # … never shown
    assert secret not in response.content.decode()


def test_private_kind_without_addressee_is_visible_to_nobody(clients):
    """Rows queued before the rule (no addressee) stay private: private by default."""
    message = services.queue_message(to="+6281230900055", text="Salinan lama Zamrudwangi", kind="notification")
    for client in clients.values():
        assert message.pk not in _ids(client.get(reverse("sms:message_list")))
        assert message.pk not in _ids(client.get(reverse("sms:message_list"), {"q": "Zamrudwangi"}))
