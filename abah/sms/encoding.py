"""SMS text encoding: GSM 03.38 7-bit or UCS-2, length and segment counting, SMPP payloads and UDH."""

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_SINGLE = 160
GSM7_MULTI = 153  # 160 septets minus the 6-octet concatenation UDH (7 septets with fill bits)
UCS2_SINGLE = 70
UCS2_MULTI = 67  # 140 octets minus the 6-octet UDH, in 2-octet units

DATA_CODING_DEFAULT = 0  # SMPP: the SMSC default alphabet, GSM 03.38 for every SMSC we talk to
DATA_CODING_UCS2 = 8

ESCAPE = 0x1B

# 3GPP TS 23.038 §6.2.1, the default alphabet in septet order 0x00-0x7F. Position 0x1B is the escape to the
# extension table, not a character: a literal U+001B in a text is therefore *not* GSM-7.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# 3GPP TS 23.038 §6.2.1.1, the extension table: each character is sent as ESC followed by this septet.
_EXTENSION_TABLE = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_BASIC_SEPTET = {char: septet for septet, char in enumerate(_BASIC_TABLE) if septet != ESCAPE}
_EXTENSION_BY_SEPTET = {septet: char for char, septet in _EXTENSION_TABLE.items()}

GSM_BASIC_CHARS = frozenset(_BASIC_SEPTET)
GSM_EXTENSION_CHARS = frozenset(_EXTENSION_TABLE)
GSM_CHARS = GSM_BASIC_CHARS | GSM_EXTENSION_CHARS

# Typographic characters that word processors, phones and Intl.NumberFormat slip into texts; each one alone
# would turn a 160-character SMS into a 70-character one.
_GSM_REPLACEMENTS = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),  # single quotes, prime, accents
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),  # double quotes, guillemets
        # no-break, narrow, thin and wide spaces, and tab
        **dict.fromkeys(
            "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t", " "
        ),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),  # hyphens, en/em dash, minus
        "\u2026": "...",
        # zero-width space, word joiner, BOM, soft hyphen; not the joiners (U+200C/D), which build emoji and scripts
        **dict.fromkeys("\u200b\u2060\ufeff\u00ad"),
    }
)


@dataclass(frozen=True)
class Analysis:
    """How a text goes out as SMS.

    `chars` is `len(text)`, the number of Unicode code points: an emoji outside the BMP counts 1 here (but 2 in
    `units`), and a combined grapheme (flag, family emoji, letter + combining accent) counts each code point.
    `units` is septets for GSM-7 (an extension character costs 2: escape + character) and UTF-16 code units
    for UCS-2. `per_segment` is the capacity of one segment in the same units: 160/70 for a single SMS,
    153/67 once the text needs a concatenation header. `parts` are the segment texts; joined they give the
    original text back. An empty text has 0 segments and no parts.
    """

    encoding: str
    chars: int
    units: int
    segments: int
    per_segment: int
    parts: tuple[str, ...]


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM 03.38 default alphabet or its extension table."""
    return GSM_CHARS.issuperset(text)


def _gsm7_units(char: str) -> int:
    return 2 if char in _EXTENSION_TABLE else 1


def _ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _split(text: str, cost, limit: int) -> list[str]:
    # Iterating code points keeps an extension character's escape pair, and an astral character's surrogate
    # pair, inside one segment: each is one item costing 2 units. A handset shows a split escape pair as
    # a space plus the wrong letter, and a split surrogate pair as two replacement marks.
    parts: list[str] = []
    start = used = 0
    for index, char in enumerate(text):
        units = cost(char)
        if used + units > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += units
    parts.append(text[start:])
    return parts


def analyze(text: str) -> Analysis:
    """Encoding, length, segment count and segment texts of one SMS text."""
    if is_gsm7(text):
        encoding, cost, single, multi = GSM7, _gsm7_units, GSM7_SINGLE, GSM7_MULTI
    else:
        encoding, cost, single, multi = UCS2, _ucs2_units, UCS2_SINGLE, UCS2_MULTI
    if not text:
        return Analysis(encoding, 0, 0, 0, single, ())
    # Units without a Python loop over every character (a broadcast analyses thousands of texts): only the
    # distinct characters that cost 2 (extension characters, astral characters) are counted one by one.
    if encoding == GSM7:
        doubles = set(text) & GSM_EXTENSION_CHARS
    else:
        doubles = {char for char in set(text) if ord(char) > 0xFFFF}
    units = len(text) + sum(text.count(char) for char in doubles)
    if units <= single:
        return Analysis(encoding, len(text), units, 1, single, (text,))
    if doubles:
        parts = tuple(_split(text, cost, multi))
    else:  # every character costs 1: the segments are plain slices
        parts = tuple(text[start : start + multi] for start in range(0, len(text), multi))
    return Analysis(encoding, len(text), units, len(parts), multi, parts)


def ucs2_culprits(text: str) -> list[str]:
    """The distinct characters, in order of first appearance, that keep the text out of GSM-7."""
    return list(dict.fromkeys(char for char in text if char not in GSM_CHARS))


def sanitize_for_gsm(text: str) -> str:
    """Replace typographic quotes, spaces, dashes and the ellipsis by GSM-7 equivalents; drop invisible
    characters (zero-width space, soft hyphen, BOM). Other non-GSM characters (emoji, other scripts) stay,
    so the result may still be UCS-2: check it with `ucs2_culprits`."""
    return text.translate(_GSM_REPLACEMENTS)


def gsm7_encode(text: str) -> bytes:
    """GSM-7 as unpacked septets, one byte each, with 0x1B before extension characters (SMPP data_coding 0).

    Raises ValueError naming the first character that GSM-7 cannot carry."""
    out = bytearray()
    for char in text:
        septet = _BASIC_SEPTET.get(char)
        if septet is not None:
            out.append(septet)
            continue
        septet = _EXTENSION_TABLE.get(char)
        if septet is None:
            raise ValueError(f"character {char!r} (U+{ord(char):04X}) is not in the GSM 03.38 alphabet")
        out += bytes((ESCAPE, septet))
    return bytes(out)


def gsm7_decode(data: bytes) -> str:
    """Unpacked GSM-7 septets to text.

    As TS 23.038 asks of a handset: an escape before a septet that the extension table does not define shows
    the default-alphabet character, and ESC ESC (reserved for a further table) shows a space. A dangling escape
    at the very end decodes to nothing; when reassembling a long message, join the parts' bytes before
    decoding, since other senders do split escape pairs. Raises ValueError on a byte above 0x7F."""
    out = []
    escaped = False
    for byte in data:
        if byte > 0x7F:
            raise ValueError(f"byte 0x{byte:02X} is not a GSM-7 septet")
        if escaped:
            escaped = False
            if byte == ESCAPE:
                out.append(" ")
            else:
                out.append(_EXTENSION_BY_SEPTET.get(byte, _BASIC_TABLE[byte]))
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(_BASIC_TABLE[byte])
    return "".join(out)


def encode_parts(text: str) -> tuple[int, list[bytes]]:
    """SMPP data_coding and the payload of each segment, without UDH.

    GSM-7: data_coding 0, unpacked septets (at most 160 bytes alone, 153 per segment). UCS-2: data_coding 8,
    UTF-16-BE (at most 140 bytes alone, 134 per segment); astral characters go out as surrogate pairs, which
    every current handset reassembles. An empty text gives no segments."""
    analysis = analyze(text)
    if analysis.encoding == GSM7:
        return DATA_CODING_DEFAULT, [gsm7_encode(part) for part in analysis.parts]
    # surrogatepass: a lone surrogate (never produced by a browser form) still costs exactly the one unit
    # that analyze() counted, instead of raising in the middle of a send.
    return DATA_CODING_UCS2, [part.encode("utf-16-be", "surrogatepass") for part in analysis.parts]


def udh_concat(ref: int, total: int, seq: int) -> bytes:
    """The concatenation UDH with an 8-bit reference (TS 23.040 IE 0x00): 05 00 03 ref total seq."""
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"reference {ref} does not fit in 8 bits")
    if not 1 <= seq <= total <= 0xFF:
        raise ValueError(f"part {seq} of {total} is not a valid concatenation position")
    return bytes((5, 0x00, 3, ref, total, seq))


def _tp_dcs_alphabet(dcs: int) -> str | None:
    # TS 23.038 §4 coding groups, for SMSCs that pass the air-interface TP-DCS through as data_coding.
    group = dcs >> 4
    if group <= 0x7:  # general data coding (0x00-0x3F) and its auto-deletion twin (0x40-0x7F)
        if dcs & 0x20:  # compressed: nothing we can decode
            return None
        return ("gsm", "8bit", "ucs2", None)[(dcs >> 2) & 0x03]
    if group in (0xC, 0xD):
        return "gsm"
    if group == 0xE:
        return "ucs2"
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm"
    return None


def decode_payload(data_coding: int, data: bytes) -> str:
    """Text of an inbound short_message (without UDH); never raises, since inbound text must be stored.

    0 and 1: unpacked GSM-7 (latin-1 if a byte is not a septet); 3: latin-1; 8: UTF-16-BE (broken or lone
    code units become U+FFFD, so join a long message's bytes before decoding). Values from 0x10 up are read as
    a TP-DCS coding group; anything else (octet data) as latin-1, which keeps every byte visible."""
    if data_coding in (0, 1):
        alphabet = "gsm"
    elif data_coding == DATA_CODING_UCS2:
        alphabet = "ucs2"
    elif data_coding >= 0x10:
        alphabet = _tp_dcs_alphabet(data_coding)
    else:
        alphabet = None
    if alphabet == "gsm":
        try:
            return gsm7_decode(data)
        except ValueError:
            return data.decode("latin-1")
    if alphabet == "ucs2":
        return data.decode("utf-16-be", "replace")
    return data.decode("latin-1")


def split_udh(data: bytes) -> tuple[bytes | None, bytes]:
    """Split a UDHI short_message into (UDH including its length octet, payload).

    A header whose length or information elements run past the data is malformed: the result is then
    (None, data), so the message is kept whole rather than lost."""
    if not data:
        return None, data
    end = 1 + data[0]
    if end > len(data):
        return None, data
    position = 1
    while position < end:
        if position + 2 > end or position + 2 + data[position + 1] > end:
            return None, data
        position += 2 + data[position + 1]
    return data[:end], data[end:]


def parse_concat(udh: bytes | None) -> tuple[int, int, int] | None:
    """(reference, total, sequence) from a UDH's concatenation IE, 8-bit (0x00) or 16-bit (0x08) reference.

    None when there is no such IE or it is invalid (total 0, sequence 0 or beyond total: TS 23.040 says to
    ignore the IE then)."""
    if not udh:
        return None
    end = min(len(udh), 1 + udh[0])
    position = 1
    while position + 2 <= end:
        iei, length = udh[position], udh[position + 1]
        value = udh[position + 2 : position + 2 + length]
        if len(value) < length:
            return None
        if iei == 0x00 and length == 3:
            ref, total, seq = value
        elif iei == 0x08 and length == 4:
            ref, total, seq = int.from_bytes(value[:2], "big"), value[2], value[3]
        else:
            position += 2 + length
            continue
        if total == 0 or not 1 <= seq <= total:
            return None
        return ref, total, seq
    return None
