"""Helpers of the "clean text at every entry" tests (tests/*/test_clean_text_entries.py).

A browser sends UTF-8; a hostile or broken client sends anything. The test client encodes ``str`` data as UTF-8,
so a lone surrogate cannot be sent as such: it goes as the bytes a UTF-16 surrogate would take in (invalid)
UTF-8, ``%ED%A0%80``, which Django decodes with replacement characters. NUL and control characters go as they
are (``%00``, ``%01``…).
"""

from urllib.parse import quote_from_bytes, urlencode

SURROGATE_BYTES = b"\xed\xa0\x80"  # U+D800 "encoded" as UTF-8: invalid, decoded by Django as replacements
REPLACED = SURROGATE_BYTES.decode("utf-8", "replace")
NASTY = "\x00\x01\x1b\x7f\x9f"  # NUL, C0, ESC, DEL, C1: all removed


def nasty(text: str, *, surrogate: bool = True) -> bytes:
    """``text`` with NUL and control characters inside and (``surrogate``) the bytes of a lone surrogate at the
    end; without it the cleaned value is ``text`` itself (for numbers, codes and searches)."""
    head, tail = text[: len(text) // 2], text[len(text) // 2 :]
    raw = (head + NASTY + tail + "\x00").encode("utf-8")
    return raw + SURROGATE_BYTES if surrogate else raw


def cleaned(text: str, *, surrogate: bool = True) -> str:
    """What ``nasty(text, surrogate=…)`` is once it has passed the boundary."""
    return text + REPLACED if surrogate else text


def body(data: dict) -> str:
    """An application/x-www-form-urlencoded body; ``bytes`` values go byte for byte."""
    return urlencode(data, doseq=True)


def post(client, url, data: dict, **extra):
    return client.post(url, body(data), content_type="application/x-www-form-urlencoded", **extra)


def query(url: str, data: dict) -> str:
    """``url`` with a query string; ``bytes`` values go byte for byte (percent-encoded)."""
    parts = [f"{k}={quote_from_bytes(v) if isinstance(v, bytes) else quote_from_bytes(str(v).encode())}"
             for k, v in data.items()]
    return f"{url}?{'&'.join(parts)}"


def no_nul(value: str) -> bool:
    return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
