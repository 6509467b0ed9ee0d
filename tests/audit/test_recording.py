"""Each audited action, done through the real request, leaves one entry with who, when, address and count."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from abah import audit
from abah.audit.models import AuditEntry
from abah.grants.models import Grant
from abah.sms import services as sms_services
from tests.conftest import PASSWORD, make_user
from tests.grants.conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
A = AuditEntry.Action
HX = {"HTTP_HX_REQUEST": "true"}


def only(action, **filters) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(action=action, **filters))
    assert len(entries) == 1, entries
    return entries[0]


def assert_recent(entry, user, *, address="127.0.0.1"):
    assert entry.user == user and entry.username == user.username
    assert entry.address == address
    assert abs((timezone.now() - entry.at).total_seconds()) < 600


@pytest.fixture
def lptq(petugas):
    institution = make_institution("LPTQ Kabupaten Sidoarjo", phone="081230900095", person="Nur Hidayat")
    first = make_grant(institution, petugas=petugas, status=Grant.Status.DITETAPKAN, dpa_number="5435140501000005",
                       amount_approved=Decimal("9000000000"))
    for _ in range(2):
        make_grant(institution, petugas=petugas)
    make_grant(institution, petugas=petugas, status=Grant.Status.ARSIP, year=2017)
    return first


def test_export_records_its_row_count(petugas_client, petugas, lptq):
    response = petugas_client.get(reverse("grants:search"), {"q": "lptq", "export": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    entry = only(A.EXPORT)
    assert_recent(entry, petugas)
    assert entry.count == 3 and entry.target_type == "grants.grant"  # the three active grants, not the archive
    assert "q=lptq" in entry.detail and "scope=aktif" in entry.detail
    assert not AuditEntry.objects.filter(action=A.SEARCH).exists()  # the export is not also a search


def test_grant_search_records_the_query(petugas_client, petugas, lptq):
    petugas_client.get(reverse("grants:search"), {"q": "lptq", "scope": "arsip"})
    entry = only(A.SEARCH)
    assert_recent(entry, petugas)
    assert entry.detail == "q=lptq scope=arsip" and entry.target_type == "grants.grant"
    petugas_client.get(reverse("grants:search"))  # the empty search page is no search
    assert AuditEntry.objects.filter(action=A.SEARCH).count() == 1


def test_pages_showing_the_contact_number_are_recorded(petugas_client, petugas, lptq):
    institution = lptq.institution
    assert petugas_client.get(reverse("grants:institution_detail", args=[institution.pk])).status_code == 200
    assert petugas_client.get(reverse("grants:contact_edit", args=[institution.pk]), **HX).status_code == 200
    assert petugas_client.get(reverse("grants:grant_detail", args=[lptq.pk])).status_code == 200
    entries = list(AuditEntry.objects.filter(action=A.VIEW_CONTACT).order_by("id"))
    assert [(e.target_type, e.target_id) for e in entries] == [
        ("grants.institution", str(institution.pk)), ("grants.institution", str(institution.pk)),
        ("grants.grant", str(lptq.pk))]
    for entry in entries:
        assert_recent(entry, petugas)
    # A page that answered 404 revealed nothing.
    assert petugas_client.get(reverse("grants:institution_detail", args=[987654])).status_code == 404
    assert AuditEntry.objects.filter(action=A.VIEW_CONTACT).count() == 3


def test_ucp_pesan_opening_searching_and_the_dialog(petugas_client, petugas, lptq):
    thread = sms_services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh",
                                           number="081230900095")
    petugas_client.get(reverse("sms:message_list"))
    assert_recent(only(A.VIEW_MESSAGES), petugas)
    petugas_client.get(reverse("sms:message_list"), {"q": "kode verifikasi", "kind": "code"})
    entry = only(A.SEARCH)
    assert_recent(entry, petugas)
    assert entry.target_type == "sms.message" and "q=kode verifikasi" in entry.detail and "kind=code" in entry.detail
    petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk]), **HX)
    entry = only(A.VIEW_CONTACT, target_type="sms.conversation")
    assert entry.target_id == str(thread.pk)


@pytest.mark.django_db(transaction=True)
def test_manual_send_is_recorded_with_the_address_of_the_request(client, locmem_gateway):
    sender = make_user("pengirim", role="petugas")
    client.force_login(sender)
    thread = sms_services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh",
                                           number="081230900095")
    response = client.post(reverse("sms:conversation_send", args=[thread.pk]), {"text": "Selamat siang"},
                           REMOTE_ADDR="198.51.100.23", **HX)
    assert response.status_code == 200
    entry = only(A.SEND)
    assert_recent(entry, sender, address="198.51.100.23")
    assert entry.target_type == "sms.message" and "+62*****0095" in entry.detail and "Yayasan Contoh" in entry.detail
    assert "081230900095" not in entry.detail and "+6281230900095" not in entry.detail


def test_import_records_the_grants_written(admin_client, admin_user, petugas):
    header = ["lembaga", "kabupaten", "kategori", "kontak_person", "telepon", "tahun", "jenis", "nominal_usulan",
              "peruntukan"]
    rows = [["Masjid Al-Ikhlas Sukorejo", "Kabupaten Jember", "MASJID", "Nur Hidayat", "0812-1630-0095", "2018",
             "HK", "400000000", "Pembangunan Masjid"],
            ["Yayasan Darul Ulum", "Kota Malang", "Yayasan", "Siti Aminah", "+6285730900003", "2018", "HM",
             "75.000.000", "Santunan Anak Yatim"]]
    wb = Workbook()
    for row in [header, *rows]:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    upload = SimpleUploadedFile("hibah.xlsx", buffer.getvalue())
    admin_client.post(reverse("grants:import_upload"), {"file": upload})
    assert not AuditEntry.objects.filter(action=A.IMPORT).exists()  # the preview wrote nothing
    admin_client.post(reverse("grants:import_confirm"), {"token": admin_client.session["grants_import"]})
    assert Grant.objects.count() == 2
    entry = only(A.IMPORT)
    assert_recent(entry, admin_user)
    assert entry.count == 2 and entry.detail == "institutions=2 contacts=2 grants=2"


def test_admin_user_actions_are_recorded(admin_client, admin_user):
    pending = make_user("calon", role="", active=False)
    admin_client.post(reverse("accounts:user_approve", args=[pending.pk]), {"role": "petugas"})
    admin_client.post(reverse("accounts:user_role", args=[pending.pk]), {"role": "admin"})
    admin_client.post(reverse("accounts:user_deactivate", args=[pending.pk]))
    entries = list(AuditEntry.objects.filter(action=A.ADMIN).order_by("id"))
    assert [e.detail for e in entries] == ["approve calon role=petugas", "set_role calon role=admin",
                                           "deactivate calon role=admin"]
    for entry in entries:
        assert_recent(entry, admin_user)
        assert (entry.target_type, entry.target_id) == ("accounts.user", str(pending.pk))
    # An action the service refuses (an Admin deactivating himself) is not recorded as done.
    admin_client.post(reverse("accounts:user_deactivate", args=[admin_user.pk]))
    admin_user.refresh_from_db()
    assert admin_user.is_active and AuditEntry.objects.filter(action=A.ADMIN).count() == 3


def test_other_admin_posts_are_recorded_once(admin_client, admin_user):
    assert admin_client.post(reverse("grants:import_cancel")).status_code == 302
    entry = only(A.ADMIN)
    assert_recent(entry, admin_user)
    assert (entry.target_type, entry.detail) == ("grants:import_cancel", "grants:import_cancel HTTP 302")
    # A preview changes nothing; an action its view recorded itself is not recorded twice.
    admin_client.post(reverse("automation:template_preview", args=["lpj_billing"]), {"text": "x", "money": ""})
    admin_client.post(reverse("grants:fiscal_year_close"), {"fiscal_year": "2017"})
    assert [e.target_type for e in AuditEntry.objects.filter(action=A.ADMIN).order_by("id")] == [
        "grants:import_cancel", "grants.grant"]


def test_fiscal_year_close_and_template_edit_are_recorded(admin_client, admin_user, petugas):
    for _ in range(2):
        make_grant(make_institution(f"Yayasan {_}"), petugas=petugas, status=Grant.Status.SELESAI, year=2017)
    admin_client.post(reverse("grants:fiscal_year_close"), {"fiscal_year": "2017"})
    entry = only(A.ADMIN, target_type="grants.grant")
    assert_recent(entry, admin_user)
    assert entry.detail == "fiscal_year_close 2017"
    assert entry.count == Grant.objects.filter(fiscal_year=2017, status=Grant.Status.ARSIP).count()
    text = "Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} paling lambat {tgl_batas}. Biro Kesra Jatim"
    response = admin_client.post(reverse("automation:template_edit", args=["lpj_billing"]), {"text": text, "money": ""})
    assert response.status_code == 302
    entry = only(A.ADMIN, target_type="automation.smstemplateversion")
    assert entry.detail.startswith("template_save lpj_billing v")


def test_logins_failures_and_logouts(client, petugas):
    login = reverse("accounts:login")
    client.post(login, {"username": petugas.username, "password": "salah"}, REMOTE_ADDR="192.0.2.10")
    failed = only(A.LOGIN_FAILED)
    assert failed.user is None and failed.username == petugas.username and failed.address == "192.0.2.10"
    client.post(login, {"username": petugas.username, "password": PASSWORD}, REMOTE_ADDR="192.0.2.10")
    assert_recent(only(A.LOGIN), petugas, address="192.0.2.10")
    client.post(reverse("accounts:logout"), REMOTE_ADDR="192.0.2.10")
    assert_recent(only(A.LOGOUT), petugas, address="192.0.2.10")


def test_address_behind_a_proxy(client, petugas, settings, lptq):
    client.force_login(petugas)
    url = reverse("grants:institution_detail", args=[lptq.institution_id])
    forwarded = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}
    settings.BEHIND_PROXY = False
    client.get(url, **forwarded)  # not behind a proxy: a client's header is ignored
    settings.BEHIND_PROXY = True
    client.get(url, **forwarded)  # behind one: the address our proxy appended, never what the client claimed
    client.get(url, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-address")
    assert list(AuditEntry.objects.filter(action=A.VIEW_CONTACT).order_by("id").values_list("address", flat=True)) == [
        "10.0.0.5", "203.0.113.7", "10.0.0.5"]


def test_record_never_breaks_the_caller(petugas, caplog):
    assert audit.record(petugas, "no-such-action") is None
    assert "no-such-action" in caplog.text
    entry = audit.record(petugas, "export", detail="x" * 1000 + "\x00", count=-1,
                         at=timezone.now() - datetime.timedelta(days=1))
    assert entry is not None and len(entry.detail) == 255 and entry.count is None and entry.address is None
    assert AuditEntry.objects.count() == 1


def test_nphd_appointment_page_is_a_contact_view(petugas_client, petugas, locmem_gateway):
    from tests.nphd.conftest import invite
    from tests.nphd.conftest import make_grant as make_invitable_grant
    from tests.nphd.conftest import make_institution as make_contacted_institution

    grant = make_invitable_grant(make_contacted_institution("Yayasan Nurul Huda"), petugas=petugas)
    appointment = invite(grant, petugas, timezone.localdate() + datetime.timedelta(days=7)).appointment
    assert petugas_client.get(reverse("nphd:appointment_detail", args=[appointment.pk])).status_code == 200
    entry = only(A.VIEW_CONTACT)
    assert_recent(entry, petugas)
    assert (entry.target_type, entry.target_id) == ("nphd.appointment", str(appointment.pk))
