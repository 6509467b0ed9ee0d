"""The phone module: parse exactly one mobile number to E.164, refuse the rest with a translated error."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from abah.sms import phone


@pytest.mark.parametrize("raw", ["081230900095", "+6281230900095", "6281230900095", "81230900095", "0812-3090-0095",
                                 " 0812 3090 0095 "])
def test_indonesian_forms_parse_to_e164(raw):
    assert phone.parse_mobile(raw) == "+6281230900095"


def test_other_country():
    assert phone.parse_mobile("0412 345 678", "AU") == "+61412345678"


def test_mask_keeps_country_code_and_last_four():
    assert phone.mask("+6281230900095") == "+62*****0095"
    assert phone.mask("") == ""


@pytest.mark.parametrize(
    "raw,code",
    [
        ("", "empty"),
        ("0812abc0095", "letters"),
        ("081230900095, 081230900096", "several"),
        ("081230900095;081230900096", "several"),
        ("+62812+62813", "several"),
        ("0812 3090 0095 / 0813 3090 0096", "several"),
        ("08123090095 dan 08133090096", "several"),
        ("0812309009508133090096", "several"),
        ("0812#3090", "chars"),
        ("0313520000", "not_mobile"),  # a Surabaya landline
        ("0812", "invalid"),
    ],
)
def test_refused_with_code(raw, code):
    with pytest.raises(ValidationError) as info:
        phone.parse_mobile(raw)
    assert info.value.code == code


def test_errors_are_translated():
    with translation.override("id"), pytest.raises(ValidationError) as info:
        phone.parse_mobile("0812abc")
    assert info.value.messages == ["Nomor telepon tidak boleh berisi huruf."]
    with translation.override("id"), pytest.raises(ValidationError) as info:
        phone.parse_mobile("0313520000")
    assert "telepon rumah" in info.value.messages[0] or "bukan nomor telepon genggam" in info.value.messages[0]


def test_national_and_region():
    assert phone.national("+6281230900095").replace(" ", "").replace("-", "") == "081230900095"
    assert phone.region_of("+6281230900095") == "ID"
    assert phone.is_valid_mobile("081230900095")
    assert not phone.is_valid_mobile("hello")


def test_country_choices_start_with_indonesia():
    choices = phone.country_choices("id")
    assert choices[0] == ("ID", "Indonesia (+62)")
    assert len(choices) > 200


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789", min_size=0, max_size=13))  # E.164: at most 15 digits
def test_e164_fast_path_agrees_with_phonenumbers_parse(national):
    """"+62…" strings skip phonenumbers' free-form parser (bulk queues pass thousands of stored E.164 numbers);
    the verdict and the E.164 form must be those of phonenumbers.parse."""
    import phonenumbers

    raw = "+62" + national
    try:
        parsed = phonenumbers.parse(raw, "ID")
        kind = phonenumbers.number_type(parsed)
        if kind == phonenumbers.PhoneNumberType.UNKNOWN:
            expected = "invalid"
        elif kind not in phone.MOBILE_TYPES:
            expected = "not_mobile"
        else:
            expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        expected = "invalid"
    try:
        got = phone.parse_mobile(raw)
    except ValidationError as error:
        got = error.code
    assert got == expected
