"""Incidental broadcasts: filters, preview, background queueing in the Pesan threads, cancel, permissions."""

import datetime

import pytest
from django.urls import reverse

from abah.automation import broadcasts
from abah.automation.models import Broadcast, BroadcastRecipient
from abah.grants.messaging import institution_conversation
from abah.grants.models import Grant
from abah.notifications.models import Notification
from abah.sms.backends import locmem
from abah.sms.models import Message

from .conftest import make_grant, make_institution, run_worker

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
TEXT = "Yth. Bpk/Ibu {nama}, {isi}. Biro Kesra Setdaprov Jatim"
ISI = "rapat koordinasi penerima hibah TA {tahun} pd 5 Desember 2018 di Grahadi"


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = IMMEDIATE


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def population(petugas, petugas2):
    """Five institutions: three of petugas A in Sidoarjo (one without contact), two of petugas B in Malang."""
    made = []
    for i, (regency, officer, phone) in enumerate([
        ("Kabupaten Sidoarjo", petugas, "081230900101"), ("Kabupaten Sidoarjo", petugas, "081230900102"),
        ("Kabupaten Sidoarjo", petugas, ""), ("Kota Malang", petugas2, "081230900104"),
        ("Kota Malang", petugas2, "081230900105"),
    ]):
        institution = make_institution(f"Lembaga {i}", phone=phone, person=f"Bpk. Kontak {i}", regency=regency)
        made.append(make_grant(institution, petugas=officer, status=Grant.Status.LPJ_MENUNGGU,
                               lpj_due_date=datetime.date(2019, 1, 10)))
    make_grant(make_institution("Lembaga Arsip", phone="081230900106"), petugas=petugas, status=Grant.Status.ARSIP)
    return made


def test_filters_select_one_grant_per_institution(population, petugas):
    everyone = broadcasts.recipient_grants({})
    assert len(everyone) == 5  # the archived one is left out
    second = make_grant(population[0].institution, petugas=petugas, year=2019)
    assert len(broadcasts.recipient_grants({})) == 5
    assert second.pk in broadcasts.recipient_grants({})  # the latest grant fills the placeholders
    assert len(broadcasts.recipient_grants({"regency": "Kota Malang"})) == 2
    assert len(broadcasts.recipient_grants({"petugas": petugas.pk})) == 3
    assert len(broadcasts.recipient_grants({"contact": "without"})) == 1
    assert len(broadcasts.recipient_grants({"contact": "with"})) == 4
    assert len(broadcasts.recipient_grants({"status": Grant.Status.ARSIP})) == 1
    assert len(broadcasts.recipient_grants({"fiscal_year": 2019})) == 1
    assert broadcasts.recipient_grants({"jenis": "BS"}) == []


def test_preview_counts_lists_unreachable_and_samples(population):
    preview = broadcasts.preview(filters={}, text=TEXT, isi=ISI)
    assert (preview.total, preview.sendable, preview.unreachable_count) == (5, 4, 1)
    assert [i.name for i, _reason in preview.unreachable] == ["Lembaga 2"]
    institution, text, analysis = preview.samples[0]
    assert text == ("Yth. Bpk/Ibu Bpk. Kontak 0, rapat koordinasi penerima hibah TA {tahun} pd 5 Desember 2018 di "
                    "Grahadi. Biro Kesra Setdaprov Jatim")  # {isi} is inserted as written, never re-scanned
    assert preview.segments == 4 * analysis.segments
    with pytest.raises(broadcasts.ValidationError):
        broadcasts.preview(filters={}, text=TEXT, isi="")
    with pytest.raises(broadcasts.ValidationError):
        broadcasts.preview(filters={}, text="Yth. {lembaga} {tgl}", isi="")


def test_confirm_queues_every_message_in_the_threads_then_cancel_withdraws_the_rest(population, admin_user, commit):
    with commit(execute=True):
        broadcast = broadcasts.broadcast_create(by=admin_user, filters={}, text=TEXT, isi="rapat koordinasi")
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.QUEUED  # the immediate task backend ran it on commit
    assert (broadcast.total, broadcast.queued, broadcast.skipped) == (5, 4, 1)
    messages = list(Message.objects.filter(kind="broadcast").order_by("id"))
    assert len(messages) == 4
    assert all(m.priority == 10 and m.sender == admin_user and m.meta["broadcast"] == broadcast.pk for m in messages)
    for grant in population[:2]:
        thread = institution_conversation(grant.institution)
        assert Message.objects.filter(conversation=thread, kind="broadcast").count() == 1
        thread.refresh_from_db()
        assert thread.message_count == 1
    assert messages[0].meta["template_kind"] == "incidental" and messages[0].meta["template_version"]
    assert BroadcastRecipient.objects.filter(broadcast=broadcast, message__isnull=True).count() == 1
    assert Notification.objects.filter(user=admin_user, kind="broadcast_sent").exists()
    # Half goes out, then the Admin cancels: the rest is withdrawn, what was sent stays sent.
    from abah.sms.daemon import Daemon

    daemon = Daemon(batch_size=2)
    daemon.send(daemon.claim())
    assert len(locmem.outbox) == 2
    withdrawn = broadcasts.broadcast_cancel(broadcast=broadcast, by=admin_user)
    assert withdrawn == 2
    progress = broadcasts.progress(broadcast)
    assert (progress["sent"], progress["withdrawn"], progress["waiting"]) == (2, 2, 0)
    run_worker()
    assert len(locmem.outbox) == 2
    with pytest.raises(broadcasts.ValidationError):
        broadcasts.broadcast_cancel(broadcast=broadcast, by=admin_user)


def test_a_second_run_of_the_task_queues_nothing_twice(population, admin_user, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    broadcast = broadcasts.broadcast_create(by=admin_user, filters={}, text=TEXT, isi="rapat")
    assert broadcasts.broadcast_run(broadcast_id=broadcast.pk) == "queued"
    assert broadcasts.broadcast_run(broadcast_id=broadcast.pk) == "not pending"
    # Even a crashed run that is retried from the start finds every key taken.
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.PENDING)
    broadcasts.broadcast_run(broadcast_id=broadcast.pk)
    assert Message.objects.filter(kind="broadcast").count() == 4


def test_cancel_before_the_worker_starts_queues_nothing(population, admin_user, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    broadcast = broadcasts.broadcast_create(by=admin_user, filters={}, text=TEXT, isi="rapat")
    broadcasts.broadcast_cancel(broadcast=broadcast, by=admin_user)
    assert broadcasts.broadcast_run(broadcast_id=broadcast.pk) == "not pending"
    assert not Message.objects.filter(kind="broadcast").exists()


def test_petugas_reaches_only_their_own_grants(population, petugas, petugas2, commit):
    assert broadcasts.clean_filters({"petugas": petugas2.pk, "regency": ""}, user=petugas) == {"petugas": petugas.pk}
    with commit(execute=True):
        broadcast = broadcasts.broadcast_create(by=petugas, filters={"petugas": petugas2.pk}, text=TEXT, isi="rapat")
    broadcast.refresh_from_db()
    assert (broadcast.total, broadcast.queued) == (3, 2)


def test_broadcast_pages(population, petugas_client, petugas, client, petugas2, commit):
    page = petugas_client.get(reverse("automation:broadcast_new"))
    assert page.status_code == 200 and "Yth. Bpk/Ibu {nama}" in page.content.decode()
    data = {"text": TEXT, "isi": "rapat koordinasi", "template": "incidental", "contact": "", "money": ""}
    preview = petugas_client.post(reverse("automation:broadcast_new"), {**data, "action": "preview"},
                                  headers={"HX-Request": "true"})
    body = preview.content.decode()
    assert 'data-testid="preview-total">3<' in body and 'data-testid="preview-unreachable">1<' in body
    assert "Lembaga 2" in body and 'data-testid="broadcast-confirm"' in body
    bad = petugas_client.post(reverse("automation:broadcast_new"), {**data, "text": "{foo}", "action": "preview"},
                              headers={"HX-Request": "true"})
    assert "{foo}" in bad.content.decode() and not Broadcast.objects.exists()
    with commit(execute=True):
        confirm = petugas_client.post(reverse("automation:broadcast_new"), {**data, "action": "confirm"})
    broadcast = Broadcast.objects.get()
    assert confirm.status_code == 302 and confirm["Location"] == broadcast.get_absolute_url()
    detail = petugas_client.get(broadcast.get_absolute_url()).content.decode()
    assert 'data-testid="progress-waiting">2<' in detail and "Lembaga 2" in detail
    assert 'data-testid="broadcast-cancel"' in detail
    progress = petugas_client.get(reverse("automation:broadcast_progress", args=[broadcast.pk]))
    assert 'hx-trigger="every 1s"' in progress.content.decode()
    listing = petugas_client.get(reverse("automation:broadcast_list")).content.decode()
    assert f"#{broadcast.pk}" in listing
    # Another petugas may not see or cancel it.
    client.force_login(petugas2)
    assert client.get(broadcast.get_absolute_url()).status_code == 403
    assert client.post(reverse("automation:broadcast_cancel", args=[broadcast.pk])).status_code == 403
    assert f"#{broadcast.pk}" not in client.get(reverse("automation:broadcast_list")).content.decode()
    client.force_login(petugas)
    response = client.post(reverse("automation:broadcast_cancel", args=[broadcast.pk]))
    assert response.status_code == 302
    assert Message.objects.filter(kind="broadcast", status="cancelled").count() == 2
