"""The action links of a grant card (search results, grant page), and a hook for later features.

Another app replaces a placeholder ("undangan_nphd", "pesan") with
``register_action("pesan", fn)`` where ``fn(request, grant) -> dict | None`` returns overrides such as
{"url": …, "dialog": True, "enabled": True}.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.urls import get_script_prefix, reverse
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import access
from .models import Grant
from .services import TRANSITIONS

S = Grant.Status
_OVERRIDES: dict = {}


def register_action(key: str, fn) -> None:
    _OVERRIDES[key] = fn


@dataclass
class Action:
    key: str
    label: str
    icon: str
    url: str = ""
    dialog: bool = False
    enabled: bool = True
    title: str = ""
    style: str = "outline-secondary"


class ActionList(list):
    """The actions of one grant; renders itself as the row of buttons (``{{ grant.actions }}``)."""

    def __html__(self):
        return render_actions(self)

    def __str__(self):
        return self.__html__()


_DISABLED = ('<span class="d-inline-block" tabindex="0" title="{0}"><button type="button" '
             'class="btn btn-sm btn-outline-secondary" disabled data-testid="card-{1}" title="{0}">'
             '<i class="bi bi-{2}"></i> {3}</button></span>')
_DIALOG = ('<a class="btn btn-sm btn-{0}" href="{1}" hx-get="{1}" hx-target="#abah-modal-content" '
           'data-testid="card-{2}"><i class="bi bi-{3}"></i> {4}</a>')
_LINK = '<a class="btn btn-sm btn-{0}" href="{1}" data-testid="card-{2}"><i class="bi bi-{3}"></i> {4}</a>'


def render_actions(actions) -> str:
    """Python rather than a template loop: a search page renders 20 cards × 14 buttons (see bench/search.py). Each
    button's markup is built once per look (key, state, label, title, icon, style); only its address changes."""
    parts = [_button(a.key, bool(a.enabled), bool(a.dialog), a.style, str(a.title), str(a.label), a.icon)
             .replace(_URL_MARK, conditional_escape(a.url)) for a in actions]
    return mark_safe('<div class="d-flex flex-wrap gap-1 abah-grant-actions">' + "".join(parts) + "</div>")  # noqa: S308 - every part is escaped


_URL_MARK = "\x00url\x00"  # stands for the (escaped) address in a cached button; text never holds a NUL


@lru_cache(maxsize=1024)
def _button(key, enabled, dialog, style, title, label, icon) -> str:
    if not enabled:
        return format_html(_DISABLED, title, key, icon, label)
    return format_html(_DIALOG if dialog else _LINK, style, _URL_MARK, key, icon, label)


_SENTINEL = 987654321
_URLS: dict = {}


def _url(name: str, *args) -> str:
    """reverse() once per URL name and script prefix, then substitute the ids (reverse is slow in loops)."""
    key = (name, len(args), get_script_prefix())
    pattern = _URLS.get(key)
    if pattern is None:
        sentinels = [_SENTINEL + i for i in range(len(args))]
        pattern = reverse(f"grants:{name}", args=sentinels)
        for i, value in enumerate(sentinels):
            pattern = pattern.replace(str(value), "{" + str(i) + "}")
        _URLS[key] = pattern
    return pattern.format(*args)


def _t(text) -> str:
    """A lazy label as text in the current language (plain strings are returned as they are)."""
    return str(text) if isinstance(text, Promise) else text


NOT_AVAILABLE = _("Not available yet")
NOT_ALLOWED = _("Only the assigned officer or an Admin may do this.")
NOT_NOW = _("Not possible in the grant's current status.")


def _gate(action: Action, *, allowed: bool, possible: bool = True) -> Action:
    if not allowed:
        action.enabled, action.title = False, _t(NOT_ALLOWED)
    elif not possible:
        action.enabled, action.title = False, _t(NOT_NOW)
    return action


def actions_for(request, grant: Grant) -> ActionList:
    user = request.user
    change = access.can_change_grant(user, grant)
    targets = TRANSITIONS.get(grant.status, set())
    pk = grant.pk
    result = [
        Action("view", _("View"), "eye", _url("grant_detail", pk), style="primary"),
        Action("institution", _("Institution"), "building", _url("institution_detail", grant.institution_id)),
        Action("contact", _("Contact"), "person-lines-fill",
               _url("contact_edit", grant.institution_id) + f"?hibah={pk}", dialog=True),
        Action("undangan_nphd", _("NPHD invitation"), "calendar-event", enabled=False, title=_t(NOT_AVAILABLE)),
        Action("pesan", _("Messages"), "chat-dots", _url("institution_messages", grant.institution_id), dialog=True),
        _gate(Action("note", _("Add note"), "journal-plus", _url("note_add", pk), dialog=True),
              allowed=change),
        Action("log", _("Log"), "clock-history", _url("grant_log", pk), dialog=True),
        _gate(Action("status", _("Change status"), "arrow-left-right", _url("grant_status", pk),
                     dialog=True), allowed=change, possible=bool(targets)),
        _gate(Action("nphd_sign", _("NPHD signed"), "pen", _url("nphd_sign", pk), dialog=True),
              allowed=change, possible=S.NPHD_DITANDATANGANI in targets),
        _gate(Action("disbursement1", _("Disbursement stage I"), "cash-coin",
                     _url("disbursement", pk, 1), dialog=True),
              allowed=change, possible=S.PENCAIRAN_TAHAP_1_SELESAI in targets),
        _gate(Action("disbursement2", _("Disbursement stage II"), "cash-stack",
                     _url("disbursement", pk, 2), dialog=True),
              allowed=change, possible=grant.stage_count == 2 and S.PENCAIRAN_TAHAP_2_SELESAI in targets),
        _gate(Action("spj", _("SPJ"), "file-earmark-check", _url("lpj", pk), dialog=True),
              allowed=change),
    ]
    if access.can_assign(user):
        result.append(Action("assign", _("Assign to"), "person-check", _url("grant_assign", pk),
                             dialog=True))
    for action in result:
        action.label = _t(action.label)
        override = _OVERRIDES.get(action.key)
        if override:
            for key, value in (override(request, grant) or {}).items():
                setattr(action, key, value)
    return ActionList(result)
