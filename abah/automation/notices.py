"""Event-driven texts: the disbursement notice, queued in the same transaction as the disbursement.

No contact (or a template value the institution lacks, e.g. no bank): the disbursement is still recorded;
no SMS is queued, an Activity ("sms_skipped") is written to the grant's Log and the user who recorded the
disbursement gets a notification saying why, so the petugas can add the contact and inform the institution.
"""

import logging

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from abah.sms.phone import mask

from .templating import MissingValues, grant_context, render

log = logging.getLogger(__name__)


def disbursement_notice(*, grant, disbursement, user=None):
    """Queue the Tahap I/II notice to the institution (idempotent per disbursement); returns the Message or None."""
    from abah.grants import services as grant_services
    from abah.grants.messaging import queue_to_institution
    from abah.notifications.services import notify

    stage = "I" if disbursement.stage == 1 else "II"
    try:
        rendered = render("disbursement", grant_context(
            grant, tahap=disbursement.stage, tgl=disbursement.paid_on, nominal=disbursement.amount))
        message = queue_to_institution(
            institution=grant.institution, text=rendered.text, kind=rendered.message_kind,
            idempotency_key=f"disbursement-{disbursement.pk}",
            meta={**rendered.meta, "grant": grant.pk, "disbursement": disbursement.pk},
        )
    except (ValidationError, MissingValues) as error:
        reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        text = _("Disbursement notice stage %(stage)s for %(kode)s was not sent: %(reason)s") % {
            "stage": stage, "kode": grant.kode, "reason": reason}
        grant_services.log(action="sms_skipped", message=text, user=user, grant=grant)
        if user is not None:
            notify(user=user, kind="disbursement_recorded", text=text, target=grant)
        log.info("disbursement notice skipped: %s", text)
        return None
    from abah.sms.window import held_sentence

    held = held_sentence(message.kind)  # queued at night: "Menunggu jam kirim: akan dikirim mulai 08:00 WIB."
    text = _("Disbursement notice stage %(stage)s queued to %(number)s.") % {
        "stage": stage, "number": mask(message.number)}
    grant_services.log(action="sms_queued", user=user, grant=grant, message=f"{text} {held}" if held else text)
    if user is not None:
        text = _("%(kode)s: disbursement stage %(stage)s recorded; the notice SMS to %(name)s is queued.") % {
            "kode": grant.kode, "stage": stage, "name": grant.institution.name}
        notify(user=user, kind="disbursement_recorded", target=grant, text=f"{text} {held}" if held else text)
    return message


def on_disbursement_recording(sender, grant, disbursement, user=None, **kwargs):
    disbursement_notice(grant=grant, disbursement=disbursement, user=user)
