"""An unknown placeholder is refused in Indonesian words that name it and list the allowed ones."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from abah.automation.templating import validate_text


@pytest.mark.parametrize("text,named", [("LPJ {foo}", "{foo}"), ("LPJ {foo} {bar}", "{foo}, {bar}")])
def test_unknown_placeholder_in_indonesian(text, named):
    with translation.override("id"), pytest.raises(ValidationError) as info:
        validate_text("lpj_billing", text)
    message = " ".join(info.value.messages)
    assert f"Penanda isian {named} tidak dikenal" in message
    assert "{lembaga}, {nama}, {tahun}" in message
    assert "Placeholder" not in message and "placeholder" not in message


def test_unknown_placeholder_in_english():
    with translation.override("en"), pytest.raises(ValidationError) as info:
        validate_text("lpj_billing", "LPJ {foo}")
    assert "The placeholder {foo} is not known" in " ".join(info.value.messages)
