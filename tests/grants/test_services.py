"""Services: kode proses, contacts, every lifecycle transition, disbursements, LPJ, archive, notes, log."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from abah.grants import services, signals
from abah.grants.models import Activity, Contact, Disbursement, Grant, KodeCounter, Note
from tests.grants.conftest import make_grant, make_institution

S = Grant.Status
pytestmark = pytest.mark.django_db


def test_kode_is_generated_per_year_and_jenis(institution):
    a = make_grant(institution, year=2018)
    b = make_grant(institution, year=2018)
    c = make_grant(institution, year=2019, jenis="HM")
    assert (a.kode, b.kode, c.kode) == ("2018-HK-00001", "2018-HK-00002", "2019-HM-00001")
    assert KodeCounter.objects.get(fiscal_year=2018, jenis="HK").last == 2


def test_kode_skips_numbers_already_used_by_an_import(institution):
    make_grant(institution, kode="2018-HK-00001")
    assert make_grant(institution).kode == "2018-HK-00002"


def test_duplicate_kode_refused(institution):
    make_grant(institution, kode="2018-HK-00005")
    with pytest.raises(ValidationError):
        make_grant(institution, kode="2018-hk-00005")
    assert Grant.objects.count() == 1


@pytest.mark.parametrize("amount", ["abc", "-5", "1e20", ""])
def test_bad_amount_refused(institution, amount):
    with pytest.raises(ValidationError):
        services.grant_create(institution=institution, fiscal_year=2018, amount_requested=amount)
    assert not Grant.objects.exists()


def test_create_writes_log(grant, petugas):
    entry = Activity.objects.get(grant=grant)
    assert entry.action == "grant_created" and grant.kode in entry.message and entry.institution == grant.institution


def test_masked_account_and_name_search(institution):
    assert institution.masked_account == "***4556"
    assert institution.name_search == "yayasan nurul huda"


# ---------------------------------------------------------------- contacts


def test_contact_set_stores_e164_and_keeps_history(institution, petugas):
    first = services.contact_set(institution=institution, person="Nur Hidayat", phone="0812-1630-0095", by=petugas)
    assert first.phone == "+6281216300095" and institution.contact_phone == "+6281216300095"
    second = services.contact_set(institution=institution, person="Siti Aminah", phone="+62 857 3090 0003", by=petugas)
    assert institution.current_contact == second
    first.refresh_from_db()
    assert not first.is_current and first.replaced_at is not None
    assert Contact.objects.filter(institution=institution).count() == 2
    assert Activity.objects.filter(action="contact_set").count() == 2


@pytest.mark.parametrize("raw", ["0812-xxxx", "031-5678901", "0812 1630 0095, 0813 1111 2222", ""])
def test_contact_set_rejects_bad_numbers(institution, petugas, raw):
    with pytest.raises(ValidationError) as info:
        services.contact_set(institution=institution, person="Nur", phone=raw, by=petugas)
    assert "phone" in info.value.message_dict
    assert not Contact.objects.exists() and not Activity.objects.filter(action="contact_set").exists()


def test_contact_signal_sent_on_commit(institution, petugas, django_capture_on_commit_callbacks):
    received = []
    signals.contact_changed.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.contact_set(institution=institution, person="Nur", phone="081216300095", by=petugas)
    finally:
        signals.contact_changed.disconnect(dispatch_uid="t1")
    assert received and received[0]["contact"].phone == "+6281216300095"


# ---------------------------------------------------------------- transitions


PATH = [S.VERIFIKASI_ADMINISTRASI, S.PERLU_PERBAIKAN, S.VERIFIKASI_ADMINISTRASI, S.VERIFIKASI_FAKTUAL,
        S.DIREKOMENDASIKAN, S.PERTIMBANGAN_TAPD, S.DIANGGARKAN]


def test_verification_path(grant, petugas):
    for target in PATH:
        services.grant_transition(grant=grant, to=target, by=petugas)
        grant.refresh_from_db()
        assert grant.status == target
    assert Activity.objects.filter(grant=grant, action="status").count() == len(PATH)


@pytest.mark.parametrize("current,target", [
    (S.USULAN_DITERIMA, S.DIANGGARKAN),
    (S.USULAN_DITERIMA, S.SELESAI),
    (S.DITETAPKAN, S.DITOLAK),
    (S.ARSIP, S.USULAN_DITERIMA),
    (S.BATAL, S.VERIFIKASI_FAKTUAL),
    (S.LPJ_MENUNGGU, S.SELESAI),
])
def test_illegal_transition_refused_with_message(institution, petugas, current, target):
    grant = make_grant(institution, status=current, petugas=petugas)
    with pytest.raises(ValidationError) as info:
        services.grant_transition(grant=grant, to=target, by=petugas)
    assert "cannot change" in str(info.value) or "tidak dapat" in str(info.value)
    grant.refresh_from_db()
    assert grant.status == current


def test_unknown_status_refused(grant, petugas):
    with pytest.raises(ValidationError):
        services.grant_transition(grant=grant, to="NGAWUR", by=petugas)


def test_dedicated_steps_not_through_generic_transition(institution, petugas):
    grant = make_grant(institution, status=S.DIANGGARKAN, petugas=petugas)
    with pytest.raises(ValidationError):
        services.grant_transition(grant=grant, to=S.DITETAPKAN, by=petugas)


@pytest.mark.parametrize("state", sorted(services._REJECTABLE))
def test_reject_from_every_open_verification_state(institution, petugas, state):
    grant = make_grant(institution, status=state, petugas=petugas)
    services.grant_transition(grant=grant, to=S.DITOLAK, by=petugas, note="Berkas tidak lengkap")
    grant.refresh_from_db()
    assert grant.status == S.DITOLAK
    assert "Berkas tidak lengkap" in Activity.objects.filter(grant=grant).first().message


def test_every_state_has_a_transition_entry():
    assert set(services.TRANSITIONS) == set(S.values)
    assert services.TRANSITIONS[S.ARSIP] == set()


def test_set_sk(institution, petugas):
    grant = make_grant(institution, status=S.DIANGGARKAN, petugas=petugas, amount_recommended=Decimal("9000000000"))
    services.grant_set_sk(grant=grant, sk_number="188/45/KPTS/013/2018", sk_date=datetime.date(2018, 1, 19),
                          dpa_number="5435140501000005", by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.DITETAPKAN and grant.amount_approved == Decimal("9000000000")
    assert grant.sk_display == "Tahap I, GUBERNUR JAWA TIMUR, 188/45/KPTS/013/2018, 19 Januari 2018"
    with pytest.raises(ValidationError):
        services.grant_set_sk(grant=grant, sk_number="x", sk_date=datetime.date(2018, 1, 19), by=petugas)


def test_set_sk_needs_number(institution, petugas):
    grant = make_grant(institution, status=S.DIANGGARKAN, petugas=petugas)
    with pytest.raises(ValidationError):
        services.grant_set_sk(grant=grant, sk_number=" ", sk_date=datetime.date(2018, 1, 19), by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.DIANGGARKAN


def test_schedule_and_withdraw_nphd(institution, petugas):
    grant = make_grant(institution, status=S.DITETAPKAN, petugas=petugas)
    services.grant_schedule_nphd(grant=grant, nphd_date=datetime.date(2018, 12, 1), by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.NPHD_DIJADWALKAN and grant.nphd_date == datetime.date(2018, 12, 1)
    services.grant_transition(grant=grant, to=S.DITETAPKAN, by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.DITETAPKAN and grant.nphd_date is None


def test_sign_nphd_requires_a_contact(institution, petugas):
    grant = make_grant(institution, status=S.DITETAPKAN, petugas=petugas)
    with pytest.raises(ValidationError) as info:
        services.grant_sign_nphd(grant=grant, signed_on=datetime.date(2018, 11, 30), by=petugas)
    assert info.value.code == "contact_required" and institution.name in info.value.messages[0]
    grant.refresh_from_db()
    assert grant.status == S.DITETAPKAN


def test_sign_nphd_with_contact_given_here(institution, petugas, django_capture_on_commit_callbacks):
    grant = make_grant(institution, status=S.DITETAPKAN, petugas=petugas)
    received = []
    signals.nphd_signed.connect(lambda **kw: received.append(kw["grant"].pk), weak=False, dispatch_uid="t2")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_sign_nphd(grant=grant, signed_on=datetime.date(2018, 11, 30), nphd_number="NPHD/1",
                                     contact_person="Nur Hidayat", contact_phone="081216300095", by=petugas)
    finally:
        signals.nphd_signed.disconnect(dispatch_uid="t2")
    grant.refresh_from_db()
    assert grant.status == S.NPHD_DITANDATANGANI and grant.lpj_due_date == datetime.date(2019, 1, 10)
    assert institution.contact_phone == "+6281216300095" and received == [grant.pk]


def test_sign_nphd_with_bad_contact_changes_nothing(institution, petugas):
    grant = make_grant(institution, status=S.DITETAPKAN, petugas=petugas)
    with pytest.raises(ValidationError):
        services.grant_sign_nphd(grant=grant, signed_on=datetime.date(2018, 11, 30), contact_person="Nur",
                                 contact_phone="031-5678901", by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.DITETAPKAN and not Contact.objects.exists()


def _signed(institution, petugas, **fields):
    services.contact_set(institution=institution, person="Nur", phone="081216300095", by=petugas)
    return make_grant(institution, status=S.NPHD_DITANDATANGANI, petugas=petugas,
                      amount_approved=Decimal("400000000"), lpj_due_date=datetime.date(2019, 1, 10), **fields)


def test_two_stage_disbursement_then_lpj(institution, petugas, django_capture_on_commit_callbacks):
    grant = _signed(institution, petugas)
    received = []
    signals.disbursement_recorded.connect(lambda **kw: received.append(kw["disbursement"].stage), weak=False,
                                          dispatch_uid="t3")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.disbursement_record(grant=grant, stage=1, amount="280000000", paid_on=datetime.date(2018, 12, 3),
                                         sp2d_number="SP2D-001", by=petugas)
            grant.refresh_from_db()
            assert grant.status == S.PENCAIRAN_TAHAP_1_SELESAI
            services.disbursement_record(grant=grant, stage=2, amount="120000000", paid_on=datetime.date(2018, 12, 20),
                                         sp2d_number="SP2D-002", by=petugas)
    finally:
        signals.disbursement_recorded.disconnect(dispatch_uid="t3")
    grant.refresh_from_db()
    assert grant.status == S.LPJ_MENUNGGU and received == [1, 2]
    assert Disbursement.objects.filter(grant=grant).count() == 2


def test_disbursement_out_of_order_or_too_much_refused(institution, petugas):
    grant = _signed(institution, petugas)
    with pytest.raises(ValidationError):
        services.disbursement_record(grant=grant, stage=2, amount="1", paid_on=datetime.date(2018, 12, 3),
                                     sp2d_number="X", by=petugas)
    with pytest.raises(ValidationError):
        services.disbursement_record(grant=grant, stage=1, amount="400000000.01", paid_on=datetime.date(2018, 12, 3),
                                     sp2d_number="X", by=petugas)
    with pytest.raises(ValidationError):
        services.disbursement_record(grant=grant, stage=1, amount="100", paid_on=datetime.date(2018, 12, 3),
                                     sp2d_number=" ", by=petugas)
    assert not Disbursement.objects.exists()
    grant.refresh_from_db()
    assert grant.status == S.NPHD_DITANDATANGANI


def test_single_stage_goes_to_lpj(institution, petugas):
    grant = _signed(institution, petugas, stage_count=1)
    services.disbursement_record(grant=grant, stage=1, amount="400000000", paid_on=datetime.date(2018, 12, 3),
                                 sp2d_number="SP2D-9", by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.LPJ_MENUNGGU


def test_lpj_overdue_receive_verify_close_archive(institution, petugas, admin_user):
    grant = make_grant(institution, status=S.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=datetime.date(2019, 1, 10))
    other = make_grant(institution, status=S.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=datetime.date(2019, 3, 1))
    assert services.lpj_mark_overdue(today=datetime.date(2019, 1, 11)) == 1
    assert services.lpj_mark_overdue(today=datetime.date(2019, 1, 11)) == 0
    grant.refresh_from_db()
    other.refresh_from_db()
    assert grant.status == S.LPJ_TERLAMBAT and other.status == S.LPJ_MENUNGGU
    services.lpj_receive(grant=grant, received_on=datetime.date(2019, 1, 20), by=petugas)
    services.lpj_verify(grant=grant, by=admin_user)
    grant.refresh_from_db()
    assert grant.status == S.LPJ_TERVERIFIKASI and grant.lpj_verified_by == admin_user
    services.grant_close(grant=grant, by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.ARSIP and grant.status_before_archive == S.SELESAI and grant.is_archived


def test_lpj_cannot_be_received_before_disbursement(institution, petugas):
    grant = make_grant(institution, status=S.NPHD_DITANDATANGANI, petugas=petugas)
    with pytest.raises(ValidationError):
        services.lpj_receive(grant=grant, received_on=datetime.date(2019, 1, 20), by=petugas)


def test_close_needs_verified_lpj(institution, petugas):
    grant = make_grant(institution, status=S.LPJ_DITERIMA, petugas=petugas)
    with pytest.raises(ValidationError):
        services.grant_close(grant=grant, by=petugas)
    grant.refresh_from_db()
    assert grant.status == S.LPJ_DITERIMA


def test_archive_rejected_and_not_open(institution, petugas):
    rejected = make_grant(institution, status=S.DITOLAK, petugas=petugas)
    services.grant_archive(grant=rejected, by=petugas)
    rejected.refresh_from_db()
    assert rejected.status == S.ARSIP
    open_grant = make_grant(institution, status=S.DITETAPKAN, petugas=petugas)
    with pytest.raises(ValidationError):
        services.grant_archive(grant=open_grant, by=petugas)


def test_fiscal_year_close_archives_that_year_only(institution, admin_user):
    a = make_grant(institution, year=2017, status=S.SELESAI)
    b = make_grant(institution, year=2017, status=S.LPJ_TERLAMBAT)
    c = make_grant(institution, year=2018, status=S.SELESAI)
    assert services.fiscal_year_close(fiscal_year=2017, by=admin_user) == 2
    statuses = dict(Grant.objects.values_list("pk", "status"))
    assert statuses == {a.pk: S.ARSIP, b.pk: S.ARSIP, c.pk: S.SELESAI}
    assert Grant.objects.get(pk=b.pk).status_before_archive == S.LPJ_TERLAMBAT


def test_assign_admin_only(grant, petugas, petugas2, admin_user):
    with pytest.raises(ValidationError):
        services.grant_assign(grant=grant, petugas=petugas2, by=petugas)
    services.grant_assign(grant=grant, petugas=petugas2, by=admin_user)
    grant.refresh_from_db()
    assert grant.petugas == petugas2
    assert Activity.objects.filter(grant=grant, action="assigned", user=admin_user).exists()


def test_note_add_and_empty_note(grant, petugas):
    note = services.note_add(grant=grant, text="  Berkas RAB sudah lengkap ", by=petugas)
    assert note.text == "Berkas RAB sudah lengkap" and Note.objects.count() == 1
    with pytest.raises(ValidationError):
        services.note_add(grant=grant, text="   ", by=petugas)
    assert Note.objects.count() == 1


def test_kode_format(grant):
    assert re.fullmatch(r"\d{4}-[A-Z]{2}-\d{5}", grant.kode)


def test_institution_needs_name(db):
    with pytest.raises(ValidationError):
        make_institution(name="  ")


def test_mark_lpj_overdue_command(institution, petugas):
    import io

    from django.core.management import call_command

    grant = make_grant(institution, status=S.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=datetime.date(2019, 1, 10))
    out = io.StringIO()
    call_command("mark_lpj_overdue", stdout=out)
    grant.refresh_from_db()
    assert grant.status == S.LPJ_TERLAMBAT and out.getvalue().startswith("1 ")


def test_every_pair_of_states_follows_the_table(institution, petugas):
    """grant_transition allows exactly the table's simple transitions and refuses everything else."""
    grant = make_grant(institution, petugas=petugas)
    for current in S.values:
        for target in S.values:
            Grant.objects.filter(pk=grant.pk).update(status=current)
            grant.refresh_from_db()
            allowed = target in services.TRANSITIONS[current]
            simple = target not in services.DEDICATED or (current == S.NPHD_DIJADWALKAN and target == S.DITETAPKAN)
            if allowed and simple:
                services.grant_transition(grant=grant, to=target, by=petugas)
                grant.refresh_from_db()
                assert grant.status == target, (current, target)
            else:
                with pytest.raises(ValidationError):
                    services.grant_transition(grant=grant, to=target, by=petugas)
                grant.refresh_from_db()
                assert grant.status == current, (current, target)
