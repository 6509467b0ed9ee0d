"""The send window seen by people: "Pengaturan SMS › Jam kirim" (the Admin's page) and the words every screen
uses for a text that is queued and not yet accepted by a gateway ("antre", "menunggu jam kirim · 08:00 WIB")."""

from datetime import date, datetime

from django import forms
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from abah.core.access import admin_required
from abah.core.formatting import WIB, tanggal
from abah.core.forms import Form

from . import conf
from .models import Message, SendWindowSetting

DAY_CHOICES = [
    ("1", _lazy("Monday")), ("2", _lazy("Tuesday")), ("3", _lazy("Wednesday")), ("4", _lazy("Thursday")),
    ("5", _lazy("Friday")), ("6", _lazy("Saturday")), ("7", _lazy("Sunday")),
]
OUTGOING_KINDS = [(k.value, k.label) for k in Message.Kind if k != Message.Kind.REPLY]


# ---------------------------------------------------------------- words for a queued text


def when_text(moment: datetime, now: datetime | None = None) -> str:
    """"08:00 WIB" today, "08:00 WIB, 7 Desember 2026" on another day."""
    now = (now or timezone.now()).astimezone(WIB)
    local = moment.astimezone(WIB)
    clock = f"{local:%H:%M} WIB"
    return clock if local.date() == now.date() else f"{clock}, {tanggal(local.date())}"


def held_until(kind: str, now: datetime | None = None, not_before: datetime | None = None) -> datetime | None:
    """When a text of ``kind`` queued now goes out, if the send window holds it (None: it may go now)."""
    now = now or timezone.now()
    start = max(now, not_before) if not_before else now
    moment = conf.next_send_time(kind, start)
    if moment is None:  # a window that never opens (no day): the settings page refuses one
        return None
    return moment if moment > start else None


def queued_phrase(kind: str, now: datetime | None = None) -> str:
    """What a screen says of a text it just queued: "akan dikirim mulai 08:00 WIB" outside the window, else ""."""
    now = now or timezone.now()
    moment = held_until(kind, now)
    if moment is None:
        return ""
    return _("will be sent from %(when)s") % {"when": when_text(moment, now)}


def held_sentence(kind: str, now: datetime | None = None) -> str:
    """A sentence for a Log entry or a notification about a text queued now: "" when it may go now, else
    "Menunggu jam kirim: akan dikirim mulai 08:00 WIB." (with the date when it is not today)."""
    now = now or timezone.now()
    moment = held_until(kind, now)
    if moment is None:
        return ""
    return _("Waiting for the send window: it will be sent from %(when)s.") % {"when": when_text(moment, now)}


def message_state(message, now: datetime | None = None) -> dict | None:
    """The mark of an outgoing text not yet accepted by a gateway: {"waiting": bool, "text": …}; None otherwise."""
    if message.direction != Message.Direction.OUT or message.status not in (Message.Status.QUEUED,
                                                                            Message.Status.SENDING):
        return None
    if message.status == Message.Status.SENDING:
        return {"waiting": False, "text": pgettext("message mark", "being sent")}
    now = now or timezone.now()
    moment = held_until(message.kind, now, message.next_attempt_at)
    if moment is not None and not conf.may_send_now(message.kind, now):
        return {"waiting": True, "text": _("waiting for the send window · %(when)s") % {"when": when_text(moment, now)}}
    return {"waiting": False, "text": pgettext("message mark", "queued")}


def window_state(now: datetime | None = None) -> dict:
    """The status page's line: open or closed now, and when it opens next."""
    now = now or timezone.now()
    window = conf.send_window()
    opening = window.next_open(now)
    open_now = window.open_at(now)
    return {
        "open": open_now, "window": window, "opens_at": opening, "opens_text": when_text(opening, now) if opening else "",
        "start": conf.format_clock(window.start), "end": conf.format_clock(window.end),
        "holiday": window.holiday(now.astimezone(WIB).date()) if not open_now else None,
        "days": [label for value, label in DAY_CHOICES if int(value) in window.days],
        "exempt": [label for value, label in OUTGOING_KINDS if value in window.exempt_kinds],
    }


# ---------------------------------------------------------------- Pengaturan SMS › Jam kirim


class SendWindowForm(Form):
    start = forms.CharField(label=_lazy("From"), max_length=8, required=False)
    end = forms.CharField(label=_lazy("Until"), max_length=8, required=False)
    days = forms.MultipleChoiceField(label=_lazy("Days"), choices=DAY_CHOICES, widget=forms.CheckboxSelectMultiple,
                                     required=False)
    exempt_kinds = forms.MultipleChoiceField(label=_lazy("Sent at any time"), choices=OUTGOING_KINDS,
                                             widget=forms.CheckboxSelectMultiple, required=False)
    national_holidays = forms.BooleanField(label=_lazy("No texts on national holidays"), required=False)
    holidays = forms.CharField(label=_lazy("Other days off"), required=False, max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 5}))

    def _clock(self, name):
        raw = (self.cleaned_data.get(name) or "").strip()
        try:
            return conf.parse_clock(raw)
        except ValueError:
            raise forms.ValidationError(_("Enter a time such as 08:00."), code="time") from None

    def clean_start(self):
        return self._clock("start")

    def clean_end(self):
        return self._clock("end")

    def clean_days(self):
        days = self.cleaned_data.get("days") or []
        if not days:
            raise forms.ValidationError(_("Choose at least one day."), code="days")
        return ",".join(sorted(days))

    def clean_exempt_kinds(self):
        return ",".join(self.cleaned_data.get("exempt_kinds") or [])

    def clean_holidays(self):
        text = self.cleaned_data.get("holidays") or ""
        lines = []
        for line in text.splitlines():
            line = " ".join(line.split())
            if not line:
                continue
            head, _sep, name = line.partition(" ")
            try:
                day = date.fromisoformat(head)
            except ValueError:
                raise forms.ValidationError(
                    _("“%(line)s” is not a date: write one day a line, as 2026-12-24 followed by its name.")
                    % {"line": line[:40]}, code="holiday") from None
            if not 2000 <= day.year <= 2100:
                raise forms.ValidationError(_("“%(line)s”: the year must lie between 2000 and 2100.")
                                            % {"line": line[:40]}, code="holiday")
            lines.append(f"{day.isoformat()} {name[:100]}".strip())
        return "\n".join(sorted(set(lines)))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and not start < end:
            self.add_error("end", _("The window must end after it starts (use 24:00 for midnight)."))
        return data


def _initial(window: conf.SendWindow) -> dict:
    return {
        "start": conf.format_clock(window.start), "end": conf.format_clock(window.end),
        "days": [str(d) for d in window.days], "exempt_kinds": sorted(window.exempt_kinds),
        "national_holidays": window.national,
        "holidays": "\n".join(f"{d.isoformat()} {name}".strip() for d, name in window.extra_holidays),
    }


@admin_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """Pengaturan SMS › Jam kirim: the Admin sets the send window; "Kembalikan bawaan" returns to the defaults."""
    window = conf.send_window(fresh=True)
    if request.method == "POST" and request.POST.get("action") == "reset":
        SendWindowSetting.objects.all().delete()
        conf.clear_send_window_cache()
        flash.success(request, _("The send window follows the server's settings again."))
        return redirect("sms:settings")
    form = SendWindowForm(request.POST or None, initial=_initial(window))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        row = SendWindowSetting.objects.order_by("pk").first() or SendWindowSetting()
        row.start, row.end = data["start"], data["end"]
        row.days, row.exempt_kinds = data["days"], data["exempt_kinds"]
        row.national_holidays, row.holidays = data["national_holidays"], data["holidays"]
        row.updated_by = request.user
        row.save()
        SendWindowSetting.objects.exclude(pk=row.pk).delete()
        conf.clear_send_window_cache()
        flash.success(request, _("Send window saved: %(start)s–%(end)s WIB.")
                      % {"start": conf.format_clock(row.start), "end": conf.format_clock(row.end)})
        return redirect("sms:settings")
    year = timezone.localtime(timezone.now(), WIB).year
    national = [(day, name) for y in (year, year + 1) for day, name in sorted(conf.national_holidays(y).items())]
    return render(request, "sms/send_window.html", {
        "form": form, "window": window, "state": window_state(), "national": national,
        "row": SendWindowSetting.objects.select_related("updated_by").order_by("pk").first(),
    }, status=400 if request.method == "POST" else 200)
