"""Template editor (Admin), broadcasts (Admin, or Petugas for their own grants), the grant page's reminder panel."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from abah import audit
from abah.core.access import admin_required, is_admin, staff_required
from abah.core.text import param
from abah.grants.models import Grant
from abah.sms import encoding

from . import access, broadcasts, reminders, services
from .forms import BroadcastForm, TemplateForm, money_style, money_style_value
from .models import Broadcast, BroadcastRecipient, SmsTemplate, SmsTemplateVersion, TemplateKind
from .templating import (
    ALLOWED,
    PLACEHOLDERS,
    MissingValues,
    grant_context,
    placeholders_in,
    render_text,
    sample_context,
)


def _errors(error: ValidationError) -> list[str]:
    return list(error.messages)


def _template(kind: str) -> SmsTemplate:
    if kind not in TemplateKind.values:
        raise Http404
    services.ensure_templates()
    return get_object_or_404(SmsTemplate.objects.select_related("current"), kind=kind)


# ---------------------------------------------------------------- templates


@admin_required
def template_list(request):
    services.ensure_templates()
    templates = SmsTemplate.objects.select_related("current", "current__created_by").order_by("pk")
    rows = []
    for template in templates:
        analysis = encoding.analyze(template.current.text) if template.current else None
        rows.append({"template": template, "analysis": analysis})
    return render(request, "automation/template_list.html", {"rows": rows})


def _preview_grant(raw: str):
    raw = (raw or "").strip()[:100]  # a code ("2026-SOS-00001"); a long text finds nothing and is not a LIKE pattern
    grants = Grant.objects.select_related("institution")
    if raw:
        return grants.filter(kode__iexact=raw).first()
    return grants.filter(lpj_due_date__isnull=False).exclude(status=Grant.Status.ARSIP).order_by("-pk").first()


def _preview(kind: str, text: str, grant_kode: str, legacy) -> dict:
    """Render a draft on a real grant; values the grant cannot give come from the example values."""
    grant = _preview_grant(grant_kode)
    context = dict(sample_context(kind))
    from_sample = []
    if grant is not None:
        real = grant_context(grant)
        context.update(real)
        from_sample = [n for n in placeholders_in(text) if n not in real]
    result = {"grant": grant, "grant_kode": grant_kode, "not_found": bool(grant_kode.strip()) and grant is None,
              "from_sample": from_sample}
    try:
        rendered = render_text(kind, text, context, legacy=legacy)
    except ValidationError as error:
        result["errors"] = _errors(error)
    except MissingValues as error:
        result["errors"] = [str(error)]
    else:
        result["rendered"] = rendered
    return result


@admin_required
def template_edit(request, kind):
    template = _template(kind)
    current = template.current
    form = TemplateForm(request.POST or None, initial={
        "text": current.text if current else "", "money": money_style_value(current.legacy_money if current else None)})
    if request.method == "POST" and form.is_valid():
        try:
            version = services.template_save(kind=kind, text=form.cleaned_data["text"], by=request.user,
                                             legacy_money=money_style(form.cleaned_data["money"]))
        except ValidationError as error:
            for message in _errors(error):
                form.add_error("text", message)
        else:
            if current is not None and version.pk == current.pk:
                messages.info(request, _("Nothing changed: the text is the same as the current version."))
            else:
                messages.success(request, _("Version %(n)d of the template is saved and in use.") % {
                    "n": version.number})
            audit.record(request, "admin", target=version, detail=f"template_save {kind} v{version.number}")
            return redirect("automation:template_edit", kind=kind)
    text = form.data.get("text", "") if form.is_bound else form.initial["text"]
    legacy = money_style(form.data.get("money", "")) if form.is_bound else (current.legacy_money if current else None)
    allowed = ALLOWED[TemplateKind(kind)]
    return render(request, "automation/template_edit.html", {
        "template": template, "form": form,
        "placeholders": [(name, PLACEHOLDERS[name]) for name in allowed],
        "versions": template.versions.select_related("created_by").order_by("-number")[:50],
        "preview": _preview(kind, text, param(request.POST, "grant"), legacy),
        "recent_grants": Grant.objects.exclude(status=Grant.Status.ARSIP).select_related("institution")
        .order_by("-pk")[:30],
    })


@admin_required
@require_POST
def template_preview(request, kind):
    _template(kind)
    return render(request, "automation/_template_preview.html", {
        "preview": _preview(kind, param(request.POST, "text"), param(request.POST, "grant"),
                            money_style(param(request.POST, "money"))),
    })


@admin_required
@require_POST
def template_restore(request, kind, pk):
    version = get_object_or_404(SmsTemplateVersion.objects.select_related("template"), pk=pk, template__kind=kind)
    restored = services.template_restore(version=version, by=request.user)
    audit.record(request, "admin", target=restored, detail=f"template_restore {kind} v{version.number}")
    messages.success(request, _("Version %(old)d is in use again (saved as version %(new)d).") % {
        "old": version.number, "new": restored.number})
    return redirect("automation:template_edit", kind=kind)


# ---------------------------------------------------------------- broadcasts


def _broadcast_form(request, data=None):
    services.ensure_templates()
    templates = broadcasts.template_choices()
    initial = {}
    incidental = next((v for v in templates if v.template.kind == TemplateKind.INCIDENTAL), None)
    if incidental is not None:
        initial = {"template": incidental.template.kind, "text": incidental.text}
    form = BroadcastForm(data, initial=initial, user=request.user, admin=is_admin(request.user), templates=templates)
    return form, templates


@staff_required
def broadcast_list(request):
    rows = Broadcast.objects.select_related("created_by").order_by("-created_at", "-id")
    if not is_admin(request.user):
        rows = rows.filter(created_by=request.user)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    page.object_list = broadcasts.with_badges(page.object_list)  # the badge follows the texts (Antre → Selesai)
    return render(request, "automation/broadcast_list.html", {"page": page})


@staff_required
def broadcast_new(request):
    if not access.can_broadcast(request.user):
        raise PermissionDenied
    form, templates = _broadcast_form(request, request.POST or None)
    action = request.POST.get("action", "")
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = broadcasts.clean_filters(form.filters(), user=request.user)
        legacy = money_style(data["money"])
        try:
            if action == "confirm":
                broadcast = broadcasts.broadcast_create(by=request.user, filters=filters, text=data["text"],
                                                        isi=data["isi"], legacy_money=legacy)
                audit.record(request, "broadcast", target=broadcast, count=broadcast.total, detail=str(filters))
                messages.success(request, _("Broadcast #%(pk)d confirmed: the messages are being queued.") % {
                    "pk": broadcast.pk})
                return redirect(broadcast)
            preview = broadcasts.preview(filters=filters, text=data["text"], isi=data["isi"], legacy=legacy)
        except ValidationError as error:
            for message in _errors(error):
                form.add_error("isi" if getattr(error, "code", "") == "isi" else "text", message)
    context = {"form": form, "preview": preview, "templates": templates}
    if request.htmx and action == "preview":
        return render(request, "automation/broadcast_new.html#preview", context)
    return render(request, "automation/broadcast_new.html", context)


def _broadcast_for(request, pk) -> Broadcast:
    broadcast = get_object_or_404(Broadcast.objects.select_related("created_by", "template_version"), pk=pk)
    if not access.can_view_broadcast(request.user, broadcast):
        raise PermissionDenied
    return broadcast


@staff_required
def broadcast_detail(request, pk):
    broadcast = _broadcast_for(request, pk)
    unreachable = (BroadcastRecipient.objects.filter(broadcast=broadcast, message__isnull=True)
                   .select_related("institution").order_by("institution__name")[:200])
    return render(request, "automation/broadcast_detail.html", {
        "broadcast": broadcast, "progress": broadcasts.progress(broadcast), "unreachable": unreachable,
        "filters": _filters_display(broadcast.filters),
    })


@staff_required
def broadcast_progress(request, pk):
    broadcast = _broadcast_for(request, pk)
    return render(request, "automation/broadcast_detail.html#progress", {
        "broadcast": broadcast, "progress": broadcasts.progress(broadcast)})


@staff_required
@require_POST
def broadcast_cancel(request, pk):
    broadcast = _broadcast_for(request, pk)
    try:
        withdrawn = broadcasts.broadcast_cancel(broadcast=broadcast, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(_errors(error)))
    else:
        audit.record(request, "broadcast", target=broadcast, count=withdrawn, detail="cancel")
        messages.success(request, _("Broadcast #%(pk)d cancelled: %(n)d message(s) withdrawn.") % {
            "pk": broadcast.pk, "n": withdrawn})
    return redirect(broadcast)


def _filters_display(filters: dict) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model

    labels = {"fiscal_year": _("Fiscal year"), "status": _("Status"), "jenis": _("Type"),
              "regency": _("Regency/city"), "petugas": _("Officer"), "contact": _("Contact")}
    shown = []
    for key, value in filters.items():
        if key == "status":
            value = Grant.Status(value).label
        elif key == "jenis":
            value = Grant.Jenis(value).label
        elif key == "petugas":
            user = get_user_model().objects.filter(pk=value).first()
            value = (user.get_full_name() or user.username) if user else "-"
        elif key == "contact":
            value = _("With a contact") if value == "with" else _("Without a contact")
        shown.append((labels.get(key, key), value))
    return shown


# ---------------------------------------------------------------- the grant page


def _panel_context(request, grant) -> dict:
    from .models import ReminderPause

    rows = reminders.grant_schedule(grant)
    return {
        "grant": grant, "rows": rows, "hidden_overdue": reminders.hidden_overdue(rows, grant),
        "owes": reminders.owes_lpj(grant), "no_contact": not grant.institution.contact_phone,
        "paused": ReminderPause.objects.filter(grant=grant).select_related("paused_by").first(),
        "can_pause": access.can_pause_reminders(request.user, grant),
    }


def grant_reminders_panel(request, grant):
    """The "LPJ reminders" card on the grant page (abah.grants.panels)."""
    if not grant.lpj_due_date:
        return None
    return render_to_string("automation/_grant_reminders.html", _panel_context(request, grant), request=request)


@staff_required
@require_POST
def reminder_pause(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution"), pk=pk)
    if not access.can_pause_reminders(request.user, grant):
        raise PermissionDenied
    paused = reminders.pause_set(grant=grant, paused=request.POST.get("paused") == "1", by=request.user)
    text = _("LPJ reminders paused.") if paused else _("LPJ reminders resumed.")
    if request.htmx:
        return HttpResponse(render_to_string("automation/_grant_reminders.html",
                                             {**_panel_context(request, grant), "flash": text}, request=request))
    messages.success(request, text)
    return redirect(reverse("grants:grant_detail", args=[grant.pk]))
