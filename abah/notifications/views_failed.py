"""Pesan gagal: the user's failed texts, and fixing an institution's number and resending in one step.

The list is ``failed.failed_for`` (the texts the user answers for, filtered by abah.sms.access). Resending is for
a text to an institution: the new number is checked (abah.sms.phone), becomes the institution's contact through
the grants service for contact changes (history, log, notification), and a new message with the same text is
queued in the institution's thread — all in one transaction, so a refused number changes nothing. The failed
message stays failed and shows "dikirim ulang".
"""

from django import forms
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from abah.core.access import staff_required
from abah.core.forms import Form as CoreForm
from abah.core.params import parse_int
from abah.core.redirects import redirect_next, safe_next
from abah.grants import access as grants_access
from abah.grants import services as grants_services
from abah.grants.messaging import institution_of, queue_to_institution
from abah.sms import phone
from abah.sms.access import prepare
from abah.sms.models import Message

from .failed import failed_count, failed_for
from .models import MessageFailure

PER_PAGE = 25


class ResendForm(CoreForm):
    phone = forms.CharField(label=gettext_lazy("New number"), max_length=40, required=False)

    def __init__(self, *args, region="ID", **kwargs):
        super().__init__(*args, **kwargs)
        self.region = region
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})

    def clean_phone(self):
        return phone.parse_mobile(self.cleaned_data["phone"], self.region)


def _rows(page, user, *, form_for=None, bad_form=None):
    """Each message with its institution (when a clerk may fix its number) and its resend form."""
    prepare(page, user)
    for message in page:
        institution = institution_of(message.conversation) if message.conversation_id else None
        contact = institution.current_contact if institution else None
        message.institution = institution
        message.can_resend = bool(
            institution and message.resent_id is None and grants_access.can_change_institution(user, institution))
        if message.pk == form_for and bad_form is not None:
            message.form = bad_form
        elif message.can_resend:
            number = contact.phone if contact else message.number
            message.form = ResendForm(initial={"phone": phone.national(number) or number},
                                      prefix=f"m{message.pk}")
    return page


def _list(request, *, form_for=None, bad_form=None, status=200):
    qs = failed_for(request.user).select_related("conversation").order_by("-failed_at", "-id")
    page = Paginator(qs, PER_PAGE).get_page(parse_int(request.GET.get("page")) or 1)
    _rows(page, request.user, form_for=form_for, bad_form=bad_form)
    # Where a resend comes back to: this page of the list (also when it is shown again after a refused number).
    back = request.get_full_path() if request.method == "GET" else safe_next(request, reverse("notifications:failed_list"))
    return render(request, "notifications/failed_list.html", {"page": page, "form_for": form_for, "back": back,
                                                                "pending": failed_count(request.user)},
                  status=status)


@staff_required
def failed_list(request):
    return _list(request)


def resend(*, message: Message, institution, number: str, by) -> Message:
    """Make ``number`` the institution's contact and queue the failed text again; the old one is marked resent."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        record = MessageFailure.objects.select_for_update().filter(message_id=locked.pk).first()
        if locked.status != Message.Status.FAILED or (record and record.resent_id):
            raise ValidationError(_("This text was already resent."), code="resent")
        contact = institution.current_contact
        try:
            grants_services.contact_set(
                institution=institution, person=contact.person if contact else institution.name, phone=number,
                region=contact.region if contact else phone.region_of(number) or "ID", by=by)
        except ValidationError as error:
            raise ValidationError(error.message_dict.get("phone") or error.messages) from None
        new = queue_to_institution(institution=institution, text=locked.text, kind=locked.kind, sender=by,
                                   idempotency_key=f"resend:{locked.pk}", meta={"resent_from": locked.pk})
        MessageFailure.objects.update_or_create(
            message_id=locked.pk, defaults={"resent": new, "resent_by": by, "resent_at": timezone.now()})
    return new


@staff_required
@require_POST
def failed_resend(request, pk):
    message = failed_for(request.user).select_related("conversation").filter(pk=pk).first()
    if message is None:
        raise Http404
    institution = institution_of(message.conversation)
    if institution is None:
        raise Http404
    if not grants_access.can_change_institution(request.user, institution):
        raise PermissionDenied
    contact = institution.current_contact
    form = ResendForm(request.POST, region=contact.region if contact else "ID", prefix=f"m{pk}")
    if form.is_valid():
        try:
            resend(message=message, institution=institution, number=form.cleaned_data["phone"], by=request.user)
        except ValidationError as error:
            form.add_error("phone", error)
        else:
            flash.success(request, _("%(name)s: the number is now %(phone)s and the text was queued again.") % {
                "name": institution.name, "phone": phone.national(form.cleaned_data["phone"])})
            return redirect_next(request, reverse("notifications:failed_list"))
    return _list(request, form_for=pk, bad_form=form, status=400)
