"""SMS encoding: GSM 03.38 tables, counting and segmenting edge cases, payloads, UDH, and properties."""

from dataclasses import FrozenInstanceError

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abah.sms import encoding
from abah.sms.encoding import (
    GSM_BASIC_CHARS,
    GSM_EXTENSION_CHARS,
    analyze,
    decode_payload,
    encode_parts,
    gsm7_decode,
    gsm7_encode,
    is_gsm7,
    parse_concat,
    sanitize_for_gsm,
    split_udh,
    ucs2_culprits,
    udh_concat,
)

EMOJI = "\U0001f600"  # 😀, outside the BMP: one character, two UTF-16 code units

T1 = (
    "Yth. Bpk/Ibu Pimpinan Yayasan Pondok Pesantren Al-Hikmah, dimohon hadir penandatanganan NPHD Hibah TA 2026 "
    "pd Senin, 30 November 2026 pkl 09.00 WIB di Gedung Negara Grahadi Surabaya. Bawa stempel, KTP asli Ketua, "
    "meterai 10.000. Info: 031-3524001. Biro Kesra Setdaprov Jatim"
)
T2 = (
    "Yth. Pimpinan Masjid Jami' Baitul Muttaqin Kabupaten Sidoarjo, dana hibah Tahap I TA 2026 Rp400.000.000,00 "
    "telah ditransfer ke rek. Bank Jatim ***4821 a.n. lembaga pd 30 November 2026. Gunakan sesuai NPHD. "
    "Tidak dipungut biaya apapun. Biro Kesra Jatim"
)

# id, text, encoding, chars, units, segments, per_segment, characters per part
EDGE_CASES = [
    ("empty", "", "GSM-7", 0, 0, 0, 160, []),
    ("one-char", "a", "GSM-7", 1, 1, 1, 160, [1]),
    ("160-gsm", "a" * 160, "GSM-7", 160, 160, 1, 160, [160]),
    ("161-gsm", "a" * 161, "GSM-7", 161, 161, 2, 153, [153, 8]),
    ("306-gsm", "a" * 306, "GSM-7", 306, 306, 2, 153, [153, 153]),
    ("307-gsm", "a" * 307, "GSM-7", 307, 307, 3, 153, [153, 153, 1]),
    ("80-euros", "€" * 80, "GSM-7", 80, 160, 1, 160, [80]),
    ("81-euros", "€" * 81, "GSM-7", 81, 162, 2, 153, [76, 5]),
    ("159+ext", "a" * 159 + "[", "GSM-7", 160, 161, 2, 153, [153, 7]),
    ("158+ext", "a" * 158 + "]", "GSM-7", 159, 160, 1, 160, [159]),
    # The escape would be septet 153 and its character 154: the pair moves whole to the next segment.
    ("ext-at-153", "a" * 152 + "€" + "b" * 10, "GSM-7", 163, 164, 2, 153, [152, 11]),
    ("ext-ends-153", "a" * 151 + "{" + "b" * 10, "GSM-7", 162, 163, 2, 153, [152, 10]),
    ("70-ucs2", "ç" * 70, "UCS-2", 70, 70, 1, 70, [70]),
    ("71-ucs2", "ç" * 71, "UCS-2", 71, 71, 2, 67, [67, 4]),
    ("134-ucs2", "中" * 134, "UCS-2", 134, 134, 2, 67, [67, 67]),
    ("135-ucs2", "中" * 135, "UCS-2", 135, 135, 3, 67, [67, 67, 1]),
    ("35-emoji", EMOJI * 35, "UCS-2", 35, 70, 1, 70, [35]),
    ("36-emoji", EMOJI * 36, "UCS-2", 36, 72, 2, 67, [33, 3]),
    # The high surrogate would be unit 67 and the low one unit 68: the emoji moves whole.
    ("emoji-at-67", "x" * 66 + EMOJI + "y" * 10, "UCS-2", 77, 78, 2, 67, [66, 11]),
    ("emoji-ends-67", "x" * 65 + EMOJI + "y" * 10, "UCS-2", 76, 77, 2, 67, [66, 10]),
    ("emoji-in-70", "x" * 68 + EMOJI, "UCS-2", 69, 70, 1, 70, [69]),
    ("rupiah-gsm", "Rp400.000.000,00", "GSM-7", 16, 16, 1, 160, [16]),
    ("rupiah-nbsp", "Rp\u00a0400", "UCS-2", 6, 6, 1, 70, [6]),
    ("curly-quote", "Jum\u2019at", "UCS-2", 6, 6, 1, 70, [6]),
    ("euro", "€", "GSM-7", 1, 2, 1, 160, [1]),
    ("gsm-accents", "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà¡¿§¤£¥", "GSM-7", 29, 29, 1, 160, [29]),
    ("greek", "ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 10, 10, 1, 160, [10]),
    ("all-extension", "\f^{}\\[~]|€", "GSM-7", 10, 20, 1, 160, [10]),
    ("newlines", "a\r\nb\nc", "GSM-7", 6, 6, 1, 160, [6]),
    ("lowercase-c-cedilla", "ç", "UCS-2", 1, 1, 1, 70, [1]),
    ("backtick", "`", "UCS-2", 1, 1, 1, 70, [1]),
    ("literal-escape", "\x1b", "UCS-2", 1, 1, 1, 70, [1]),
    ("tab", "a\tb", "UCS-2", 3, 3, 1, 70, [3]),
    ("T1-nphd", T1, "GSM-7", len(T1), 274, 2, 153, [153, 121]),
    ("T2-pencairan", T2, "GSM-7", len(T2), 251, 2, 153, [153, 98]),
]


@pytest.mark.parametrize(
    ("text", "enc", "chars", "units", "segments", "per_segment", "part_chars"),
    [case[1:] for case in EDGE_CASES],
    ids=[case[0] for case in EDGE_CASES],
)
def test_edge_cases(text, enc, chars, units, segments, per_segment, part_chars):
    result = analyze(text)
    assert result.encoding == enc
    assert result.chars == chars
    assert result.units == units
    assert result.segments == segments
    assert result.per_segment == per_segment
    assert [len(part) for part in result.parts] == part_chars
    assert "".join(result.parts) == text


def test_indonesian_templates_are_gsm_and_two_parts():
    for text in (T1, T2):
        result = analyze(text)
        assert (result.encoding, result.segments) == ("GSM-7", 2)
        assert 160 < result.units <= 306


def test_analysis_is_frozen():
    with pytest.raises(FrozenInstanceError):
        analyze("a").segments = 5


# ---------------------------------------------------------------- tables


def test_basic_table_has_128_distinct_positions():
    table = encoding._BASIC_TABLE
    assert len(table) == 128
    assert len(set(table)) == 128
    assert len(GSM_BASIC_CHARS) == 127  # the escape position is not a character
    assert not GSM_BASIC_CHARS & GSM_EXTENSION_CHARS


@pytest.mark.parametrize(
    ("char", "septets"),
    [
        ("@", b"\x00"), ("£", b"\x01"), ("$", b"\x02"), ("Ç", b"\x09"), ("\n", b"\x0a"), ("\r", b"\x0d"),
        ("Δ", b"\x10"), ("_", b"\x11"), ("Ξ", b"\x1a"), ("É", b"\x1f"), (" ", b"\x20"), ("¤", b"\x24"),
        ("¡", b"\x40"), ("A", b"\x41"), ("§", b"\x5f"), ("¿", b"\x60"), ("a", b"\x61"), ("à", b"\x7f"),
        ("\f", b"\x1b\x0a"), ("^", b"\x1b\x14"), ("{", b"\x1b\x28"), ("}", b"\x1b\x29"), ("\\", b"\x1b\x2f"),
        ("[", b"\x1b\x3c"), ("~", b"\x1b\x3d"), ("]", b"\x1b\x3e"), ("|", b"\x1b\x40"), ("€", b"\x1b\x65"),
    ],
)  # fmt: skip
def test_septet_values_follow_ts_23_038(char, septets):
    assert gsm7_encode(char) == septets
    assert gsm7_decode(septets) == char


def test_ascii_outside_gsm():
    assert [c for c in map(chr, range(32, 127)) if not is_gsm7(c)] == ["`"]


def test_gsm7_encode_refuses_other_characters():
    with pytest.raises(ValueError, match="U\\+00A0"):
        gsm7_encode("Rp\u00a0400")


def test_gsm7_decode_escape_rules():
    assert gsm7_decode(b"\x1b\x41") == "A"  # undefined extension: the default-alphabet character
    assert gsm7_decode(b"a\x1b\x1bb") == "a b"  # reserved escape-escape shows a space
    assert gsm7_decode(b"ab\x1b") == "ab"  # dangling escape at the end
    with pytest.raises(ValueError, match="0x80"):
        gsm7_decode(b"a\x80")


def test_is_gsm7():
    assert is_gsm7("")
    assert is_gsm7("Rp400.000.000,00 {[€]}")
    assert not is_gsm7("Rp\u00a0400")
    assert not is_gsm7(EMOJI)


# ---------------------------------------------------------------- payloads


def test_encode_parts_gsm_long():
    text = "a" * 152 + "€" + "b" * 10
    data_coding, parts = encode_parts(text)
    assert data_coding == 0
    assert parts == [b"a" * 152, b"\x1b\x65" + b"b" * 10]


def test_encode_parts_ucs2_surrogates():
    text = "x" * 66 + EMOJI + "yyy"  # 71 units: two segments, and unit 67 would be the high surrogate
    data_coding, parts = encode_parts(text)
    assert data_coding == 8
    assert parts == ["x".encode("utf-16-be") * 66, b"\xd8\x3d\xde\x00" + "yyy".encode("utf-16-be")]


def test_encode_parts_empty_and_single():
    assert encode_parts("") == (0, [])
    assert encode_parts("Hai") == (0, [b"Hai"])
    assert encode_parts("Hai\u2019") == (8, ["Hai\u2019".encode("utf-16-be")])


def test_decode_payload():
    assert decode_payload(0, gsm7_encode("Saldo €5 [ok]")) == "Saldo €5 [ok]"
    assert decode_payload(1, b"Halo") == "Halo"
    assert decode_payload(0, b"caf\xe9") == "café"  # not septets: kept as latin-1 rather than dropped
    assert decode_payload(3, b"caf\xe9") == "café"
    assert decode_payload(8, "Terima kasih 🙏".encode("utf-16-be")) == "Terima kasih 🙏"
    assert decode_payload(8, b"\x00a\x00") == "a\ufffd"  # odd length
    assert decode_payload(8, b"\xd8\x3d") == "\ufffd"  # lone high surrogate from a split pair
    assert decode_payload(4, b"\x00\xff") == "\x00\xff"
    assert decode_payload(0xF0, b"\x1b\x65") == "€"  # TP-DCS group 1111, default alphabet
    assert decode_payload(0xF4, b"\xe9") == "é"  # TP-DCS group 1111, 8-bit data
    assert decode_payload(0x18, "ç".encode("utf-16-be")) == "ç"  # TP-DCS general group, UCS-2 with a class
    assert decode_payload(0x28, b"ab") == "ab"  # compressed: bytes shown as latin-1


def test_udh_concat():
    assert udh_concat(0x2A, 2, 1).hex() == "0500032a0201"
    for ref, total, seq in ((256, 2, 1), (-1, 2, 1), (1, 2, 3), (1, 2, 0), (1, 0, 0), (1, 256, 1)):
        with pytest.raises(ValueError):
            udh_concat(ref, total, seq)


def test_split_udh_and_parse_concat():
    udh, payload = split_udh(bytes.fromhex("0500032a0302") + b"Halo")
    assert (udh.hex(), payload) == ("0500032a0302", b"Halo")
    assert parse_concat(udh) == (0x2A, 3, 2)

    udh, payload = split_udh(bytes.fromhex("06080412340201") + "ç".encode("utf-16-be"))
    assert parse_concat(udh) == (0x1234, 2, 1)
    assert decode_payload(8, payload) == "ç"

    # application port IE first, then the concatenation IE
    udh, payload = split_udh(bytes.fromhex("0b05040b8423f00003070201") + b"x")
    assert parse_concat(udh) == (7, 2, 1)
    assert payload == b"x"


@pytest.mark.parametrize(
    "raw",
    [b"", bytes.fromhex("05000301"), bytes.fromhex("0300050102ab"), bytes.fromhex("040003010201")],
    ids=["empty", "length-past-end", "ie-past-header", "ie-truncated"],
)
def test_split_udh_malformed_keeps_message(raw):
    assert split_udh(raw) == (None, raw)


def test_parse_concat_ignores_invalid():
    assert parse_concat(None) is None
    assert parse_concat(b"\x00") is None
    assert parse_concat(bytes.fromhex("0500032a0300")) is None  # sequence 0
    assert parse_concat(bytes.fromhex("0500032a0204")) is None  # sequence beyond total
    assert parse_concat(bytes.fromhex("0500032a0000")) is None  # total 0
    assert parse_concat(bytes.fromhex("0405020b84")) is None  # no concatenation IE


# ---------------------------------------------------------------- sanitizing


def test_sanitize_for_gsm():
    text = "\u201cHibah\u201d Jum\u2019at\u00a0Rp\u00a0400 \u2013 selesai\u2026\u200b"
    cleaned = sanitize_for_gsm(text)
    assert cleaned == '"Hibah" Jum\'at Rp 400 - selesai...'
    assert is_gsm7(cleaned)
    assert sanitize_for_gsm("Salam 🙏") == "Salam 🙏"


def test_ucs2_culprits():
    assert ucs2_culprits("Rp400.000,00 €") == []
    assert ucs2_culprits("Jum\u2019at \u2019 Rp\u00a0400 ç 🙏 ç") == ["\u2019", "\u00a0", "ç", "🙏"]


# ---------------------------------------------------------------- properties

GSM_ALPHABET = sorted(GSM_BASIC_CHARS)
EXTENSION = sorted(GSM_EXTENSION_CHARS)
TYPOGRAPHIC = ["\u2018", "\u2019", "\u201c", "\u201d", "\u00a0", "\u2013", "\u2014", "\u2026", "\u202f"]
OTHERS = ["á", "ç", "ő", "中", "ก", "\u0301", EMOJI, "\U0001f44d", "\U0001f3fd", "\U0001d11e", "\u200d"]

gsm_char = st.one_of(st.sampled_from(GSM_ALPHABET), st.sampled_from(EXTENSION))
any_char = st.one_of(
    st.sampled_from(GSM_ALPHABET),
    st.sampled_from(EXTENSION),
    st.sampled_from(TYPOGRAPHIC + OTHERS),
    st.characters(exclude_categories=("Cs",)),
)
gsm_texts = st.text(alphabet=gsm_char, max_size=500)
mixed_texts = st.text(alphabet=any_char, max_size=400)


@st.composite
def boundary_texts(draw):
    """A run of plain characters that puts a double-unit character right at a segment boundary."""
    gsm = draw(st.booleans())
    filler = draw(st.sampled_from(["a", "Z", "é", " "] if gsm else ["x", "中", "ç"]))
    special = draw(st.sampled_from(EXTENSION if gsm else [EMOJI, "\U0001f44d\U0001f3fd", "\U0001d11e"]))
    around = (
        [150, 151, 152, 153, 158, 159, 160, 161, 303, 304, 305, 306]
        if gsm
        else [64, 65, 66, 67, 68, 69, 70, 132, 133, 134]
    )
    head = filler * draw(st.sampled_from(around))
    tail = draw(st.text(alphabet=gsm_char if gsm else any_char, max_size=40))
    return head + special + tail


texts = st.one_of(gsm_texts, mixed_texts, boundary_texts())


def _units(part: str, enc: str) -> int:
    return len(gsm7_encode(part)) if enc == "GSM-7" else len(part.encode("utf-16-be", "surrogatepass")) // 2


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_segmentation_properties(text):
    result = analyze(text)
    assert "".join(result.parts) == text
    assert result.segments == len(result.parts)
    assert result.chars == len(text)
    assert result.encoding == ("GSM-7" if is_gsm7(text) else "UCS-2")
    assert result.units == _units(text, result.encoding)
    assert (result.segments == 0) == (text == "")
    single = 160 if result.encoding == "GSM-7" else 70
    assert result.per_segment == (single if result.segments <= 1 else single - (7 if single == 160 else 3))
    for index, part in enumerate(result.parts):
        assert part
        assert _units(part, result.encoding) <= result.per_segment
        if result.encoding == "UCS-2":
            code_units = part.encode("utf-16-be", "surrogatepass")
            assert not 0xDC00 <= int.from_bytes(code_units[:2], "big") <= 0xDFFF, (
                "part begins with a low surrogate"
            )
            assert not 0xD800 <= int.from_bytes(code_units[-2:], "big") <= 0xDBFF, (
                "part ends with a high surrogate"
            )
        else:
            septets = gsm7_encode(part)
            assert not septets.endswith(b"\x1b") or septets.endswith(b"\x1b\x1b"), "part ends with an escape"
            assert gsm7_decode(septets) == part
        if index + 1 < len(result.parts):
            # Greedy and therefore minimal: the next character would not have fitted into this part.
            following = result.parts[index + 1][0]
            assert _units(part + following, result.encoding) > result.per_segment


@settings(max_examples=300)
@given(gsm_texts)
def test_gsm7_round_trip(text):
    assert is_gsm7(text)
    assert gsm7_decode(gsm7_encode(text)) == text
    assert decode_payload(0, gsm7_encode(text)) == text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_encode_parts_properties(text):
    result = analyze(text)
    data_coding, parts = encode_parts(text)
    assert len(parts) == result.segments
    if result.encoding == "GSM-7":
        assert data_coding == 0
        limit = 160 if result.segments == 1 else 153
        assert "".join(gsm7_decode(part) for part in parts) == text
    else:
        assert data_coding == 8
        limit = 140 if result.segments == 1 else 134
        assert b"".join(parts).decode("utf-16-be") == text
        # every part decodes on its own: no surrogate pair was cut
        assert "".join(part.decode("utf-16-be") for part in parts) == text
    for part in parts:
        assert 0 < len(part) <= limit
        expected = part.decode("utf-16-be") if data_coding == 8 else gsm7_decode(part)
        assert decode_payload(data_coding, part) == expected
    total = len(parts)
    if total > 1:
        for seq, part in enumerate(parts, start=1):
            udh = udh_concat(0x7F, total, seq)
            if data_coding == 8:
                assert len(udh) + len(part) <= 140  # the octet budget of one SMS
            assert split_udh(udh + part) == (udh, part)
            assert parse_concat(udh) == (0x7F, total, seq)


@settings(max_examples=200)
@given(
    st.text(
        alphabet=st.one_of(gsm_char, st.sampled_from(TYPOGRAPHIC + ["\u200b", "\u00ad", "\t"])), max_size=200
    )
)
def test_sanitize_makes_typographic_text_gsm(text):
    cleaned = sanitize_for_gsm(text)
    assert is_gsm7(cleaned)
    assert ucs2_culprits(cleaned) == []


@settings(max_examples=200)
@given(mixed_texts)
def test_culprits_are_exactly_the_non_gsm_characters(text):
    culprits = ucs2_culprits(text)
    assert len(culprits) == len(set(culprits))
    assert set(culprits) == {c for c in text if not is_gsm7(c)}
    assert (culprits == []) == is_gsm7(text)
    assert is_gsm7("".join(c for c in text if c not in culprits))
