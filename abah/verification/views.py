"""Perbaruhi Kontak (enter the number), Konfirmasi Nomor Telepon (enter the code), resend and cancel."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from abah.core.access import login_only
from abah.sms.phone import mask

from . import services
from .forms import CodeForm, ContactForm


@login_only
def contact(request):
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.verification_request(
                user=request.user, number=form.cleaned_data["number"], region=form.cleaned_data["country"]
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("number", message)
        else:
            return redirect("verification:confirm")
    return render(
        request, "verification/contact.html",
        {"form": form, "pending": services.pending_code(request.user)},
    )


@login_only
def confirm(request):
    pending = services.pending_code(request.user)
    if pending is None:
        return redirect("verification:contact")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        had_phone = request.user.phone_verified
        try:
            services.verification_confirm(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as error:
            for message in error.messages:
                form.add_error("code", message)
            pending.refresh_from_db()
        else:
            messages.success(request, _("Your phone number has been verified."))
            return redirect("accounts:profile_contact" if had_phone else settings.LOGIN_REDIRECT_URL)
    return render(
        request, "verification/confirm.html",
        {"form": form, "pending": pending, "masked": mask(pending.phone), "max_attempts": services.MAX_ATTEMPTS},
    )


@login_only
@require_POST
def resend(request):
    try:
        services.verification_resend(user=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        if services.pending_code(request.user) is None:
            return redirect("verification:contact")
    else:
        messages.success(request, _("A new verification code has been sent."))
    return redirect("verification:confirm")


@login_only
@require_POST
def cancel(request):
    services.verification_cancel(user=request.user)
    if request.user.phone_verified:
        return redirect("accounts:profile_contact")
    return redirect("verification:contact")
