"""Views for login, registration, the profile (UCP) tabs and the Admin's user management."""

from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from abah import audit
from abah.core.access import admin_required, login_only
from abah.core.forms import CleanTextMixin
from abah.core.redirects import safe_next

from . import registration, services
from .forms import (
    ApproveForm,
    AvatarForm,
    NotificationPrefsForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    RegistrationForm,
    RoleForm,
    SetPasswordForm,
    UserFilterForm,
)
from .models import User


class LoginForm(CleanTextMixin, auth_forms.AuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        # Django's text inserts the field's name into a sentence that already names it ("nama pengguna nama
        # pengguna" in Indonesian): our own wording names both fields once.
        "invalid_login": gettext_lazy(
            "The username or password is incorrect. Note that both fields are case-sensitive."
        ),
        "pending": gettext_lazy("Your account is waiting for an Admin's approval."),
        "inactive": gettext_lazy("Your account is not active. Contact an Admin."),
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            # Tell the owner of a correct password why they cannot get in; others learn nothing.
            user = User.objects.filter(username=self.cleaned_data.get("username")).first()
            if user and not user.is_active and user.check_password(self.cleaned_data.get("password") or ""):
                code = "pending" if user.is_pending else "inactive"
                raise ValidationError(self.error_messages[code], code=code) from None
            raise


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


login_view = login_not_required(LoginView.as_view())
# Logging out is harmless for anyone; an anonymous POST just lands on the login page.
logout_view = login_not_required(auth_views.LogoutView.as_view())


@login_not_required
def register(request):
    if request.user.is_authenticated:
        return redirect("core:dashboard")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The same answer whether or not the name or the address exists; the person learns which by e-mail.
        limit = registration.throttled(request)
        if limit:
            message = (_("Too many registrations from your address. Try again in an hour.") if limit == "address"
                       else _("Too many registrations right now. Try again in a few minutes."))
            return render(request, "accounts/register.html", {"form": form, "throttled": message}, status=429)
        data = form.cleaned_data
        if registration.email_taken(data["email"]):
            kind = "email_taken"
        elif registration.username_unavailable(data["username"]):
            kind = "username_taken"
        else:
            kind = "received"
            try:
                services.user_register(
                    username=data["username"],
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    password=data["password1"],
                )
            except IntegrityError:  # the same name registered a moment ago by someone else
                kind = "username_taken"
        registration.notify(kind, request=request, email=data["email"], username=data["username"])
        return render(request, "accounts/register_done.html", {"email": data["email"]})
    return render(request, "accounts/register.html", {"form": form})


# ---------------------------------------------------------------- profile (UCP)

PROFILE_TABS = [
    ("profile", gettext_lazy("Profile"), "accounts:profile"),
    ("avatar", gettext_lazy("Avatar"), "accounts:profile_avatar"),
    ("contact", gettext_lazy("Contact"), "accounts:profile_contact"),
    ("password", gettext_lazy("Password"), "accounts:profile_password"),
    ("notifications", gettext_lazy("Notifications"), "accounts:profile_notifications"),
]


def _profile_render(request, tab, context):
    return render(request, f"accounts/profile_{tab}.html", {"tabs": PROFILE_TABS, "active_tab": tab, **context})


@login_only
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile has been updated."))
        return redirect("accounts:profile")
    return _profile_render(request, "profile", {"form": form})


@login_only
def profile_avatar(request):
    form = AvatarForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if "remove" in request.POST:
            services.user_remove_avatar(user=request.user)
            messages.success(request, _("Your avatar has been removed."))
            return redirect("accounts:profile_avatar")
        if form.is_valid():
            try:
                services.user_set_avatar(user=request.user, upload=form.cleaned_data["avatar"])
            except ValidationError as error:
                request.user.refresh_from_db()
                form.add_error("avatar", error)
            else:
                messages.success(request, _("Your avatar has been updated."))
                return redirect("accounts:profile_avatar")
    return _profile_render(request, "avatar", {"form": form})


@login_only
def profile_contact(request):
    return _profile_render(request, "contact", {"contact_change_url": reverse("verification:contact")})


@login_only
def profile_password(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        from django.contrib.auth import update_session_auth_hash

        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, _("Your password has been changed."))
        return redirect("accounts:profile_password")
    return _profile_render(request, "password", {"form": form})


@login_only
def profile_notifications(request):
    form = NotificationPrefsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your notification settings have been updated."))
        return redirect("accounts:profile_notifications")
    return _profile_render(request, "notifications", {"form": form})


# ---------------------------------------------------------------- password reset (public)

password_reset = login_not_required(
    auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        form_class=PasswordResetForm,
        email_template_name="accounts/email/password_reset.txt",
        subject_template_name="accounts/email/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password_reset_done"),
    )
)
password_reset_done = login_not_required(
    auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
)
password_reset_confirm = login_not_required(
    auth_views.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html",
        form_class=SetPasswordForm,
        success_url=reverse_lazy("accounts:password_reset_complete"),
    )
)
password_reset_complete = login_not_required(
    auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html")
)


# ---------------------------------------------------------------- Admin: users


@admin_required
def user_list(request):
    form = UserFilterForm(request.GET or None)
    users = User.objects.all()
    state = "pending"
    query = ""
    if form.is_valid():
        state = form.cleaned_data["state"] or "pending"
        query = form.cleaned_data["q"].strip()
    if state == "pending":
        users = users.filter(is_active=False, role="", rejected_at__isnull=True, approved_at__isnull=True)
    elif state == "active":
        users = users.filter(is_active=True)
    elif state == "inactive":
        users = users.filter(is_active=False, approved_at__isnull=False)
    elif state == "rejected":
        users = users.filter(rejected_at__isnull=False, is_active=False)
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(email__icontains=query)
            | Q(first_name__icontains=query) | Q(last_name__icontains=query)
        )
    page = Paginator(users.order_by("-date_joined"), 25).get_page(request.GET.get("page"))
    pending_count = User.objects.filter(
        is_active=False, role="", rejected_at__isnull=True, approved_at__isnull=True
    ).count()
    return render(
        request,
        "accounts/user_list.html",
        {"form": form, "page": page, "state": state, "pending_count": pending_count, "roles": User.Role.choices},
    )


def _user_action(request, pk, action):
    target = get_object_or_404(User, pk=pk)
    try:
        action(target)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        audit.record(request, "admin", target=target,
                     detail=f"{action.__name__} {target.get_username()} role={target.role or '-'}")
    return redirect(safe_next(request, "accounts:user_list"))


@admin_required
@require_POST
def user_approve(request, pk):
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("accounts:user_list")

    def approve(target):
        services.user_approve(user=target, role=form.cleaned_data["role"], by=request.user)
        messages.success(request, _("%(name)s has been approved.") % {"name": target})

    return _user_action(request, pk, approve)


@admin_required
@require_POST
def user_reject(request, pk):
    def reject(target):
        services.user_reject(user=target, by=request.user)
        messages.success(request, _("The registration of %(name)s has been rejected.") % {"name": target})

    return _user_action(request, pk, reject)


@admin_required
@require_POST
def user_role(request, pk):
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("accounts:user_list")

    def set_role(target):
        services.user_set_role(user=target, role=form.cleaned_data["role"], by=request.user)
        messages.success(request, _("The role of %(name)s has been changed.") % {"name": target})

    return _user_action(request, pk, set_role)


@admin_required
@require_POST
def user_deactivate(request, pk):
    def deactivate(target):
        services.user_set_active(user=target, active=False, by=request.user)
        messages.success(request, _("%(name)s has been deactivated.") % {"name": target})

    return _user_action(request, pk, deactivate)


@admin_required
@require_POST
def user_activate(request, pk):
    def activate(target):
        services.user_set_active(user=target, active=True, by=request.user)
        messages.success(request, _("%(name)s has been activated.") % {"name": target})

    return _user_action(request, pk, activate)
