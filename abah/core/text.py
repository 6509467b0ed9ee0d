"""Clean text at the boundary: the one function every entry (gateways, forms, imports, API) passes text through.

PostgreSQL refuses U+0000 in text (DataError), a UTF-8 encoder refuses lone surrogates (UCS-2 payloads cut in
the middle of a pair), and control characters break phones, CSV readers and the page. They are removed or
replaced here, once, before anything is stored.
"""

import re

# NEL (U+0085), LINE SEPARATOR and PARAGRAPH SEPARATOR end a line: they become LF, which every phone and every
# textarea shows as one (a phone shows U+2028 as a box or nothing, a CSV reader starts a new record at NEL).
_NEWLINE = re.compile("[\x85\u2028\u2029]")
# C0 controls but TAB, LF and CR; DEL and the C1 controls; the noncharacters U+FFFE / U+FFFF.
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
# Anything at all to do: clean text (the common case) costs one search.
_ANY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def clean_text(value) -> str:
    """``value`` as text a database and a phone can hold: controls and NUL removed, lone surrogates replaced by
    U+FFFD (a valid pair that arrived as two code points is joined into its character first), NEL / U+2028 /
    U+2029 turned into LF. ``None`` is ""; anything else is its ``str()``. Cleaning clean text changes nothing."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not _ANY.search(text):
        return text
    if _SURROGATE.search(text):
        # Join valid pairs (surrogatepass round trip), then replace what is left alone.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        text = _SURROGATE.sub(REPLACEMENT, text)
    if _NEWLINE.search(text):
        text = _NEWLINE.sub("\n", text)
    if _DROP.search(text):
        text = _DROP.sub("", text)
    return text


def param(params, name: str, default: str = "") -> str:
    """The text parameter ``name`` of a query (``request.GET`` / ``request.POST``), cleaned: what views read as
    text (a search box, a filter, a number) passes through here, so a NUL typed in a URL never reaches the
    database. A parameter given twice counts by its last value, as ``QueryDict.get`` does."""
    value = params.get(name, default)
    return clean_text(value) if isinstance(value, str) else default


def clean_data(data, *, keep=()):
    """A copy of submitted form data (a ``QueryDict``, a ``MultiValueDict`` or a plain dict) with every string
    value cleaned but those of the keys in ``keep``; other values (numbers given in tests, files) are kept as
    they are. ``data`` is not changed."""
    if hasattr(data, "setlist") and hasattr(data, "lists"):
        cleaned = data.copy()  # a QueryDict's copy is mutable
        for key, values in data.lists():
            if key not in keep and any(isinstance(v, str) and _ANY.search(v) for v in values):
                cleaned.setlist(key, [clean_text(v) if isinstance(v, str) else v for v in values])
        return cleaned
    cleaned = {}
    for key, value in data.items():
        if key in keep:
            pass
        elif isinstance(value, str):
            value = clean_text(value)
        elif isinstance(value, (list, tuple)):
            value = type(value)(clean_text(v) if isinstance(v, str) else v for v in value)
        cleaned[key] = value
    return cleaned
