"""queue_messages, the bulk path of broadcasts and reminders: one message per key whatever happens."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from abah.sms import services
from abah.sms.dbutil import db_datetime
from abah.sms.models import Conversation, Message

pytestmark = pytest.mark.django_db


def _items(keys, **extra):
    return [dict(to=f"08123090{n:04d}", text=f"Pesan {n}", kind="broadcast", idempotency_key=key, **extra)
            for n, key in enumerate(keys)]


def test_new_existing_and_repeated_keys():
    first = services.queue_message(to="081230900000", text="lama", kind="broadcast", idempotency_key="k0")
    result = services.queue_messages(_items(["k0", "k1", "k1", "k2", None]))
    assert result[0].pk == first.pk and result[0].text == "lama"
    assert result[1].pk == result[2].pk and result[1].text == "Pesan 1"
    assert len({m.pk for m in result}) == 4 and all(m.pk for m in result)
    assert Message.objects.count() == 4
    stored = Message.objects.get(idempotency_key="k2")
    assert (stored.number, stored.status, stored.segments, stored.meta) == ("+6281230900003", "queued", 1, {})
    assert stored.created_at == result[3].created_at and stored.next_attempt_at == result[3].next_attempt_at


def test_meta_sender_and_thread_are_stored(admin_user):
    thread = Conversation.objects.create(party_type="t", party_id="1", title="Lembaga", number="+6281230900001")
    [message] = services.queue_messages(_items(["m1"], sender=admin_user, conversation=thread,
                                               meta={"broadcast": 7, "nama": "Lembaga \u201cA\u201d"}))
    stored = Message.objects.get(pk=message.pk)
    assert stored.meta == {"broadcast": 7, "nama": "Lembaga \u201cA\u201d"}
    assert stored.sender_id == admin_user.pk and stored.conversation_id == thread.pk
    thread.refresh_from_db()
    assert thread.message_count == 1


def test_bad_item_refuses_the_whole_batch():
    items = _items(["b1", "b2"])
    items[1]["to"] = "021-5678901"
    with pytest.raises(ValidationError) as error:
        services.queue_messages(items)
    assert "Pesan ke-2" in str(error.value) and "telepon genggam" in str(error.value)
    assert not Message.objects.exists()


def test_a_concurrent_writer_that_took_a_key_keeps_its_row(monkeypatch):
    """Between our look-up and our insert another transaction inserts key c2: the raw insert fails on the
    unique index, the fallback keeps the other writer's row and inserts the rest."""
    real = services._build_message
    raced = []

    def racing_build(**item):
        if not raced:
            raced.append(True)
            with connection.cursor() as cursor:
                now = db_datetime(services.timezone.now())
                cursor.execute(
                    "INSERT INTO sms_message (direction, number, text, encoding, segments, kind, priority,"
                    " idempotency_key, status, meta, next_attempt_at, attempts, worker, gateway, error_code,"
                    " error_reason, created_at) VALUES ('out', '+6281230900009', 'milik penulis lain', 'GSM-7', 1,"
                    " 'broadcast', 10, 'c2', 'queued', '{}', %s, 0, '', '', '', '', %s)", [now, now])
        return real(**item)

    monkeypatch.setattr(services, "_build_message", racing_build)
    result = services.queue_messages(_items(["c1", "c2", "c3"]))
    assert Message.objects.count() == 3
    assert [m.text for m in result] == ["Pesan 0", "milik penulis lain", "Pesan 2"]
    assert [m.pk for m in result] == list(
        Message.objects.filter(idempotency_key__in=["c1", "c2", "c3"]).order_by("idempotency_key")
        .values_list("pk", flat=True))


def test_a_bulk_built_message_is_the_message_the_model_builds(admin_user):
    """The bulk path sets a new Message's attributes without Model.__init__: every field must come out as the
    model's own constructor makes it, and nothing may listen to post_init for Message (it would be skipped)."""
    from django.db.models.signals import post_init
    from django.utils import timezone

    now = timezone.now()
    args = dict(to="081230900011", text="Yth. Bpk/Ibu, rapat 5 Desember", kind="broadcast", idempotency_key="b:1",
                sender=admin_user, conversation_id=None, meta={"broadcast": 1}, now=now)
    fast = services._build_message(**args, bulk=True)
    slow = services._build_message(**args)
    fields = [f.attname for f in Message._meta.concrete_fields]
    assert [getattr(fast, name) for name in fields] == [getattr(slow, name) for name in fields]
    assert fast._state.adding and fast._state.db is None and fast.sender == admin_user
    assert not post_init.has_listeners(Message)


def test_the_any_lookup_matches_in_on_every_engine():
    """``field__any`` (one array parameter on PostgreSQL, IN elsewhere) finds what ``__in`` finds."""
    messages = services.queue_messages(_items(["a1", "a2", "a3"]))
    keys = ["a1", "a3", "missing"]
    assert sorted(Message.objects.filter(idempotency_key__any=keys).values_list("idempotency_key", flat=True)) == [
        "a1", "a3"]
    assert set(Message.objects.filter(pk__any=[m.pk for m in messages[:2]])) == set(messages[:2])
    assert list(Message.objects.filter(pk__any=[])) == []
    thread = Conversation.objects.create(party_type="t", party_id="9", title="Lembaga", number="+6281230900009")
    Message.objects.filter(pk=messages[0].pk).update(conversation=thread)
    assert list(Message.objects.filter(conversation_id__any=[thread.pk, 0])) == [messages[0]]  # a foreign key
    assert sorted(services.existing_keys(keys)) == ["a1", "a3"]
