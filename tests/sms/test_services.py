"""Queueing, idempotency, validation, threads and inbound routing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation

from abah.sms import routing, services
from abah.sms.models import Conversation, Message
from abah.sms.signals import message_received

pytestmark = pytest.mark.django_db


def test_queue_message_validates_and_stores_e164(thread):
    message = services.queue_message(to="0812-3090-0095", text="  Halo  ", kind="manual", conversation=thread)
    assert message.number == "+6281230900095"
    assert message.text == "Halo"
    assert message.status == Message.Status.QUEUED
    assert (message.encoding, message.segments) == ("GSM-7", 1)
    assert message.priority == Message.PRIORITY_BY_KIND[Message.Kind.MANUAL]
    thread.refresh_from_db()
    assert thread.message_count == 1


def test_priorities_by_kind():
    order = [Message.Kind.CODE, Message.Kind.MANUAL, Message.Kind.INVITATION, Message.Kind.BROADCAST]
    priorities = [services.default_priority(kind) for kind in order]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == 4
    for kind in ("invitation", "disbursement", "billing", "notification"):
        assert services.default_priority(kind) == services.default_priority("invitation")


def test_long_unicode_message_counts_segments():
    message = services.queue_message(to="081230900095", text="Terima kasih 🙏 " * 10, kind="manual")
    assert message.encoding == "UCS-2"
    assert message.segments == 3


def test_same_idempotency_key_creates_one_message():
    first = services.queue_message(to="081230900095", text="Undangan", kind="invitation", idempotency_key="inv:1")
    second = services.queue_message(to="081230900095", text="Undangan lagi", kind="invitation", idempotency_key="inv:1")
    assert first.pk == second.pk
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "to,text,expected",
    [
        ("081230900095", "   ", "The message text is empty."),
        ("", "Halo", "Enter a mobile phone number."),
        ("08123abc", "Halo", "A phone number may not contain letters."),
        ("081230900095,081230900096", "Halo", "Enter exactly one mobile phone number."),
        ("0313520000", "Halo", "This is not a mobile number (a landline cannot receive SMS)."),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(to, text, expected):
    with translation.override("en"), pytest.raises(ValidationError) as info:
        services.queue_message(to=to, text=text, kind="manual")
    assert info.value.messages == [expected]
    assert not Message.objects.exists()


def test_empty_text_error_in_indonesian():
    with translation.override("id"), pytest.raises(ValidationError) as info:
        services.queue_message(to="081230900095", text="", kind="manual")
    assert info.value.messages == ["Teks pesan kosong."]


def test_unknown_kind_refused():
    with pytest.raises(ValidationError):
        services.queue_message(to="081230900095", text="x", kind="spam")


def test_rolled_back_action_queues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        services.queue_message(to="081230900095", text="Dana cair", kind="disbursement")
        raise RuntimeError("the business action failed")
    assert not Message.objects.exists()


def test_queue_messages_bulk_with_duplicates_and_order(thread):
    items = [{"to": f"0812309{i:05d}", "text": f"Info {i}", "kind": "broadcast", "idempotency_key": f"b:{i}"}
             for i in range(1, 51)]
    items.append({"to": "081230900095", "text": "dup", "kind": "broadcast", "idempotency_key": "b:1"})
    items.append({"to": "081230900095", "text": "no key", "kind": "broadcast", "conversation": thread})
    messages = services.queue_messages(items)
    assert len(messages) == 52
    assert messages[0].pk == messages[50].pk and messages[0].text == "Info 1"
    assert messages[51].pk and messages[51].text == "no key"
    assert Message.objects.count() == 51
    again = services.queue_messages(items[:50])
    assert [m.pk for m in again] == [m.pk for m in messages[:50]]
    assert Message.objects.count() == 51
    thread.refresh_from_db()
    assert thread.message_count == 1


def test_queue_messages_refuses_whole_batch_on_one_bad_item():
    items = [{"to": "081230900095", "text": "ok", "kind": "broadcast"}, {"to": "nope", "text": "x", "kind": "broadcast"}]
    with translation.override("en"), pytest.raises(ValidationError) as info:
        services.queue_messages(items)
    assert "Message 2" in info.value.messages[0]
    assert not Message.objects.exists()


def test_conversation_for_gets_or_creates_and_follows_number():
    first = services.conversation_for(party_type="test.party", party_id=3, title="A", number="081230900095")
    second = services.conversation_for(party_type="test.party", party_id="3", title="B", number="+6281230900096")
    assert first.pk == second.pk
    second.refresh_from_db()
    assert (second.title, second.number) == ("B", "+6281230900096")
    assert Conversation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_inbound_routed_to_thread_of_current_number_and_signal_after_commit(thread):
    received = []

    def listener(sender, message, conversation, **kwargs):
        received.append((message.pk, conversation.pk if conversation else None))

    message_received.connect(listener)
    try:
        message = services.receive_message(number="6281230900095", text="Baik, terima kasih", gateway_message_id="x1")
    finally:
        message_received.disconnect(listener)
    assert message.conversation == thread
    assert message.direction == Message.Direction.IN
    assert received == [(message.pk, thread.pk)]
    thread.refresh_from_db()
    assert (thread.message_count, thread.inbound_count) == (1, 1)


def test_inbound_duplicate_gateway_id_stored_once():
    services.receive_message(number="081230900099", text="a", gateway_message_id="same")
    services.receive_message(number="081230900099", text="a", gateway_message_id="same")
    assert Message.objects.inbound().count() == 1


def test_inbound_earlier_number_routes_through_sent_history(thread):
    services.queue_message(to="081230900095", text="Halo", kind="manual", conversation=thread)
    services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh", number="081230900011")
    message = services.receive_message(number="+6281230900095", text="Nomor lama saya")
    assert message.conversation_id == thread.pk


def test_registered_router_wins(thread):
    other = services.conversation_for(party_type="test.party", party_id="8", title="Lain", number="")

    def router(e164):
        return other if e164 == "+6281230900095" else None

    routing.register_inbound_router(router)
    try:
        message = services.receive_message(number="081230900095", text="hi")
    finally:
        routing.unregister(router)
    assert message.conversation_id == other.pk


def test_unknown_sender_stays_unrouted_then_attached():
    message = services.receive_message(number="081230900077", text="Siapa ini?")
    assert message.conversation is None

    def search(query):
        return [("test.party", "42", "Masjid Al-Ikhlas", "")] if "ikhlas" in query.lower() else []

    routing.register_party_search(search)
    try:
        parties = routing.search_parties("Ikhlas")
    finally:
        routing.unregister(search)
    assert parties == [routing.Party("test.party", "42", "Masjid Al-Ikhlas", "")]
    conversation = services.attach_number(number=message.number, party=parties[0])
    message.refresh_from_db()
    assert message.conversation == conversation
    assert conversation.message_count == 1 and conversation.number == "+6281230900077"
    # Later messages from the number now find the thread.
    assert services.receive_message(number="081230900077", text="lagi").conversation == conversation


def test_attach_without_messages_is_refused():
    with pytest.raises(ValidationError):
        services.attach_number(number="+6281230900077", party=routing.Party("t", "1", "x"))


def test_cancel_only_queued():
    message = services.queue_message(to="081230900095", text="x", kind="broadcast")
    assert services.cancel_messages(ids=[message.pk]) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert services.cancel_messages(ids=[message.pk]) == 0


def test_length_is_limited_by_segments_not_characters():
    gsm_max = "a" * (10 * 153)  # exactly ten GSM-7 segments
    assert services.queue_message(to="081230900095", text=gsm_max, kind="manual").segments == 10
    emoji_text = "🙏" * 400  # 400 characters, 800 UTF-16 units: 13 UCS-2 segments (33 emoji each)
    with translation.override("en"), pytest.raises(ValidationError) as info:
        services.queue_message(to="081230900095", text=emoji_text, kind="manual")
    assert info.value.code == "too_long"
    assert "at most 10 SMS" in info.value.messages[0]
    ucs_max = "Ж" * (10 * 67)  # ten UCS-2 segments exactly
    assert services.queue_message(to="081230900095", text=ucs_max, kind="manual").segments == 10
    with pytest.raises(ValidationError):
        services.queue_message(to="081230900095", text=ucs_max + "Ж", kind="manual")
    with pytest.raises(ValidationError):
        services.queue_message(to="081230900095", text=gsm_max + "a", kind="manual")
    assert Message.objects.count() == 2


def test_too_long_error_in_indonesian():
    with translation.override("id"), pytest.raises(ValidationError) as info:
        services.queue_message(to="081230900095", text="x" * 2000, kind="manual")
    assert info.value.messages[0].startswith("Pesan terlalu panjang")


def test_line_breaks_are_normalised_to_lf():
    message = services.queue_message(to="081230900095", text="Baris satu\r\nBaris dua\rBaris tiga\r\n",
                                     kind="manual")
    assert message.text == "Baris satu\nBaris dua\nBaris tiga"
    assert message.segments == 1
    # 53 lines typed in a browser: CRLF would count 2 septets each and cost a second segment.
    typed = services.queue_message(to="081230900095", text="ab\r\n" * 53, kind="manual")
    assert "\r" not in typed.text and len(typed.text) == 158 and typed.segments == 1


def test_bulk_queue_refuses_too_long_item():
    items = [{"to": "081230900095", "text": "ok", "kind": "broadcast"},
             {"to": "081230900096", "text": "Ж€" * 400, "kind": "broadcast"}]
    with translation.override("en"), pytest.raises(ValidationError) as info:
        services.queue_messages(items)
    assert "Message 2" in info.value.messages[0] and "at most 10 SMS" in info.value.messages[0]
    assert not Message.objects.exists()
