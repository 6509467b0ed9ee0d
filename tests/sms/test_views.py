"""UCP > Pesan, the Pesan dialog, unknown senders, virtual phones and the status page, through the test client."""

import pytest
from django.urls import reverse
from django.utils import timezone

from abah.sms import routing, services
from abah.sms.backends import locmem
from abah.sms.models import Message, SimulatorInbound

from .conftest import run_worker

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_message_list_counts_and_shows_newest_first(petugas_client, thread):
    services.queue_message(to="081230900095", text="Pesan pertama", kind="invitation", conversation=thread)
    services.queue_message(to="081230900095", text="Pesan kedua", kind="manual", conversation=thread)
    response = petugas_client.get(reverse("sms:message_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Terdapat 2 pesan" in body
    assert body.index("Pesan kedua") < body.index("Pesan pertama")
    assert "WIB" in body and "baru saja" in body
    assert reverse("sms:conversation_dialog", args=[thread.pk]) in body


def test_the_whole_list_counts_only_up_to_the_cap(petugas_client, thread, monkeypatch):
    """Before: the unfiltered list counted every message the user may read (the privacy rule is an OR no index
    answers): 600 ms of the page's 630 at 1,000,000 messages (bench sms_pages)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from abah.sms import views

    monkeypatch.setattr(views, "CAPPED_COUNT", 3)
    for i in range(5):
        services.queue_message(to="081230900095", text=f"Pesan {i}", kind="manual", conversation=thread)
    with CaptureQueriesContext(connection) as queries:
        response = petugas_client.get(reverse("sms:message_list"))
    assert "Terdapat lebih dari 3 pesan" in response.content.decode()
    counts = [q["sql"] for q in queries.captured_queries if 'COUNT(*)' in q["sql"] and "sms_message" in q["sql"]]
    assert counts and all("LIMIT" in sql for sql in counts), counts
    live = petugas_client.get(reverse("sms:message_list"), {"partial": "live", "after": 0, "total": 3}, **HX)
    assert "Terdapat lebih dari 3 pesan" in live.content.decode()


def test_message_list_filters_and_search(petugas_client, thread):
    services.queue_message(to="081230900095", text="Mohon hadir tgl 30", kind="invitation", conversation=thread)
    # (Billing, not a code: codes are private to their addressee, see tests/sms/test_privacy.py.)
    services.queue_message(to="081230900011", text="Kode 1234", kind="billing")
    services.receive_message(number="081230900077", text="Halo dari lembaga")
    url = reverse("sms:message_list")
    assert "Mohon hadir tgl 30" not in petugas_client.get(url, {"kind": "billing"}).content.decode()
    body = petugas_client.get(url, {"direction": "in"}).content.decode()
    assert "Halo dari lembaga" in body and "Kode 1234" not in body
    body = petugas_client.get(url, {"q": "0812-3090-0011"}).content.decode()
    assert "Kode 1234" in body and "Mohon hadir tgl 30" not in body
    body = petugas_client.get(url, {"q": "Yayasan"}).content.decode()
    assert "Mohon hadir tgl 30" in body and "Kode 1234" not in body
    today = timezone.localdate().isoformat()
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "mohon hadir", "from": today, "to": today}).content.decode()


def test_message_list_keyset_pages(petugas_client):
    for i in range(55):
        services.queue_message(to="081230900095", text=f"Nomor {i:02d}", kind="broadcast")
    url = reverse("sms:message_list")
    first = petugas_client.get(url).content.decode()
    assert "Nomor 54" in first and "Nomor 04" not in first
    oldest_shown = Message.objects.order_by("-id")[49].pk
    rows = petugas_client.get(url, {"before": oldest_shown, "partial": "rows"}, **HX).content.decode()
    assert "Nomor 04" in rows and "Nomor 05" not in rows and "<html" not in rows


def test_inbound_html_is_escaped_everywhere(admin_client, thread):
    services.receive_message(number="081230900095", text="<script>alert('x')</script><b>tebal</b>")
    services.receive_message(number="081230900066", text="<img src=x onerror=alert(1)>")
    for url in (reverse("sms:message_list"), reverse("sms:conversation_dialog", args=[thread.pk]),
                reverse("sms:unknown_senders")):
        body = admin_client.get(url).content.decode()
        assert "<script>alert" not in body and "<b>tebal" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in admin_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()


def test_dialog_shows_thread_with_marks_and_polls_while_pending(petugas_client, thread, petugas):
    system = services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    typed = services.send_manual(conversation=thread, text="Mohon konfirmasi", sender=petugas)
    url = reverse("sms:conversation_dialog", args=[thread.pk])
    body = petugas_client.get(url, **HX).content.decode()
    assert body.index("Undangan NPHD") < body.index("Mohon konfirmasi")
    assert "Sistem" in body and petugas.get_full_name() in body
    assert 'hx-trigger="every 4s, abah-poll"' in body  # the open dialog polls (tests/sms/test_live.py)
    assert 'data-testid="mark-delivered"' not in body and 'data-testid="mark-failed"' not in body
    run_worker()
    sms_system, sms_typed = sorted(locmem.outbox, key=lambda s: s.id)
    locmem.deliver(sms_system)
    locmem.deliver(sms_typed, delivered=False, error_code="absent_subscriber", error_reason="Absent subscriber")
    run_worker()
    thread_body = petugas_client.get(reverse("sms:conversation_thread", args=[thread.pk]), **HX).content.decode()
    assert 'data-testid="mark-delivered"' in thread_body
    assert 'data-testid="mark-failed"' in thread_body and "Nomor tidak aktif" in thread_body
    assert 'hx-trigger="every 4s, abah-poll"' in thread_body  # nothing pending: it still polls, for replies
    assert {system.pk, typed.pk} == {m.pk for m in Message.objects.filter(conversation=thread)}


def test_send_from_dialog_queues_manual_message(petugas_client, thread, petugas):
    url = reverse("sms:conversation_send", args=[thread.pk])
    response = petugas_client.post(url, {"text": "Selamat siang"}, **HX)
    assert response.status_code == 200 and response["HX-Trigger"] == "sms-sent"
    message = Message.objects.get()
    assert (message.kind, message.sender, message.conversation, message.number) == (
        "manual", petugas, thread, "+6281230900095")
    assert "Selamat siang" in response.content.decode()


def test_send_empty_text_shows_error_and_changes_nothing(petugas_client, thread):
    response = petugas_client.post(reverse("sms:conversation_send", args=[thread.pk]), {"text": "  "}, **HX)
    assert "Teks pesan kosong." in response.content.decode()
    assert "HX-Trigger" not in response
    assert not Message.objects.exists()


def test_dialog_requires_staff(client):
    from tests.conftest import make_user

    conversation = services.conversation_for(party_type="t", party_id="1", title="x", number="081230900095")
    user = make_user("tanpaperan", role="", phone="+6281230900019", phone_verified_at=timezone.now())
    client.force_login(user)
    assert client.get(reverse("sms:conversation_dialog", args=[conversation.pk])).status_code in (302, 403)
    assert client.post(reverse("sms:conversation_send", args=[conversation.pk]), {"text": "x"}).status_code in (302, 403)
    assert not Message.objects.exists()


def test_unknown_senders_attach_flow(admin_client, petugas_only_client):
    services.receive_message(number="081230900077", text="Siapa ini?")
    assert petugas_only_client.get(reverse("sms:unknown_senders")).status_code == 403
    body = admin_client.get(reverse("sms:unknown_senders")).content.decode()
    assert "Siapa ini?" in body

    def search(query):
        return [routing.Party("test.party", "9", "Pondok Pesantren Contoh")]

    routing.register_party_search(search)
    try:
        found = admin_client.get(reverse("sms:party_search"), {"q": "pondok", "number": "+6281230900077"}, **HX)
    finally:
        routing.unregister(search)
    assert "Pondok Pesantren Contoh" in found.content.decode()
    # Attach resolves the party through the registry's lookup (only registered types, only existing parties).
    routing.register_party_lookup("test.party", lambda pk: search("")[0] if pk == "9" else None)
    try:
        response = admin_client.post(reverse("sms:unknown_attach"), {
            "number": "+6281230900077", "party_type": "test.party", "party_id": "9", "title": "Pondok Pesantren Contoh"})
    finally:
        routing._LOOKUPS.pop("test.party", None)
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.conversation.title == "Pondok Pesantren Contoh"
    assert "Siapa ini?" not in admin_client.get(reverse("sms:unknown_senders")).content.decode()


def test_virtual_phones_only_with_simulator(admin_client, petugas_only_client, simulator, thread):
    services.queue_message(to="081230900095", text="Halo lembaga", kind="manual", conversation=thread)
    run_worker()
    url = reverse("sms:simulator_phones")
    assert petugas_only_client.get(url).status_code == 200  # every staff member's in demo mode (issue 14)
    body = admin_client.get(url, {"number": "+6281230900095"}).content.decode()
    assert "Halo lembaga" in body
    admin_client.post(reverse("sms:simulator_reply"), {"number": "+6281230900095", "text": "Terima kasih <b>"})
    assert SimulatorInbound.objects.get().text == "Terima kasih <b>"
    run_worker()
    reply = Message.objects.inbound().get()
    assert reply.conversation == thread
    assert "Terima kasih &lt;b&gt;" in admin_client.get(
        reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()


def test_virtual_phones_explained_with_another_gateway(admin_client):
    response = admin_client.get(reverse("sms:simulator_phones"))
    assert response.status_code == 200 and 'data-testid="simulator-unavailable"' in response.content.decode()


def test_virtual_phone_reply_refuses_empty(admin_client, simulator):
    admin_client.post(reverse("sms:simulator_reply"), {"number": "+6281230900095", "text": ""})
    assert not SimulatorInbound.objects.exists()


def test_status_page(admin_client, petugas_only_client):
    services.queue_message(to="081230900095", text="x", kind="code")
    failed = services.queue_message(to="081230900096", text="y", kind="manual")
    locmem.refuse[failed.number] = ("invalid_dest", "Invalid destination", False)
    run_worker()
    assert petugas_only_client.get(reverse("sms:status")).status_code == 403
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert "sms-chart-data" in body and "Nomor tujuan tidak valid" in body
    assert "Indeks pencarian mutakhir" in body  # the worker indexed both when the queue was empty
    services.queue_message(to="081230900095", text="z", kind="manual")
    assert "1 pesan baru belum masuk indeks pencarian" in admin_client.get(reverse("sms:status")).content.decode()
    live = admin_client.get(reverse("sms:status"), **HX).content.decode()
    assert "sms-live-inner" in live and "<html" not in live


def test_relative_time_wording():
    from datetime import timedelta

    from django.utils import translation

    from abah.sms.humanize import relative

    now = timezone.now()
    with translation.override("id"):
        assert relative(now - timedelta(hours=3, minutes=5), now) == "3 jam yang lalu"
        assert relative(now - timedelta(hours=10), now) == "10 jam yang lalu"
        assert relative(now - timedelta(minutes=1), now) == "1 menit yang lalu"
        assert relative(now - timedelta(days=2), now) == "2 hari yang lalu"
    with translation.override("en"):
        assert relative(now - timedelta(hours=3), now) == "3 hours ago"


def test_message_list_status_and_gateway_filters(petugas_client, thread):
    delivered = services.queue_message(to="081230900095", text="Sudah sampai", kind="manual", conversation=thread)
    failed = services.queue_message(to="081230900096", text="Nomor mati", kind="manual")
    services.queue_message(to="081230900097", text="Masih antre", kind="broadcast",
                           send_after=timezone.now() + timezone.timedelta(hours=1))
    locmem.refuse[failed.number] = ("invalid_dest", "Invalid destination", False)
    run_worker()
    locmem.deliver(next(sms for sms in locmem.outbox if sms.id == delivered.pk))
    run_worker()
    url = reverse("sms:message_list")
    body = petugas_client.get(url, {"status": "delivered"}).content.decode()
    assert "Sudah sampai" in body and "Nomor mati" not in body and "Masih antre" not in body
    body = petugas_client.get(url, {"status": "failed"}).content.decode()
    assert "Nomor mati" in body and "Sudah sampai" not in body and "Nomor tujuan tidak valid" in body
    body = petugas_client.get(url, {"status": "queued"}).content.decode()
    assert "Masih antre" in body and "1 pesan cocok" in body
    body = petugas_client.get(url, {"gateway": "default"}).content.decode()
    assert "Sudah sampai" in body and "Nomor mati" in body and "Masih antre" not in body  # never at a gateway
    body = petugas_client.get(url, {"status": "bogus", "kind": "bogus"}).content.decode()
    assert "Terdapat 3 pesan" in body  # unknown values are ignored, not an error


def test_message_list_number_search_forms(petugas_client):
    services.queue_message(to="081230900011", text="Kode 1234", kind="billing")
    services.queue_message(to="081230900022", text="Lainnya", kind="manual")
    url = reverse("sms:message_list")
    for query in ("+6281230900011", "6281230900011", "0812 3090 0011", "30900011"):
        body = petugas_client.get(url, {"q": query}).content.decode()
        assert "Kode 1234" in body and "Lainnya" not in body, query


def test_message_list_thread_counts(petugas_client, thread):
    for i in range(3):
        services.queue_message(to="081230900095", text=f"Ke lembaga {i}", kind="manual", conversation=thread)
    services.receive_message(number="081230900077", text="Tak dikenal 1")
    services.receive_message(number="081230900077", text="Tak dikenal 2")
    body = petugas_client.get(reverse("sms:message_list")).content.decode()
    counts = [c.strip() for c in body.split('sms-list-count"')[1:]]
    assert [c.split(">")[1].split("<")[0] for c in counts] == ["2", "2", "3", "3", "3"]


def test_send_from_dialog_normalises_browser_line_breaks(petugas_client, thread):
    petugas_client.post(reverse("sms:conversation_send", args=[thread.pk]), {"text": "Baris 1\r\nBaris 2"}, **HX)
    assert Message.objects.get().text == "Baris 1\nBaris 2"


def test_send_too_long_from_dialog_is_refused(petugas_client, thread):
    response = petugas_client.post(reverse("sms:conversation_send", args=[thread.pk]), {"text": "🙏" * 400}, **HX)
    assert "Pesan terlalu panjang" in response.content.decode()
    assert not Message.objects.exists()


def test_dialog_opens_with_the_newest_window_and_loads_earlier_messages(petugas_client, thread, petugas):
    from abah.sms.views import THREAD_WINDOW

    for i in range(THREAD_WINDOW + 12):
        services.queue_message(to="081230900095", text=f"Pesan ke-{i:03d}", kind="invitation", conversation=thread)
    body = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk]), **HX).content.decode()
    assert body.count('data-testid="sms-message"') == THREAD_WINDOW
    assert "Pesan ke-011" not in body and "Pesan ke-012" in body and f"Pesan ke-{THREAD_WINDOW + 11:03d}" in body
    assert body.index("Pesan ke-012") < body.index("Pesan ke-013")  # oldest first
    assert 'data-testid="sms-older"' in body
    oldest_shown = Message.objects.get(text="Pesan ke-012").pk
    older = petugas_client.get(reverse("sms:conversation_older", args=[thread.pk]), {"before": oldest_shown}, **HX)
    older = older.content.decode()
    assert older.count('data-testid="sms-message"') == 12
    assert older.index("Pesan ke-000") < older.index("Pesan ke-011")
    assert 'data-testid="sms-older"' not in older  # nothing earlier left
    assert petugas_client.get(reverse("sms:conversation_older", args=[thread.pk]), {"before": "x"}).status_code == 404
    # A poll or a send re-renders from the oldest message the dialog shows, so the window only grows.
    services.send_manual(conversation=thread, text="Yang terbaru", sender=petugas)
    polled = petugas_client.get(reverse("sms:conversation_thread", args=[thread.pk]), {"since": oldest_shown},
                                **HX).content.decode()
    assert polled.count('data-testid="sms-message"') == THREAD_WINDOW + 1 and "Pesan ke-012" in polled
    sent = petugas_client.post(reverse("sms:conversation_send", args=[thread.pk]),
                               {"text": "Satu lagi", "since": oldest_shown}, **HX).content.decode()
    assert sent.count('data-testid="sms-message"') == THREAD_WINDOW + 2 and "Pesan ke-012" in sent


def test_dialog_query_count_does_not_grow_with_the_thread(petugas_client, thread, petugas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("sms:conversation_dialog", args=[thread.pk])
    counts = []
    for n in (3, 120):
        while thread.messages.count() < n:
            services.send_manual(conversation=thread, text="Halo", sender=petugas)
        from abah.sms import conf

        conf.clear_send_window_cache()  # the send window is read once every few seconds: read it in both runs
        with CaptureQueriesContext(connection) as queries:
            petugas_client.get(url, **HX)
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)
def test_search_index_follows_inserts_updates_and_deletes(petugas_client):
    """The trigram index is kept by database triggers, whichever way a message is written."""
    from abah.sms import search
    from abah.sms.dbutil import db_datetime, insert_rows

    url = reverse("sms:message_list")
    services.queue_message(to="081230900011", text="Undangan penandatanganan NPHD", kind="invitation")
    services.queue_messages([{"to": "081230900022", "text": "Pencairan Tahap II sudah ditransfer",
                              "kind": "disbursement"}])
    now = db_datetime(timezone.now())
    insert_rows(Message, ["direction", "number", "text", "encoding", "segments", "kind", "priority", "status",
                          "meta", "next_attempt_at", "attempts", "worker", "gateway", "error_code", "error_reason",
                          "created_at"],
                [("in", "+6281230900033", "Laporan SPJ terlampir", "GSM-7", 1, "reply", 0, "received", "{}", now, 0,
                  "", "", "", "", now)])
    for query, expected in (("penandatanganan", "Undangan"), ("TAHAP ii", "Pencairan"), ("spj terl", "Laporan"),
                            ("0812309", None), ("900033", "Laporan")):
        body = petugas_client.get(url, {"q": query}).content.decode()
        if expected:
            assert expected in body and "1 pesan cocok" in body, query
        else:
            assert "3 pesan cocok" in body
    message = Message.objects.get(number="+6281230900011")
    Message.objects.filter(pk=message.pk).update(text="Teks diganti")
    assert "Teks diganti" in petugas_client.get(url, {"q": "diganti"}).content.decode()
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "penandatanganan"}).content.decode()
    Message.objects.filter(pk=message.pk).delete()
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "diganti"}).content.decode()
    # A status update (the worker's hot path) leaves the index alone and the message findable.
    Message.objects.update(status=Message.Status.FAILED)
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "Tahap II"}).content.decode()
    # Reinstalling (post_migrate after every migrate) is idempotent and keeps every message indexed.
    search.install()
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "Tahap II"}).content.decode()
    # One or two characters are beyond a trigram index: a plain scan answers them.
    assert "Laporan" in petugas_client.get(url, {"q": "sp"}).content.decode()


def test_new_messages_are_found_before_and_after_the_worker_indexes_them(petugas_client, locmem_gateway):
    """Queueing writes a message's document to the tail; the worker moves it into the trigram index when it
    has nothing to send. Search reads both, so a message is found at every moment; updates and deletes
    reach the document wherever it is."""
    from abah.sms import search
    from abah.sms.daemon import Daemon

    url = reverse("sms:message_list")
    first = services.queue_message(to="081230900011", text="Undangan penandatanganan NPHD", kind="invitation")
    services.queue_messages([{"to": "081230900022", "text": f"Siaran nomor {i}", "kind": "broadcast"}
                             for i in range(5)])
    assert search.pending() == 6
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "penandatanganan"}).content.decode()
    assert "5 pesan cocok" in petugas_client.get(url, {"q": "siaran nomor"}).content.decode()
    assert search.flush(limit=4) == 4 and search.pending() == 2  # the oldest first, a bounded step
    assert "5 pesan cocok" in petugas_client.get(url, {"q": "siaran nomor"}).content.decode()  # from both tables
    Daemon(gateway="default").run(once=True)  # sends, then indexes the rest: the queue is empty
    assert search.pending() == 0 and search.flush() == 0
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "penandatanganan"}).content.decode()
    assert "Siaran nomor 3" in petugas_client.get(url, {"q": "nomor 3"}).content.decode()
    Message.objects.filter(pk=first.pk).update(text="Teks diganti")  # in the index now
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "penandatanganan"}).content.decode()
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "diganti"}).content.decode()
    fresh = services.queue_message(to="081230900033", text="Masih di ekor", kind="manual")
    Message.objects.filter(pk=fresh.pk).update(text="Ekor diganti")  # still in the tail
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "masih di ekor"}).content.decode()
    Message.objects.filter(pk__in=[first.pk, fresh.pk]).delete()
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "diganti"}).content.decode()
    assert search.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_an_update_during_a_move_into_the_index_is_not_lost(require_postgres):
    """PostgreSQL, two connections: a message's text changes (a spent code is blanked) while a worker moves its
    document into the index. The move holds a share lock on the message, so the update waits for it and then
    rewrites the document in the index; without that lock the index would keep the old text."""
    import threading
    import time

    from django.db import connection, transaction

    from abah.sms import search

    message = services.queue_message(to="081230900011", text="Kode verifikasi 123456", kind="code")
    updated = threading.Event()

    def blank():
        try:
            Message.objects.filter(pk=message.pk).update(text="Kode verifikasi ******")
            updated.set()
        finally:
            connection.close()

    with transaction.atomic():
        assert search.flush() == 1
        other = threading.Thread(target=blank)
        other.start()
        time.sleep(1)  # the update reaches the lock and waits (it cannot finish before this commit)
        assert not updated.is_set()
    other.join(30)
    assert updated.is_set()
    assert search.candidates("123456") == [] and search.candidates("******") == [message.pk]
    assert search.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_search_triggers_come_back_after_a_sqlite_table_rebuild(petugas_client):
    """SQLite alters a table by rebuilding it, which drops its triggers: post_migrate reinstalls them and
    indexes what was written meanwhile."""
    from django.db import connection

    from abah.sms import search

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL alters tables in place and keeps their triggers")
    with connection.cursor() as cursor:
        for name in ("insert", "update", "delete"):
            cursor.execute(f"DROP TRIGGER sms_message_doc_{name}")
    services.queue_message(to="081230900011", text="Ditulis tanpa pemicu", kind="manual")
    url = reverse("sms:message_list")
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "tanpa pemicu"}).content.decode()
    search.ensure(using="default")
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "tanpa pemicu"}).content.decode()
    services.queue_message(to="081230900011", text="Sesudah migrate", kind="manual")
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "sesudah migrate"}).content.decode()


def test_search_walks_the_index_in_chunks_and_merges_thread_titles(petugas_client, monkeypatch):
    """Small chunks make the walk visible: filters checked per chunk, titles merged, counts exact or "more than"."""
    from abah.sms import search

    monkeypatch.setattr(search, "PROBE", 2)  # the probe by primary key sees the two newest messages only
    monkeypatch.setattr(search, "CHUNK", 3)
    monkeypatch.setattr(search, "RANGE_BUDGET", 60)
    pondok = services.conversation_for(party_type="t", party_id="1", title="Pondok Hidayah", number="081230900095")
    other = services.conversation_for(party_type="t", party_id="2", title="Masjid Lain", number="081230900096")
    for i in range(10):
        services.queue_message(to="081230900096", text=f"hidayah info {i}", conversation=other,
                               kind="broadcast" if i % 2 else "billing")
    for i in range(4):
        services.queue_message(to="081230900095", text=f"tanpa kata kunci {i}", kind="manual", conversation=pondok)
    url = reverse("sms:message_list")
    body = petugas_client.get(url, {"q": "HIDAYAH"}).content.decode()
    assert "14 pesan cocok" in body  # 10 by text, 4 by their thread's title
    body = petugas_client.get(url, {"q": "hidayah", "kind": "billing"}).content.decode()
    assert "5 pesan cocok" in body and "hidayah info 1<" not in body and "hidayah info 8" in body
    rows = [line for line in body.split('data-testid="sms-row"')[1:]]
    assert "hidayah info 8" in rows[0] and "hidayah info 0" in rows[-1]  # newest first
    monkeypatch.setattr(search, "RANGE_BUDGET", 6)  # two chunks of 3 at most, then "more than"
    body = petugas_client.get(url, {"q": "info"}).content.decode()
    assert "Lebih dari 6 pesan cocok" in body
    assert body.count('data-testid="sms-row"') == 6
    # "Older messages" resumes the walk where it stopped, until the other four are shown.
    rest = ""
    for _page in range(10):
        if 'data-testid="sms-older"' not in body:
            break
        resume = int(body.split('data-testid="sms-older"')[0].rsplit("before=", 1)[1].split("&")[0].split('"')[0])
        body = petugas_client.get(url, {"q": "info", "before": resume, "partial": "rows"}, **HX).content.decode()
        rest += body
    assert 'data-testid="sms-older"' not in body
    assert rest.count('data-testid="sms-row"') == 4 and "hidayah info 0" in rest


def test_search_walk_by_primary_key_for_common_words(monkeypatch):
    """A word in most messages is read by primary key in ranges sized from its density (PostgreSQL, where the
    trigram index would read every match); SQLite's FTS5 index returns the newest matches first by itself."""
    from abah.sms import search

    for i in range(30):
        services.queue_message(to="081230900095", text=("umum " if i % 3 else "") + f"pesan {i}", kind="manual")
    top = Message.objects.order_by("-id").first().pk + 1
    postgres = search.default_connection.vendor == "postgresql"
    used = []
    candidates = search.candidates
    if postgres:
        monkeypatch.setattr(search, "candidates", lambda *a, **k: used.append(k) or [])
    monkeypatch.setattr(search, "PROBE", 6)
    ids, floor = search.walk("UMUM", top=top, need=8)
    texts = list(Message.objects.filter(pk__in=ids).order_by("-id").values_list("text", flat=True))
    assert len(ids) >= 8 and all(t.startswith("umum") for t in texts) and ids == sorted(ids, reverse=True)
    assert all(i >= floor for i in ids) and (floor > 0 or len(ids) == 20)
    assert used == []  # never the trigram index
    # More than the word's density promises soon (how soon depends on the ids' offset): the index finishes.
    monkeypatch.setattr(search, "candidates", candidates)
    ids, floor = search.walk("UMUM", top=top, need=100)
    assert (len(ids), floor) == (20, 0)  # every match, and nothing left below


@pytest.mark.parametrize("probe", [100, 2])  # the newest matches found by key (probe), or through the index
def test_search_walk_checks_only_as_many_matches_as_it_needs(monkeypatch, probe):
    """A common word matches thousands of the newest messages: the walk hands them to ``accept`` (the privacy rule
    and the filters) only until it has what it needs, and its floor says where the next page resumes, so that the
    pages together hold every match once, newest first."""
    from abah.sms import search

    monkeypatch.setattr(search, "PROBE", probe)
    monkeypatch.setattr(search, "CHUNK", 20)
    monkeypatch.setattr(search, "ACCEPT_STEP", 4)
    for i in range(40):
        services.queue_message(to="081230900095", text=f"umum pesan {i}", kind="manual")
    matches = list(Message.objects.order_by("-id").values_list("id", flat=True))
    checked = []

    def accept(ids):  # every third one is not for this user
        checked.extend(ids)
        return [i for i in ids if i % 3]

    pages, top = [], matches[0] + 1
    for _page in range(20):
        ids, floor = search.walk("UMUM", top=top, need=6, accept=accept)
        pages.append(ids)
        if not floor:
            break
        assert all(i >= floor for i in ids) and len(ids) >= 6
        top = floor
    found = [i for page in pages for i in page]
    assert found == [i for i in matches if i % 3]  # all of them, once, newest first
    assert len(pages) > 3 and len(pages[0]) <= 6 + 4
    assert len(checked) == len(set(checked)) == len(matches)  # each match checked once, not each page's probe


@pytest.mark.django_db(transaction=True)
def test_search_by_institution_follows_renames_and_attached_numbers(petugas_client):
    url = reverse("sms:message_list")
    thread = services.conversation_for(party_type="t", party_id="1", title="Yayasan Lama", number="081230900095")
    services.queue_message(to="081230900095", text="Halo", kind="manual", conversation=thread)
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "yayasan lama"}).content.decode()
    services.conversation_for(party_type="t", party_id="1", title="Yayasan Baru Sejahtera", number="081230900095")
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "yayasan lama"}).content.decode()
    assert "1 pesan cocok" in petugas_client.get(url, {"q": "baru sejahtera"}).content.decode()
    services.receive_message(number="081230900077", text="Siapa ini?")
    assert "0 pesan cocok" in petugas_client.get(url, {"q": "Masjid Terang"}).content.decode()
    services.attach_number(number="+6281230900077", party=routing.Party("t", "2", "Masjid Terang"))
    body = petugas_client.get(url, {"q": "Masjid Terang"}).content.decode()
    assert "1 pesan cocok" in body and "Siapa ini?" in body


def test_search_without_a_trigram_index_scans(petugas_client, monkeypatch):
    """An SQLite built without FTS5 (or older than 3.34) still searches, by reading the table."""
    from django.db import connection

    from abah.sms import search

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    monkeypatch.setattr(search, "sqlite_trigram_available", lambda: False)
    services.queue_message(to="081230900011", text="Laporan pertanggungjawaban", kind="billing")
    services.queue_message(to="081230900022", text="Lainnya", kind="manual")
    body = petugas_client.get(reverse("sms:message_list"), {"q": "pertanggung"}).content.decode()
    assert "1 pesan cocok" in body and "Laporan pertanggungjawaban" in body


def test_a_slow_index_query_is_cancelled_in_time():
    """search._within cancels a read that runs past its time (statement_timeout on PostgreSQL, the progress
    handler on SQLite) and raises Interrupted; the connection stays usable."""
    from django.db import connection

    from abah.sms import search

    if connection.vendor == "postgresql":
        slow = "SELECT 1 FROM pg_sleep(0.5) WHERE %s = %s"
    else:
        slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) "
                "SELECT count(*) FROM n WHERE %s = %s")
    with pytest.raises(search.Interrupted):
        search._within(0.05, slow, [1, 1], connection)
    assert search._within(5, "SELECT %s WHERE %s = %s", [7, 1, 1], connection) == [7]
    assert Message.objects.count() == 0  # still usable, and no timeout left behind
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"


def test_a_search_the_index_cannot_answer_in_time_goes_on_by_key(petugas_client, monkeypatch):
    """Words common alone and rare together: the index query is cancelled, the page shows what the walk found
    by primary key in its time, says how far back it looked, and "Search older messages" goes on by key."""
    from abah.sms import search

    for i in range(30):
        text = "dana hibah lembaga" if i in (2, 25) else f"hibah dana lembaga pesan {i}"
        services.queue_message(to="081230900095", text=text, kind="manual")
    top = Message.objects.order_by("-id").first().pk + 1

    def too_slow(*args, **kwargs):
        raise search.Interrupted

    monkeypatch.setattr(search, "candidates", too_slow)
    monkeypatch.setattr(search, "PROBE", 4)  # the newest four by key, then the index (cancelled)
    monkeypatch.setattr(search, "RANGE_BUDGET", 10)  # then at most ten more by key: the page stops there
    monkeypatch.setattr(search, "CHUNK", 2)
    notes = {}
    ids, floor = search.walk("dana hibah lembaga", top=top, need=51, notes=notes)
    assert notes == {"by_key": True} and floor == top - 14
    assert [Message.objects.get(pk=i).text for i in ids] == ["dana hibah lembaga"]  # message 25 only
    url = reverse("sms:message_list")
    body = petugas_client.get(url, {"q": "dana hibah lembaga"}).content.decode()
    assert body.count('data-testid="sms-row"') == 1 and 'data-testid="sms-searched-to"' in body
    older = body.split('data-testid="sms-older"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "scan=1" in older
    page = petugas_client.get(f"{url}{older}").content.decode()  # the link as a browser follows it
    # The continuation reads by key for longer, not bounded by the page's id budget: here, to the first message.
    assert page.count('data-testid="sms-row"') == 1 and "dana hibah lembaga" in page  # message 2, by key
    assert 'data-testid="sms-older"' not in page and 'data-testid="sms-searched-to"' not in page


def test_the_dialog_and_its_poll_count_no_navbar_badges_while_pages_show_them(petugas_client, thread, petugas):
    """The navbar badges are counted when a page shows them: the Pesan dialog and its poll every few seconds are
    fragments without a navbar, and ran the badges' four queries for nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    for name in ("sms:conversation_dialog", "sms:conversation_thread"):
        with CaptureQueriesContext(connection) as queries:
            assert petugas_client.get(reverse(name, args=[thread.pk]), **HX).status_code == 200
        assert not [q for q in queries.captured_queries if "notifications_" in q["sql"]], name
    with CaptureQueriesContext(connection) as queries:
        body = petugas_client.get(reverse("sms:message_list")).content.decode()
    assert [q for q in queries.captured_queries if "notifications_" in q["sql"]]
    assert 'data-testid="badge-notif"' in body and 'data-testid="badge-inbox"' in body
