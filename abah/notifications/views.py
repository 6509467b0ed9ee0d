"""Notification list and Perpesanan (inbox, sent, compose, read, reply). Everyone sees only their own."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from abah.core.access import login_only
from abah.core.params import id_param, text_param
from abah.core.redirects import safe_next, safe_url

from . import selectors, services
from .forms import ComposeForm
from .models import MessageRecipient, Notification

PAGE_SIZE = 25


# ---------------------------------------------------------------- notifications


@login_only
def notification_list(request):
    qs = selectors.notifications_for(request.user)
    state = request.GET.get("state", "")
    if state == "unread":
        qs = qs.filter(is_read=False)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = selectors.unread_notification_count(request.user)
    return render(
        request, "notifications/notification_list.html", {"page": page, "state": state, "unread": unread}
    )


@login_only
def notification_open(request, pk):
    """Mark one notification read and go to its object (or back to the list when it has none)."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    return redirect(safe_url(request, url, "notifications:list"))


@login_only
@require_POST
def notification_mark_all_read(request):
    changed = services.notifications_mark_read(user=request.user)
    if changed:
        messages.success(request, _("All notifications have been marked as read."))
    return redirect(_next_url(request, "notifications:list"))


def _next_url(request, fallback):
    return safe_next(request, fallback)


# ---------------------------------------------------------------- Perpesanan


@login_only
def inbox(request):
    query = text_param(request.GET, "q")
    page = Paginator(selectors.inbox_for(request.user, query), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/message_list.html",
        {"page": page, "box": "inbox", "q": query, "unread": selectors.unread_message_count(request.user)},
    )


@login_only
def sent(request):
    query = text_param(request.GET, "q")
    page = Paginator(selectors.sent_for(request.user, query), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/message_list.html",
        {"page": page, "box": "sent", "q": query, "unread": selectors.unread_message_count(request.user)},
    )


@login_only
def message_detail(request, pk):
    message = selectors.message_visible_to(request.user, pk)
    if message is None:
        raise Http404
    own = MessageRecipient.objects.filter(message=message, user=request.user).first()
    if own is not None:
        services.message_mark_read(recipient=own)
    recipients = message.recipients.select_related("user").order_by("user__first_name", "user__username")
    return render(
        request,
        "notifications/message_detail.html",
        {"message": message, "recipients": recipients, "received": own is not None},
    )


def _compose(request, *, initial, parent=None, title):
    form = ComposeForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            message = services.message_send(
                sender=request.user,
                recipients=list(form.cleaned_data["recipients"]),
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                parent=parent,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for text in errors:
                    form.add_error(field if field in form.fields else None, text)
        else:
            messages.success(request, _("Your message has been sent."))
            return redirect("notifications:message_detail", pk=message.pk)
    return render(request, "notifications/message_compose.html", {"form": form, "parent": parent, "title": title})


@login_only
def compose(request):
    initial = {}
    to = id_param(request.GET, "to")
    if to:
        initial["recipients"] = [to]
    return _compose(request, initial=initial, title=_("New message"))


@login_only
def reply(request, pk):
    parent = selectors.message_visible_to(request.user, pk)
    if parent is None:
        raise Http404
    if parent.sender_id == request.user.pk:
        to = list(parent.recipients.values_list("user_id", flat=True))
    else:
        to = [parent.sender_id]
    subject = parent.subject if parent.subject.lower().startswith("re:") else f"Re: {parent.subject}"
    return _compose(request, initial={"recipients": to, "subject": subject[:200]}, parent=parent, title=_("Reply"))


@login_only
@require_POST
def message_mark_all_read(request):
    changed = services.messages_mark_all_read(user=request.user)
    if changed:
        messages.success(request, _("All messages have been marked as read."))
    return redirect(_next_url(request, "notifications:inbox"))
