"""Fuzz the SMS text and number parsers with hypothesis: nothing but the documented validation errors, whatever a
form, an import, an API body or a gateway hands them. (Issue 13: untrusted input everywhere.)"""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abah.core.text import clean_text
from abah.sms import encoding, phone, services

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as it may arrive: any code point (lone surrogates included), plus the characters numbers are made of.
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=400)
number_like = st.text(alphabet=st.sampled_from("0123456789+-() ./,;#*xX\u0660\u0661\u00b2\uff10\u00a0\t\n\x00"),
                      max_size=40)


@FUZZ
@given(st.one_of(any_text, number_like), st.sampled_from(["ID", "MY", "SG", "US", "ZZ", ""]))
def test_parse_mobile_answers_a_number_or_a_validation_error(raw, region):
    try:
        e164 = phone.parse_mobile(raw, region or phone.DEFAULT_REGION)
    except ValidationError as error:
        assert error.messages and all(message.strip() for message in error.messages)
        return
    assert e164.startswith("+") and e164[1:].isdigit() and 8 <= len(e164) <= 16
    assert phone.parse_mobile(e164) == e164  # stable
    assert phone.mask(e164) and phone.national(e164)


@FUZZ
@given(any_text)
def test_outgoing_text_is_clean_measured_and_encoded_or_refused_for_length(text):
    cleaned = services.normalize_text(text)
    assert cleaned == clean_text(cleaned).strip()
    assert not any("\ud800" <= ch <= "\udfff" or ch == "\x00" for ch in cleaned)
    try:
        analysis = services.check_length(cleaned)
    except ValidationError as error:
        assert error.code == "too_long"
        return
    data_coding, payloads = encoding.encode_parts(cleaned)
    assert data_coding in (0, 8)
    assert len(payloads) == analysis.segments or (not cleaned and len(payloads) <= 1)


@FUZZ
@given(st.integers(min_value=-1, max_value=300), st.binary(max_size=400))
def test_inbound_payloads_decode_to_text_whatever_the_bytes(data_coding, data):
    udh, body = encoding.split_udh(data)
    encoding.parse_concat(udh)
    text = encoding.decode_payload(max(0, data_coding), body)
    assert isinstance(text, str)
    assert isinstance(clean_text(text), str)
    clean_text(text).encode("utf-8")  # storable: no lone surrogates left


@FUZZ
@given(st.binary(max_size=200))
def test_parse_concat_never_raises(udh):
    result = encoding.parse_concat(udh)
    assert result is None or (len(result) == 3 and all(isinstance(v, int) for v in result))


@pytest.mark.django_db
@FUZZ
@given(number=st.one_of(any_text, number_like), text=any_text)
def test_receiving_anything_stores_it(number, text):
    message = services.receive_message(number=number, text=text, gateway="fuzz")
    message.refresh_from_db()
    assert message.text == clean_text(text)
    assert message.number
