"""Notifications for what happens on institutions and grants (DESIGN.md "Notifications").

Every process a user performs on an institution notifies that user (their own record, and the copy by
e-mail / SMS they chose); an inbound reply notifies the petugas of the institution's active grants (or the
Admins when nobody is assigned). An automatic text to an institution that got no delivery report in time is
the same petugas' concern (``unreported_responsible``, asked by abah.notifications.unreported). All receivers run
after the transaction committed.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import override

from abah.core.formatting import roman
from abah.notifications import failed, unreported
from abah.notifications.models import Notification
from abah.notifications.services import notify
from abah.sms import signals as sms_signals

from . import signals
from .messaging import PARTY_TYPE, institution_of
from .models import Grant

K = Notification.Kind


def _say(user, fn):
    """Notification texts are stored in the site's language (users have no language of their own yet)."""
    with override(settings.LANGUAGE_CODE):
        return fn()


def _notify_actor(user, kind, target, make_text):
    if user is None or not getattr(user, "is_authenticated", False):
        return
    notify(user=user, kind=kind, text=_say(user, make_text), target=target, actor=user)


def on_contact_changed(sender, institution, contact, previous=None, user=None, **kwargs):
    _notify_actor(user, K.CONTACT_CHANGED, institution, lambda: _(
        "Contact of %(name)s changed to %(person)s (%(phone)s).") % {
            "name": institution.name, "person": contact.person, "phone": contact.phone})


def on_note_added(sender, grant, note, user=None, **kwargs):
    _notify_actor(user, K.NOTE_ADDED, grant, lambda: _("Note added on %(kode)s (%(name)s): %(text)s") % {
        "kode": grant.kode, "name": grant.institution.name, "text": Truncator(note.text).chars(120)})


def on_disbursement_recorded(sender, grant, disbursement, user=None, **kwargs):
    _notify_actor(user, K.DISBURSEMENT_RECORDED, grant, lambda: _(
        "Disbursement stage %(stage)s recorded on %(kode)s (%(name)s).") % {
            "stage": roman(disbursement.stage), "kode": grant.kode, "name": grant.institution.name})


def on_grant_status_changed(sender, grant, old_status, new_status, user=None, **kwargs):
    _notify_actor(user, K.GRANT_CHANGED, grant, lambda: _("%(kode)s (%(name)s) is now: %(status)s.") % {
        "kode": grant.kode, "name": grant.institution.name, "status": Grant.Status(new_status).label})


def on_message_typed(sender, message, user=None, **kwargs):
    institution = institution_of(message.conversation)
    if institution is None:
        return
    _notify_actor(user, K.MESSAGE_SENT, institution, lambda: _("Message to %(name)s: %(text)s") % {
        "name": institution.name, "text": Truncator(message.text).chars(120)})


def reply_recipients(institution):
    """The petugas of the institution's active grants; the active Admins when nobody is assigned."""
    User = get_user_model()
    petugas_ids = (
        Grant.objects.filter(institution=institution, petugas__isnull=False)
        .exclude(status=Grant.Status.ARSIP)
        .values_list("petugas_id", flat=True)
        .distinct()
    )
    users = list(User.objects.filter(pk__in=list(petugas_ids), is_active=True))
    if not users:
        users = list(User.objects.filter(role=User.Role.ADMIN, is_active=True))
    return users


def on_message_received(sender, message, conversation=None, **kwargs):
    institution = institution_of(conversation)
    if institution is None:
        return
    for user in reply_recipients(institution):
        notify(user=user, kind=K.REPLY_RECEIVED, target=institution, text=_say(user, lambda: _(
            "Reply from %(name)s: %(text)s") % {"name": institution.name,
                                                 "text": Truncator(message.text).chars(120)}))


def unreported_responsible(messages):
    """Automatic texts to an institution that got no delivery report: the petugas of the institution's active
    grants (the thread's party tells the institution). Texts elsewhere, or to an institution nobody is assigned
    to, are left to the notifications app (the Admins)."""
    institution_ids = {}
    for message in messages:
        conversation = message.conversation
        if conversation is not None and conversation.party_type == PARTY_TYPE and conversation.party_id.isdigit():
            institution_ids[message.pk] = int(conversation.party_id)
    if not institution_ids:
        return {}
    petugas: dict[int, set[int]] = {}
    for institution_id, user_id in (
        Grant.objects.filter(institution_id__in=set(institution_ids.values()), petugas__isnull=False)
        .exclude(status=Grant.Status.ARSIP)
        .values_list("institution_id", "petugas_id")
        .distinct()
    ):
        petugas.setdefault(institution_id, set()).add(user_id)
    users = get_user_model().objects.in_bulk({pk for ids in petugas.values() for pk in ids})
    return {
        message_id: [users[pk] for pk in sorted(petugas[institution_id]) if pk in users]
        for message_id, institution_id in institution_ids.items()
        if institution_id in petugas
    }


def failed_scope(user):
    """The texts to the institutions of the user's active grants (the list of failed texts, its count)."""
    from django.db.models import CharField, Q
    from django.db.models.functions import Cast

    institution_ids = (
        Grant.objects.filter(petugas_id=user.pk).exclude(status=Grant.Status.ARSIP)
        .annotate(party=Cast("institution_id", CharField())).values("party")
    )
    return Q(conversation__party_type=PARTY_TYPE, conversation__party_id__in=institution_ids)


def connect() -> None:
    """Called from GrantsConfig.ready()."""
    signals.contact_changed.connect(on_contact_changed, dispatch_uid="grants.notify_contact")
    signals.note_added.connect(on_note_added, dispatch_uid="grants.notify_note")
    signals.disbursement_recorded.connect(on_disbursement_recorded, dispatch_uid="grants.notify_disbursement")
    signals.grant_status_changed.connect(on_grant_status_changed, dispatch_uid="grants.notify_status")
    sms_signals.message_typed.connect(on_message_typed, dispatch_uid="grants.notify_typed")
    sms_signals.message_received.connect(on_message_received, dispatch_uid="grants.notify_reply")
    unreported.register_responsible(unreported_responsible)
    failed.register_scope(failed_scope)
