"""Clean text at the boundary: the one function every entry (gateways, forms, imports, API) passes text through.

PostgreSQL refuses U+0000 in text (DataError), a UTF-8 encoder refuses lone surrogates (UCS-2 payloads cut in
the middle of a pair), and control characters break phones, CSV readers and the page. They are removed or
replaced here, once, before anything is stored.
"""

import re

# C0 controls but TAB, LF and CR; DEL and the C1 controls; the noncharacters U+FFFE / U+FFFF.
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(value) -> str:
    """``value`` as text a database and a phone can hold: controls and NUL removed, lone surrogates replaced by
    U+FFFD (a valid pair that arrived as two code points is joined into its character first)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _SURROGATE.search(text):
        # Join valid pairs (surrogatepass round trip), then replace what is left alone.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        text = _SURROGATE.sub(REPLACEMENT, text)
    if _DROP.search(text):
        text = _DROP.sub("", text)
    return text
