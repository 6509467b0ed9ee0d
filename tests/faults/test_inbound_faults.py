"""Odd inbound text from the SMSC peer, among good messages, into a running ``manage.py smsd``.

NUL in UCS-2 and in 8-bit data (PostgreSQL refuses U+0000: DataError), lone surrogates in UCS-2, 8-bit data
(data_coding 4), latin-1 with control characters, and two 10,000-character concatenated messages (GSM-7 in 66
parts, UCS-2 in 152 with a NUL and an emoji). Target: every message stored once, the good ones as sent, the
odd ones cleaned (abah.core.text.clean_text of what the SMSC sent), the worker alive throughout.
"""

import time

import pytest

from tests.faults.harness import WINDOW, Result, Workers, daemon_restarts, failure_details
from tests.sms.peers.fixtures import smpp_gateway

pytestmark = pytest.mark.faults

LONG_GSM = ("Mohon maaf kami belum menerima dana hibah tahap satu untuk lembaga kami " * 140)[:10_000]
LONG_UCS2 = ("Terima kasih 🙏 dana sudah masuk\x00 ke rekening lembaga Ы " * 200)[:10_000]

# (data_coding, bytes): what a handset or an SMSC may really send, and a database or a phone cannot hold.
ODD = [
    (8, "Halo\x00dunia, dana sudah kami terima".encode("utf-16-be")),  # NUL in UCS-2
    (8, b"\xd8\x3d" + "tanpa pasangan".encode("utf-16-be")),  # a lone high surrogate
    (8, "akhir".encode("utf-16-be") + b"\xdc\x00"),  # a lone low surrogate at the end
    (8, b"\xd8\x3d\xde\x4f" + " ok".encode("utf-16-be") + b"\x00"),  # a good pair, then a half code unit
    (4, b"\x00\x01\x02SALDO\xff\xfe\x7f\x80\x9f"),  # 8-bit data with NUL and C1 controls
    (3, b"Latin\x00-1 \x1b\x07 \xe9t\xe9"),  # latin-1 with NUL, ESC and BEL
    (0, b"GSM \x00 NUL\x1b\x00"),  # GSM-7 unpacked: 0x00 is '@'; a lone escape at the end
    (8, "\u2028baris\u0085baru\ufffe".encode("utf-16-be")),  # separators and a noncharacter
]


def _src(index: int) -> str:
    return f"62857{index:08d}"


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_odd_inbound_text_is_stored_cleaned_and_the_worker_lives(engine, database, make_peer, tmp_path):
    from abah.core.text import clean_text
    from abah.sms.encoding import decode_payload

    peer = make_peer()
    workers = Workers(database, {"default": smpp_gateway(peer, window=WINDOW)}, tmp_path)
    started = time.monotonic()
    workers.start()
    peer.wait_for_session(timeout=30)

    expected: dict[str, str] = {}  # source -> the text we must store
    index = 0
    for round_number in range(len(ODD) + 2):
        for _ in range(5):  # good ones around every odd one
            index += 1
            text = f"Terima kasih, dana hibah lembaga {index} sudah kami terima"
            peer.mo(_src(index), "ABAH", text)
            expected[_src(index)] = text
        index += 1
        if round_number < len(ODD):
            coding, data = ODD[round_number]
            peer.raw(_src(index), "ABAH", coding, data)
            expected[_src(index)] = clean_text(decode_payload(coding, data))
        elif round_number == len(ODD):
            assert peer.mo(_src(index), "ABAH", LONG_GSM) == 66
            expected[_src(index)] = LONG_GSM
        else:
            assert peer.mo(_src(index), "ABAH", LONG_UCS2, alphabet="ucs2") > 140
            expected[_src(index)] = clean_text(LONG_UCS2)
        workers.supervise()

    stored: dict[str, list[str]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers.supervise()
        rows = database.try_query("SELECT number, text FROM sms_message WHERE direction = 'in'")
        if rows is not None:
            stored = {}
            for num, text in rows:
                stored.setdefault(num.lstrip("+")[-9:], []).append(text)
            if len(rows) >= len(expected):
                break
        time.sleep(0.2)
    time.sleep(2)  # a redelivery (an acknowledgement lost) would show as a second row now
    workers.supervise()
    rows = database.query("SELECT number, text FROM sms_message WHERE direction = 'in'")
    stored = {}
    for num, text in rows:
        stored.setdefault(num.lstrip("+")[-9:], []).append(text)
    alive = workers.alive()
    workers.stop()

    result = Result("inbound-odd-text", engine, len(expected))
    wrong = []
    for src, text in expected.items():
        got = stored.get(src[-9:], [])
        if not got:
            result.lost += 1
            wrong.append((src, "missing"))
            continue
        result.duplicates += len(got) - 1
        if got[0] != text:
            wrong.append((src, f"stored {got[0][:60]!r}, expected {text[:60]!r}"))
    unclean = [text[:60] for texts in stored.values() for text in texts if clean_text(text) != text]
    result.worker_exits = len(workers.exits)
    result.errors = dict(workers.errors())
    result.daemon_restarts = daemon_restarts(workers.logs)
    result.seconds = time.monotonic() - started
    result.notes = f"odd={len(ODD) + 2} wrong_text={len(wrong) - result.lost} unclean={len(unclean)}"
    result.report()
    details = failure_details(result, workers.logs)
    assert result.worker_exits == 0 and alive, f"the worker died on inbound text: {workers.exits}\n{details}"
    assert result.lost == 0, f"inbound messages not stored: {wrong}\n{details}"
    assert result.duplicates == 0, f"inbound messages stored twice\n{details}"
    assert not wrong, f"texts not stored as expected: {wrong}\n{details}"
    assert not unclean, f"unclean text stored: {unclean}"
