"""Seed version 1 of every SMS template with the texts of DOMAIN.md §4 (frozen here on purpose)."""

from django.db import migrations

TEXTS = {
    'invitation': (
        'Yth. Bpk/Ibu Pimpinan {lembaga}, dimohon hadir penandatanganan NPHD Hibah TA {tahun} pd {hari}, {tgl} {jam} di {tempat}. Bawa stempel, KTP asli Ketua, meterai 10.000. Info: {telp}. Biro Kesra Setdaprov Jatim'
    ),
    'invitation_cancelled': (
        'Yth. Bpk/Ibu Pimpinan {lembaga}, undangan penandatanganan NPHD Hibah TA {tahun} pd {hari}, {tgl} DIBATALKAN. Info: {telp}. Biro Kesra Setdaprov Jatim'
    ),
    'disbursement': (
        'Yth. Pimpinan {lembaga}, dana hibah Tahap {tahap} TA {tahun} {nominal} telah ditransfer ke rek. {bank} ***{rek4} a.n. lembaga pd {tgl}. Gunakan sesuai NPHD. Tidak dipungut biaya apapun. Biro Kesra Jatim'
    ),
    'lpj_billing': (
        'Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} ({nominal}) wajib diterima Biro Kesra paling lambat {tgl_batas}. Abaikan jika sudah menyampaikan. Biro Kesra Jatim'
    ),
    'lpj_overdue': (
        'Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} belum kami terima (batas {tgl_batas}). Mohon segera disampaikan. Sisa dana wajib disetor ke Kas Daerah. Biro Kesra Jatim'
    ),
    'revision': (
        'Yth. Pimpinan {lembaga}, berkas usulan hibah TA {tahun} no. {kode} perlu dilengkapi: {kekurangan}. Batas {tgl}. Biro Kesra Jatim'
    ),
    'incidental': (
        'Yth. Bpk/Ibu {nama}, {isi}. Biro Kesra Setdaprov Jatim'
    ),
}


def seed(apps, schema_editor):
    SmsTemplate = apps.get_model("automation", "SmsTemplate")
    SmsTemplateVersion = apps.get_model("automation", "SmsTemplateVersion")
    for kind, text in TEXTS.items():
        template, _created = SmsTemplate.objects.get_or_create(kind=kind)
        if template.current_id is None:
            version = SmsTemplateVersion.objects.create(template=template, number=1, text=text)
            template.current = version
            template.save(update_fields=["current"])


def unseed(apps, schema_editor):
    apps.get_model("automation", "SmsTemplate").objects.update(current=None)
    apps.get_model("automation", "SmsTemplateVersion").objects.all().delete()
    apps.get_model("automation", "SmsTemplate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_templates")]
    operations = [migrations.RunPython(seed, unseed)]
