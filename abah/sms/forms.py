"""Forms of the SMS Center."""

from django import forms
from django.utils.translation import gettext_lazy as _

from abah.core.forms import Form
from abah.core.params import parse_int


class ConversationSendForm(Form):
    """The Pesan dialog's compose box: the text (checked by ``services.send_manual``) and ``since``, the oldest
    message the open dialog shows. Everything is checked before anything is queued, so an answer with an error
    never follows a message that was sent anyway."""

    text = forms.CharField(required=False, strip=False)
    since = forms.CharField(required=False)

    def clean_since(self):
        raw = self.cleaned_data.get("since", "").strip()
        if not raw:
            return None
        since = parse_int(raw)
        if since is None:
            raise forms.ValidationError(_("The dialog is out of date; close it and open it again."), code="since")
        return since
