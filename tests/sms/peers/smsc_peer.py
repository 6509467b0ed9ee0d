"""A local SMSC for tests, on smpp34's SMPP server: accepts binds, answers submit_sm, sends receipts and MO.

Run as ``python -m tests.sms.peers.smsc_peer --journal FILE``; it prints one line ``READY <smpp> <control>``
(ports on 127.0.0.1) and serves until killed. Like an operator SMSC it keeps a journal of the receipts
it owes: a peer killed mid-run and started again on the same journal (and port) sends the receipts that
were never acknowledged with a deliver_sm_resp.

Options for the fault suite (tests/faults): ``--ids-from-one`` numbers the message ids "1", "2", … from 1 on
every start, as aggregators whose id counter restarts do (so ids of an earlier run are given out again);
``--no-resend`` sends each receipt at most once, even if it never got its deliver_sm_resp (and never after a
restart). Every accepted submit_sm is journalled with its destination, message id, run and time, so a test
counts duplicates (submits per destination > 1) from the journal, which survives the peer being killed.

The control port takes one command per line and answers one line:
    set <key> <value>   delay_ms (receipt delay), early (0/1: receipt before submit_sm_resp),
                        throttle (refuse the next N submits with ESME_RTHROTTLED), reject (regex of
                        destinations refused with ESME_RINVDSTADR), undeliv (regex: receipt UNDELIV),
                        expire (regex: receipt EXPIRED), hold (0/1: keep receipts until "release")
    release             send the held receipts
    mo <src> <dst> <gsm|ucs2> <hex of the UTF-8 text> [sar]   a mobile-originated message (split if long)
    raw <src> <dst> <data_coding> <hex of the short_message> [esm_class]   one deliver_sm with these exact bytes
    submits             the number of submit_sm accepted, all runs of this journal together
    stats               JSON: submits per destination, receipts sent and acknowledged, binds
"""

import argparse
import asyncio
import json
import os
import re
import sys
import time
from datetime import UTC, datetime

import smpp34

STATES = {"DELIVRD": 2, "EXPIRED": 3, "UNDELIV": 5, "REJECTD": 8}
ERRORS = {"DELIVRD": "000", "EXPIRED": "001", "UNDELIV": "005", "REJECTD": "008"}


class Peer:
    def __init__(self, journal: str, port: int, *, ids_from_one: bool = False, no_resend: bool = False):
        self.journal_path = journal
        self.ids_from_one, self.no_resend = ids_from_one, no_resend
        self.run = 1  # this start of the peer on this journal (1, 2, …)
        self.submitted = 0  # accepted submits, every run of the journal
        self.port = port
        self.sessions: dict[str, smpp34.Esme] = {}
        self.settings = {"delay_ms": 50, "early": 0, "throttle": 0, "reject": "", "undeliv": "", "expire": "", "hold": 0}
        self.held: list[dict] = []
        self.owed: dict[str, dict] = {}  # receipts not acknowledged yet, by key (run/message id: ids may repeat)
        self.submits: dict[str, int] = {}  # destination -> accepted submit_sm count
        self.receipts_sent = 0
        self.partial: dict[tuple, dict] = {}
        self.texts: dict[str, list[str]] = {}
        self.receipts_acked = 0
        self.binds = 0
        self.mo_ref = 0
        self.serial = 0 if ids_from_one else int(time.time() * 1000) % 10**9
        self._load_journal()
        self.journal = open(journal, "a", buffering=1)  # noqa: SIM115 (lives as long as the process)
        self._write(op="start", run=self.run, ids_from_one=ids_from_one, no_resend=no_resend, t=time.time())

    def _load_journal(self):
        if not os.path.exists(self.journal_path):
            return
        with open(self.journal_path) as journal:
            for line in journal:
                try:
                    record = json.loads(line)
                except ValueError:  # the last line of a peer killed while writing it
                    continue
                key = record.get("key", record.get("id"))
                if record["op"] == "start":
                    self.run = record["run"] + 1
                elif record["op"] == "owe":
                    self.owed[key] = record
                elif record["op"] in ("paid", "tried"):  # tried: sent once in --no-resend mode
                    self.owed.pop(key, None)
                elif record["op"] == "submit":
                    self.submits[record["dst"]] = self.submits.get(record["dst"], 0) + 1
                    self.submitted += 1

    def _write(self, **record):
        self.journal.write(json.dumps(record) + "\n")

    def next_id(self) -> str:
        self.serial += 1
        return str(self.serial) if self.ids_from_one else f"P{self.serial:010d}"

    # ------------------------------------------------------------ SMPP

    async def serve(self, server: smpp34.Server):
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                self.binds += 1
                self.sessions[event.session_id] = event
                for receipt in list(self.owed.values()):  # after a restart or a lost session
                    if not receipt.get("sending") and not (self.no_resend and receipt.get("tried")):
                        asyncio.get_running_loop().create_task(self.send_receipt(receipt))
            elif isinstance(event, smpp34.Unbound):
                self.sessions.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                await self.on_submit(event)

    async def on_submit(self, event):
        dst = event.destination_addr
        if self.settings["throttle"] > 0:
            self.settings["throttle"] -= 1
            event.reject(smpp34.ESME_RTHROTTLED)
            return
        if self.settings["reject"] and re.search(self.settings["reject"], dst):
            event.reject(smpp34.ESME_RINVDSTADR)
            return
        message_id = self.next_id()
        stat = "DELIVRD"
        if self.settings["undeliv"] and re.search(self.settings["undeliv"], dst):
            stat = "UNDELIV"
        elif self.settings["expire"] and re.search(self.settings["expire"], dst):
            stat = "EXPIRED"
        self.submits[dst] = self.submits.get(dst, 0) + 1
        self.submitted += 1
        self._write(op="submit", dst=dst, id=message_id, run=self.run, t=round(time.time(), 4))
        self._collect_text(event, dst)
        key = f"{self.run}/{message_id}"
        receipt = {"op": "owe", "key": key, "id": message_id, "dst": dst, "src": event.source_addr, "stat": stat}
        if event.registered_delivery & 0x03:
            self.owed[key] = receipt
            self._write(**receipt)
        loop = asyncio.get_running_loop()
        if not event.registered_delivery & 0x03:
            event.accept(message_id)
        elif self.settings["early"]:
            # The receipt overtakes the response: write it first, answer a moment later.
            loop.create_task(self.send_receipt(receipt))
            await asyncio.sleep(0.02)
            event.accept(message_id)
        else:
            event.accept(message_id)
            if self.settings["hold"]:
                self.held.append(receipt)
            else:
                loop.call_later(self.settings["delay_ms"] / 1000, lambda: loop.create_task(self.send_receipt(receipt)))

    def _collect_text(self, event, dst):
        """Reassemble what the handset would show (UDH or SAR), so tests can check a long text arrived whole."""
        data, concat = event.short_message, None
        if event.esm_class & 0x40 and data:
            header, data = data[: 1 + data[0]], data[1 + data[0] :]
            if len(header) >= 6 and header[1] == 0:
                concat = (header[3], header[4], header[5])
        else:
            tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
            if smpp34.TLV_SAR_TOTAL_SEGMENTS in tlvs:
                concat = (int.from_bytes(tlvs[smpp34.TLV_SAR_MSG_REF_NUM], "big"),
                          tlvs[smpp34.TLV_SAR_TOTAL_SEGMENTS][0], tlvs[smpp34.TLV_SAR_SEGMENT_SEQNUM][0])
        if concat is None:
            chunks = [data]
        else:
            ref, total, seq = concat
            parts = self.partial.setdefault((dst, ref, total), {})
            parts[seq] = data
            if len(parts) < total:
                return
            del self.partial[(dst, ref, total)]
            chunks = [parts[i] for i in range(1, total + 1)]
        joined = b"".join(chunks)
        text = joined.decode("utf-16-be", "replace") if event.data_coding == 8 else joined.decode("latin-1")
        self.texts.setdefault(dst, []).append(text)

    def _receiver(self):
        for esme in list(self.sessions.values()):
            if esme.can_receive:
                return esme
        return None

    async def send_receipt(self, receipt: dict):
        esme = self._receiver()
        if esme is None:
            return  # sent when an ESME binds
        if self.no_resend and receipt.get("tried"):
            return
        receipt["sending"] = True
        if self.no_resend:  # once only, whatever the answer; a restarted peer does not send it again either
            receipt["tried"] = True
            self.owed.pop(receipt["key"], None)
            self._write(op="tried", key=receipt["key"], id=receipt["id"])
        now = datetime.now(UTC).strftime("%y%m%d%H%M")
        stat = receipt["stat"]
        text = (f"id:{receipt['id']} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} submit date:{now} "
                f"done date:{now} stat:{stat} err:{ERRORS[stat]} text:")
        try:
            self.receipts_sent += 1
            resp = await esme.deliver_sm(
                receipt["src"] or "0", text.encode("ascii"), source_addr=receipt["dst"], esm_class=0x04,
                tlvs=[smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, receipt["id"].encode() + b"\0"),
                      smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([STATES[stat]]))],
            )
            ok = resp.is_success
        except Exception:
            ok = False
        receipt["sending"] = False
        if ok and self.no_resend:
            self.receipts_acked += 1
        elif ok and receipt["key"] in self.owed:
            self.receipts_acked += 1
            self.owed.pop(receipt["key"], None)
            self._write(op="paid", key=receipt["key"], id=receipt["id"])

    async def send_mo(self, src, dst, alphabet, text, sar=False) -> int:
        esme = self._receiver()
        if esme is None:
            return 0
        if alphabet == "ucs2":
            data, coding, size = text.encode("utf-16-be"), 8, 134
        else:
            data, coding, size = text.encode("ascii"), 0, 153
        if len(data) <= (140 if coding == 8 else 160):
            chunks = [data]
        else:
            chunks = [data[i : i + size] for i in range(0, len(data), size)]
        self.mo_ref = (self.mo_ref + 1) % 256
        total = len(chunks)
        parts = []
        for seq, chunk in enumerate(chunks, start=1):
            kwargs = {"source_addr": src, "data_coding": coding}
            if total > 1 and sar:
                kwargs["tlvs"] = [smpp34.Tlv(smpp34.TLV_SAR_MSG_REF_NUM, self.mo_ref.to_bytes(2, "big")),
                                  smpp34.Tlv(smpp34.TLV_SAR_TOTAL_SEGMENTS, bytes([total])),
                                  smpp34.Tlv(smpp34.TLV_SAR_SEGMENT_SEQNUM, bytes([seq]))]
            elif total > 1:
                kwargs["esm_class"] = 0x40
                chunk = bytes((5, 0, 3, self.mo_ref, total, seq)) + chunk
            parts.append((chunk, kwargs))

        async def deliver():  # in order, each after the previous one's deliver_sm_resp
            for chunk, kwargs in parts:
                await esme.deliver_sm(dst, chunk, **kwargs)

        asyncio.get_running_loop().create_task(deliver())
        return total

    async def send_raw(self, src, dst, data_coding, data, esm_class) -> str:
        """One deliver_sm with exactly these bytes (odd data: NUL, lone surrogates, 8-bit), not split."""
        esme = self._receiver()
        if esme is None:
            return "no session"

        async def deliver():
            await esme.deliver_sm(dst, data, source_addr=src, data_coding=data_coding, esm_class=esm_class)

        asyncio.get_running_loop().create_task(deliver())
        return "ok 1"

    # ------------------------------------------------------------ control

    async def control(self, reader, writer):
        try:
            while line := await reader.readline():
                words = line.decode().split()
                answer = await self.command(words) if words else "?"
                writer.write((answer + "\n").encode())
                await writer.drain()
        finally:
            writer.close()

    async def command(self, words) -> str:
        if words[0] == "set":
            key, value = words[1], words[2] if len(words) > 2 else ""
            self.settings[key] = int(value) if key in ("delay_ms", "early", "throttle", "hold") else value
            return "ok"
        if words[0] == "release":
            held, self.held = self.held, []
            for receipt in held:
                asyncio.get_running_loop().create_task(self.send_receipt(receipt))
            return f"ok {len(held)}"
        if words[0] == "mo":
            src, dst, alphabet, hextext = words[1:5]
            parts = await self.send_mo(src, dst, alphabet, bytes.fromhex(hextext).decode(), sar=words[5:6] == ["sar"])
            return f"ok {parts}"
        if words[0] == "raw":
            return await self.send_raw(words[1], words[2], int(words[3]), bytes.fromhex(words[4]),
                                       int(words[5]) if len(words) > 5 else 0)
        if words[0] == "submits":
            return str(self.submitted)
        if words[0] == "stats":
            return json.dumps({
                "submits": self.submits, "texts": self.texts, "receipts_sent": self.receipts_sent, "receipts_acked": self.receipts_acked,
                "owed": len(self.owed), "binds": self.binds, "sessions": len(self.sessions),
            })
        return "unknown command"


async def main(args):
    peer = Peer(args.journal, args.port, ids_from_one=args.ids_from_one, no_resend=args.no_resend)
    server = smpp34.Server("127.0.0.1", args.port, system_id="abahpeer", inbound_capacity=100_000)
    await server.start()
    control = await asyncio.start_server(peer.control, "127.0.0.1", args.control_port)
    control_port = control.sockets[0].getsockname()[1]
    print(f"READY {args.port} {control_port}", flush=True)
    await peer.serve(server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--ids-from-one", action="store_true", help='message ids "1", "2", … from 1 on every start')
    parser.add_argument("--no-resend", action="store_true", help="send each receipt once, acknowledged or not")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
    finally:
        sys.stdout.flush()
        os._exit(0)  # smpp34 may crash in interpreter teardown
