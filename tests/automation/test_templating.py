"""Template store and renderer: seeded texts, strict placeholders, versions, formatting, encoding."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from abah.automation import services, templating
from abah.automation.models import SmsTemplate, SmsTemplateVersion, TemplateKind
from abah.sms import encoding

pytestmark = pytest.mark.django_db


def test_every_kind_is_seeded_with_version_1_and_stays_gsm7():
    assert set(SmsTemplate.objects.values_list("kind", flat=True)) == set(TemplateKind.values)
    for template in SmsTemplate.objects.select_related("current"):
        assert template.current.number == 1
        templating.validate_text(template.kind, template.current.text)
        rendered = templating.render(template.kind, templating.sample_context())
        assert rendered.analysis.encoding == encoding.GSM7, template.kind
        assert rendered.analysis.segments <= 2, (template.kind, rendered.text)
        assert "{" not in rendered.text


def test_render_disbursement_with_grant_context(grant):
    context = templating.grant_context(grant, tahap=1, tgl=datetime.date(2018, 11, 30),
                                       nominal=Decimal("200000000"))
    rendered = templating.render("disbursement", context)
    assert rendered.text.startswith("Yth. Pimpinan Yayasan Nurul Huda, dana hibah Tahap I TA 2018 Rp200.000.000,00 ")
    assert "ke rek. Bank Jatim ***4556 a.n. lembaga pd 30 November 2018." in rendered.text
    assert "0011223344556" not in rendered.text
    version = SmsTemplate.objects.get(kind="disbursement").current
    assert rendered.version_id == version.pk and rendered.version == 1
    assert rendered.meta == {"template_kind": "disbursement", "template_version": version.pk, "template_number": 1}
    assert rendered.message_kind == "disbursement"
    assert rendered.analysis.encoding == encoding.GSM7


def test_invitation_time_and_weekday(grant):
    context = templating.grant_context(grant, tgl=datetime.date(2018, 11, 30), jam=datetime.time(9, 0),
                                       tempat="Gedung Negara Grahadi")
    text = templating.render("invitation", context).text
    assert "pd Jumat, 30 November 2018 pukul 09.00 WIB di Gedung Negara Grahadi." in text


def test_legacy_money_per_version_and_setting(grant, settings):
    context = templating.grant_context(grant, tgl_batas=datetime.date(2019, 1, 10))
    assert "(Rp400.000.000,00)" in templating.render("lpj_billing", context).text
    settings.ABAH_SMS_MONEY_LEGACY = True
    assert "(Rp. 400.000.000,00)" in templating.render("lpj_billing", context).text
    settings.ABAH_SMS_MONEY_LEGACY = True
    version = services.template_save(kind="lpj_billing", text="LPJ {lembaga} {nominal}", legacy_money=False)
    rendered = templating.render("lpj_billing", context)
    assert rendered.text == "LPJ Yayasan Nurul Huda Rp400.000.000,00"
    assert rendered.version == 2 and rendered.version_id == version.pk


def test_missing_value_raises_clear_error(grant):
    grant.lpj_due_date = None
    with pytest.raises(templating.MissingValues) as info:
        templating.render("lpj_billing", templating.grant_context(grant))
    assert "{tgl_batas}" in str(info.value)
    assert info.value.names == ["tgl_batas"]


def test_unknown_placeholder_refused_at_save_and_nothing_changed(admin_user):
    before = SmsTemplateVersion.objects.count()
    with pytest.raises(ValidationError) as info:
        services.template_save(kind="lpj_billing", text="LPJ {lembaga} {kekurangan} {foo}", by=admin_user)
    assert "{kekurangan}, {foo}" in " ".join(info.value.messages)
    with pytest.raises(ValidationError):
        services.template_save(kind="lpj_billing", text="LPJ {lembaga} {Nominal}", by=admin_user)
    with pytest.raises(ValidationError):
        services.template_save(kind="lpj_billing", text="   ", by=admin_user)
    with pytest.raises(ValidationError):
        services.template_save(kind="nope", text="x", by=admin_user)
    assert SmsTemplateVersion.objects.count() == before
    assert SmsTemplate.objects.get(kind="lpj_billing").current.number == 1


def test_unknown_placeholder_message_is_translated(admin_user):
    from django.utils import translation

    with translation.override("id"), pytest.raises(ValidationError) as info:
        services.template_save(kind="lpj_billing", text="LPJ {foo}", by=admin_user)
    assert "Unknown placeholders" not in " ".join(info.value.messages)


def test_versions_are_immutable_and_numbered(admin_user):
    v2 = services.template_save(kind="incidental", text="Yth. {nama}, {isi}. Biro Kesra", by=admin_user)
    same = services.template_save(kind="incidental", text="Yth.  {nama}, {isi}. Biro Kesra", by=admin_user)
    assert same.pk == v2.pk
    v3 = services.template_save(kind="incidental", text="Yth. {nama}: {isi}. Biro Kesra", by=admin_user)
    assert (v2.number, v3.number) == (2, 3)
    assert v3.created_by == admin_user
    v2.text = "changed"
    with pytest.raises(ValidationError):
        v2.save()
    v2.refresh_from_db()
    assert v2.text == "Yth. {nama}, {isi}. Biro Kesra"
    restored = services.template_restore(version=SmsTemplateVersion.objects.get(template__kind="incidental", number=1))
    assert restored.number == 4
    assert SmsTemplate.objects.get(kind="incidental").current == restored


def test_values_are_not_rescanned_and_warnings(grant):
    context = templating.grant_context(grant, isi="bawa {kode} \u201cbaru\u201d")
    rendered = templating.render("incidental", context)
    assert "{kode}" in rendered.text  # a value is inserted as it is, never substituted again
    assert rendered.analysis.encoding == encoding.UCS2
    assert any("UCS-2" in w for w in rendered.warnings)
    long = templating.render_text("incidental", "{isi}", {"isi": "x" * 400})
    assert long.analysis.segments == 3 and any("3" in w for w in long.warnings)


def test_queue_records_template_version(grant):
    from abah.grants.messaging import queue_to_institution

    rendered = templating.render("lpj_overdue", templating.grant_context(grant, tgl_batas=datetime.date(2019, 1, 10)))
    message = queue_to_institution(institution=grant.institution, text=rendered.text, kind=rendered.message_kind,
                                   idempotency_key="t-1", meta=rendered.meta)
    message.refresh_from_db()
    assert message.meta["template_version"] == rendered.version_id
    assert message.kind == "billing"


def test_a_missing_template_is_restored_from_the_default_text():
    """A flushed database (or a deleted row) never leaves an automatic text without its template."""
    from abah.automation.models import SmsTemplate, SmsTemplateVersion, TemplateKind
    from abah.automation.templating import DEFAULT_TEXTS, current_version

    SmsTemplate.objects.update(current=None)
    SmsTemplateVersion.objects.all().delete()
    SmsTemplate.objects.all().delete()
    version = current_version("lpj_overdue")
    assert version.text == DEFAULT_TEXTS[TemplateKind.LPJ_OVERDUE] and version.number == 1
    assert SmsTemplate.objects.count() == len(TemplateKind.values)
