"""Views of the grants app: search, grant and institution pages, and the dialogs (htmx into the shared modal)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from abah import audit
from abah.core.access import admin_required, staff_required
from abah.core.params import id_param, text_param
from abah.core.redirects import safe_next
from abah.core.text import param

from . import access, exports, filters, imports, messaging, services
from .cards import actions_for
from .forms import (
    AssignForm,
    ContactForm,
    DisbursementForm,
    FiscalYearCloseForm,
    ImportForm,
    LpjDueForm,
    LpjReceiveForm,
    NoteForm,
    NphdSignForm,
    NphdSignWithContactForm,
    StatusForm,
)
from .models import Activity, Contact, Grant, Institution
from .search import exact_kode, institutions_named, page_rows, search

S = Grant.Status
PER_PAGE = 20


def _current_contacts():
    return Prefetch("institution__contacts", queryset=Contact.objects.filter(is_current=True),
                    to_attr="current_contacts")


def _dialog(request, template, context, status=200):
    context["dialog_base"] = "grants/dialog_modal.html" if request.htmx else "grants/dialog_page.html"
    return render(request, template, context, status=status)


def _done(request, message, fallback_url):
    """After a successful dialog: refresh the page under the modal (htmx) or go back to a page."""
    messages.success(request, message)
    if request.htmx:
        response = HttpResponseClientRefresh()
        response["HX-Trigger"] = "abah:close-modal"
        return response
    return redirect(safe_next(request, fallback_url))


def _add_errors(form, error: ValidationError):
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _grant_for_change(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution", "petugas"), pk=pk)
    if not access.can_change_grant(request.user, grant):
        raise PermissionDenied
    return grant


# ---------------------------------------------------------------- search


@staff_required
def search_view(request):
    """Data Hibah: the search results, or every grant, narrowed by the filters; Ekspor exports that list."""
    q = text_param(request.GET, "q")
    chosen = filters.read(request.GET)
    for message in chosen.messages():
        messages.warning(request, message)
    scope = "arsip" if request.GET.get("scope") == "arsip" or chosen.status == S.ARSIP else "aktif"
    condition = chosen.condition(request.user)
    if request.GET.get("export") == "xlsx":
        grants = search(q, scope, condition).queryset
        response = exports.grants_xlsx(grants, scope=scope)
        audit.record(request, "export", target="grants.grant",
                     detail=" ".join(filter(None, [f"q={q}", f"scope={scope}", chosen.describe()])),
                     count=min(grants.count(), exports.MAX_ROWS))
        return response
    kode_hit = exact_kode(q.strip()) if not chosen.active else None
    if kode_hit is not None:
        return redirect("grants:grant_detail", pk=kode_hit.pk)
    result = search(q, scope, condition)
    # Paginate over ids (an index-only sort), then load the page's rows; counted once with the other scope.
    paginator = Paginator(result.queryset.values_list("pk", flat=True), PER_PAGE)
    paginator.count = result.total
    page = paginator.get_page(request.GET.get("page"))
    grants = page_rows(result.queryset, list(page.object_list))
    prefetch_related_objects(grants, _current_contacts())
    for grant in grants:
        grant.actions = actions_for(request, grant)
    page.object_list = grants
    return render(request, "grants/search.html", {
        "result": result, "page": page, "q": result.q, "scope": result.scope,
        "first": page.start_index(), "last": page.end_index(), "filters": chosen,
        "options": filters.options(chosen),
    })


# ---------------------------------------------------------------- grant


@staff_required
def grant_detail(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution", "petugas", "lpj_verified_by"), pk=pk)
    grant.actions = actions_for(request, grant)
    return render(request, "grants/grant_detail.html", {
        "grant": grant,
        "contact": grant.institution.current_contact,
        "disbursements": grant.disbursements.all(),
        "notes": grant.notes.select_related("author")[:50],
        "activities": grant.activities.select_related("user")[:50],
        "can_change": access.can_change_grant(request.user, grant),
    })


@staff_required
def grant_log(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution"), pk=pk)
    activities = Activity.objects.filter(Q(grant=grant) | Q(institution=grant.institution, grant__isnull=True))
    return _dialog(request, "grants/grant_log.html", {
        "grant": grant, "activities": activities.select_related("user", "grant")[:200]})


@staff_required
def note_add(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution"), pk=pk)
    can_change = access.can_change_grant(request.user, grant)
    form = NoteForm(request.POST or None)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.note_add(grant=grant, text=form.cleaned_data["text"], by=request.user)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                return _done(request, _("The note has been saved."), reverse("grants:grant_detail", args=[pk]))
    return _dialog(request, "grants/note_form.html", {
        "grant": grant, "form": form, "can_change": can_change,
        "notes": grant.notes.select_related("author")[:20],
        "action": reverse("grants:note_add", args=[pk])})


@staff_required
def grant_status(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution", "petugas"), pk=pk)
    can_change = access.can_change_grant(request.user, grant)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    targets = [t for t in services.allowed_transitions(grant)
               if t in services.simple_transitions(grant) or t in {S.DITETAPKAN, S.NPHD_DIJADWALKAN, S.ARSIP}]
    form = StatusForm(request.POST or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        to = data["to"]
        try:
            if to == S.DITETAPKAN and grant.status == S.DIANGGARKAN:
                services.grant_set_sk(grant=grant, sk_number=data["sk_number"], sk_date=data["sk_date"],
                                      sk_issuer=data["sk_issuer"], amount_approved=data["amount_approved"],
                                      dpa_number=data["dpa_number"], by=request.user)
            elif to == S.NPHD_DIJADWALKAN:
                services.grant_schedule_nphd(grant=grant, nphd_date=data["nphd_date"], by=request.user)
            elif to == S.ARSIP:
                services.grant_archive(grant=grant, by=request.user)
            else:
                services.grant_transition(grant=grant, to=to, by=request.user, note=data["note"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            grant.refresh_from_db()
            return _done(request, _("%(kode)s: status is now “%(status)s”.")
                         % {"kode": grant.kode, "status": grant.get_status_display()},
                         reverse("grants:grant_detail", args=[pk]))
    return _dialog(request, "grants/status_form.html", {
        "grant": grant, "form": form, "can_change": can_change, "targets": targets,
        "action": reverse("grants:grant_status", args=[pk])})


@admin_required
def grant_assign(request, pk):
    grant = get_object_or_404(Grant.objects.select_related("institution", "petugas"), pk=pk)
    form = AssignForm(request.POST or None, initial={"petugas": grant.petugas_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.grant_assign(grant=grant, petugas=form.cleaned_data["petugas"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("%(kode)s has been assigned.") % {"kode": grant.kode},
                         reverse("grants:grant_detail", args=[pk]))
    return _dialog(request, "grants/assign_form.html", {
        "grant": grant, "form": form, "action": reverse("grants:grant_assign", args=[pk])})


@staff_required
def nphd_sign(request, pk):
    grant = _grant_for_change(request, pk)
    institution = grant.institution
    needs_contact = institution.current_contact is None
    form_class = NphdSignWithContactForm if needs_contact else NphdSignForm
    kwargs = {"language": get_language() or "id"} if needs_contact else {}
    form = form_class(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.grant_sign_nphd(
                grant=grant, signed_on=data["signed_on"], nphd_number=data["nphd_number"],
                lpj_due_date=data["lpj_due_date"], contact_person=data.get("person", ""),
                contact_phone=data.get("phone", ""), contact_region=data.get("region", "ID"), by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("%(kode)s: the NPHD has been recorded as signed.") % {"kode": grant.kode},
                         reverse("grants:grant_detail", args=[pk]))
    return _dialog(request, "grants/nphd_sign_form.html", {
        "grant": grant, "form": form, "needs_contact": needs_contact,
        "possible": S.NPHD_DITANDATANGANI in services.TRANSITIONS.get(grant.status, set()),
        "action": reverse("grants:nphd_sign", args=[pk])})


@staff_required
def disbursement(request, pk, stage):
    grant = _grant_for_change(request, pk)
    if stage not in (1, 2):
        return HttpResponse(status=404)
    paid = sum((d.amount for d in grant.disbursements.all()), 0)
    remaining = (grant.amount_approved or grant.nominal or 0) - paid
    form = DisbursementForm(request.POST or None, initial={"amount": remaining})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.disbursement_record(grant=grant, stage=stage, amount=data["amount"], paid_on=data["paid_on"],
                                         sp2d_number=data["sp2d_number"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("%(kode)s: disbursement stage %(stage)s has been recorded.")
                         % {"kode": grant.kode, "stage": "I" if stage == 1 else "II"},
                         reverse("grants:grant_detail", args=[pk]))
    target = S.PENCAIRAN_TAHAP_1_SELESAI if stage == 1 else S.PENCAIRAN_TAHAP_2_SELESAI
    return _dialog(request, "grants/disbursement_form.html", {
        "grant": grant, "form": form, "stage": stage, "stage_name": "I" if stage == 1 else "II",
        "paid": paid, "disbursements": grant.disbursements.all(),
        "possible": target in services.TRANSITIONS.get(grant.status, set()) and stage <= grant.stage_count,
        "action": reverse("grants:disbursement", args=[pk, stage])})


@staff_required
def lpj(request, pk):
    """SPJ/LPJ: due date, received, verified, close (which archives)."""
    grant = _grant_for_change(request, pk)
    targets = services.TRANSITIONS.get(grant.status, set())
    receive_form = LpjReceiveForm(request.POST if request.POST.get("op") == "receive" else None)
    due_form = LpjDueForm(request.POST if request.POST.get("op") == "due" else None,
                          initial={"due_date": grant.lpj_due_date})
    if request.method == "POST":
        op = request.POST.get("op")
        fallback = reverse("grants:grant_detail", args=[pk])
        try:
            if op == "receive" and receive_form.is_valid():
                services.lpj_receive(grant=grant, received_on=receive_form.cleaned_data["received_on"],
                                     by=request.user)
                return _done(request, _("%(kode)s: the LPJ has been recorded as received.") % {"kode": grant.kode},
                             fallback)
            if op == "due" and due_form.is_valid():
                services.lpj_set_due_date(grant=grant, due_date=due_form.cleaned_data["due_date"], by=request.user)
                return _done(request, _("%(kode)s: the LPJ due date has been saved.") % {"kode": grant.kode},
                             fallback)
            if op == "verify":
                services.lpj_verify(grant=grant, by=request.user)
                return _done(request, _("%(kode)s: the LPJ has been verified.") % {"kode": grant.kode}, fallback)
            if op == "close":
                services.grant_close(grant=grant, by=request.user)
                return _done(request, _("%(kode)s has been closed and archived.") % {"kode": grant.kode}, fallback)
        except ValidationError as error:
            form = receive_form if op == "receive" else due_form
            _add_errors(form, error)
            if op in {"verify", "close"}:
                messages.error(request, " ".join(error.messages))
    return _dialog(request, "grants/lpj_form.html", {
        "grant": grant, "receive_form": receive_form, "due_form": due_form,
        "can_receive": S.LPJ_DITERIMA in targets, "can_verify": S.LPJ_TERVERIFIKASI in targets,
        "can_close": S.SELESAI in targets, "action": reverse("grants:lpj", args=[pk])})


# ---------------------------------------------------------------- institutions and contacts


@staff_required
def institution_list(request):
    q = " ".join(param(request.GET, "q").split())[:200]
    institutions = Institution.objects.annotate(grant_count=Count("grants"))
    if q:
        institutions = institutions.filter(pk__in=institutions_named(q))
    regency = param(request.GET, "kabupaten")
    if regency:
        institutions = institutions.filter(regency=regency)
    page = Paginator(institutions.order_by("name", "id"), 25).get_page(request.GET.get("page"))
    from .models import REGENCIES

    return render(request, "grants/institution_list.html", {"page": page, "q": q, "regency": regency,
                                                            "regencies": REGENCIES})


@staff_required
def institution_detail(request, pk):
    institution = get_object_or_404(Institution, pk=pk)
    grants = institution.grants.select_related("petugas").order_by("-fiscal_year", "-created_at")
    return render(request, "grants/institution_detail.html", {
        "institution": institution, "contact": institution.current_contact,
        "history": institution.contacts.filter(is_current=False).select_related("created_by")[:20],
        "grants": grants[:100], "can_change": access.can_change_institution(request.user, institution),
    })


@staff_required
def institution_messages(request, pk):
    """Pesan: the institution's SMS thread (created on first use) in the shared modal; without htmx, the
    thread's messages in UCP > Pesan."""
    institution = get_object_or_404(Institution, pk=pk)
    conversation = messaging.institution_conversation(institution)
    if request.htmx:
        return redirect("sms:conversation_dialog", conversation.pk)
    return redirect(f"{reverse('sms:message_list')}?{urlencode({'q': institution.name})}")


@staff_required
def contact_edit(request, pk):
    """The Kontak dialog: Negara, Nomor Telepon (one mobile number), Kontak Person."""
    institution = get_object_or_404(Institution, pk=pk)
    can_change = access.can_change_institution(request.user, institution)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    current = institution.current_contact
    initial = {"region": current.region, "phone": current.phone_national, "person": current.person} if current else {}
    form = ContactForm(request.POST or None, initial=initial, language=get_language() or "id")
    grant = None
    grant_pk = id_param(request.GET, "hibah") or id_param(request.POST, "hibah")
    if grant_pk:
        grant = Grant.objects.filter(pk=grant_pk, institution=institution).first()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = services.contact_set(institution=institution, person=data["person"], phone=data["phone"],
                                           region=data["region"], by=request.user, grant=grant)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("The contact of %(institution)s is now %(person)s, %(phone)s.")
                         % {"institution": institution.name, "person": contact.person, "phone": contact.phone},
                         reverse("grants:institution_detail", args=[pk]))
    return _dialog(request, "grants/contact_form.html", {
        "institution": institution, "form": form, "contact": current, "can_change": can_change, "grant": grant,
        "history": institution.contacts.filter(is_current=False)[:5],
        "action": reverse("grants:contact_edit", args=[pk])})


# ---------------------------------------------------------------- import, fiscal year


@admin_required
def import_upload(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, preview = imports.stage_upload(form.cleaned_data["file"], user=request.user)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            previous = request.session.get("grants_import")
            if previous and previous != token:
                imports.cancel(previous)  # a new upload replaces the one waiting
            request.session["grants_import"] = token
            return render(request, "grants/import_preview.html", {"preview": preview, "token": token})
    return render(request, "grants/import_upload.html", {"form": form, "columns": imports.COLUMNS})


@admin_required
@require_POST
def import_confirm(request):
    token = request.POST.get("token", "")
    if not token or token != request.session.get("grants_import"):
        messages.error(request, _("The import has expired; upload the file again."))
        return redirect("grants:import_upload")
    request.session.pop("grants_import", None)  # the staged file is used up whatever the outcome
    try:
        summary = imports.confirm(token, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("grants:import_upload")
    audit.record(request, "import", target="grants.grant", count=summary["grants"],
                 detail="institutions={institutions} contacts={contacts} grants={grants}".format(**summary))
    messages.success(request, _("Import done: %(institutions)s new institutions, %(contacts)s contacts, "
                                "%(grants)s grants.") % summary)
    return redirect("grants:search")


@admin_required
@require_POST
def import_cancel(request):
    """The preview's Cancel: the staged file is removed at once."""
    token = request.session.pop("grants_import", None)
    if token:
        imports.cancel(token)
    messages.info(request, _("The import was cancelled; nothing was written."))
    return redirect("grants:import_upload")


@admin_required
def fiscal_year_close(request):
    form = FiscalYearCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["fiscal_year"]
        count = services.fiscal_year_close(fiscal_year=year, by=request.user)
        audit.record(request, "admin", target="grants.grant", detail=f"fiscal_year_close {year}", count=count)
        messages.success(request, _("Fiscal year %(year)s closed: %(count)s grants archived.")
                         % {"year": year, "count": count})
        return redirect("grants:fiscal_year_close")
    years = (Grant.objects.values("fiscal_year")
             .annotate(total=Count("pk"), arsip=Count("pk", filter=Q(status=S.ARSIP)))
             .order_by("-fiscal_year"))
    return render(request, "grants/fiscal_year_close.html", {"form": form, "years": years},
                  status=400 if form.is_bound else 200)
