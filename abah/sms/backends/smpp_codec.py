"""The few SMPP 3.4 PDUs on the hot path, packed and parsed with struct (smpplib still does bind and check).

smpplib builds every PDU through generic field tables and hex-dumps every PDU it sends or reads for a
DEBUG log line even when that level is off; at thousands of messages a second that was a third of the
worker's CPU. These functions produce the same bytes (SMPP 3.4 §4.4.1 submit_sm, §4.6.1 deliver_sm).
"""

import struct

HEADER = struct.Struct(">LLLL")  # command_length, command_id, command_status, sequence_number

GENERIC_NACK = 0x80000000
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015

# TLV tags (§5.3.2)
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427


class MalformedPDU(ValueError):
    pass


def pdu(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, sequence) + body


def _cstr(value) -> bytes:
    if isinstance(value, str):
        value = value.encode("latin-1")
    return (value or b"") + b"\0"


def submit_sm(sequence: int, *, service_type="", source_addr_ton=0, source_addr_npi=0, source_addr="",
              dest_addr_ton=1, dest_addr_npi=1, destination_addr="", esm_class=0, protocol_id=0, priority_flag=0,
              schedule_delivery_time="", validity_period="", registered_delivery=0, replace_if_present_flag=0,
              data_coding=0, sm_default_msg_id=0, short_message=b"", sar_msg_ref_num=None,
              sar_total_segments=None, sar_segment_seqnum=None) -> bytes:
    if len(short_message) > 254:
        raise ValueError("short_message longer than 254 octets")
    body = b"".join((
        _cstr(service_type),
        bytes((source_addr_ton, source_addr_npi)), _cstr(source_addr),
        bytes((dest_addr_ton, dest_addr_npi)), _cstr(destination_addr),
        bytes((esm_class, protocol_id, priority_flag)),
        _cstr(schedule_delivery_time), _cstr(validity_period),
        bytes((registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, len(short_message))),
        short_message,
    ))
    if sar_msg_ref_num is not None:
        body += struct.pack(">HHH", TLV_SAR_MSG_REF_NUM, 2, sar_msg_ref_num & 0xFFFF)
        body += struct.pack(">HHB", TLV_SAR_TOTAL_SEGMENTS, 1, sar_total_segments)
        body += struct.pack(">HHB", TLV_SAR_SEGMENT_SEQNUM, 1, sar_segment_seqnum)
    return pdu(SUBMIT_SM, sequence, body)


def message_id(body: bytes) -> bytes | None:
    """The message_id of a submit_sm_resp body (absent in an error response)."""
    if not body:
        return None
    end = body.find(b"\0")
    return body[:end] if end >= 0 else body


class DeliverSM:
    """The fields of a deliver_sm the backend reads, with smpplib's attribute names and types."""

    __slots__ = ("sequence", "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton",
                 "dest_addr_npi", "destination_addr", "esm_class", "protocol_id", "priority_flag", "registered_delivery",
                 "data_coding", "short_message", "receipted_message_id", "message_state", "message_payload",
                 "sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum", "network_error_code")

    def __init__(self, sequence: int):
        self.sequence = sequence
        self.receipted_message_id = self.message_state = self.message_payload = None
        self.sar_msg_ref_num = self.sar_total_segments = self.sar_segment_seqnum = None
        self.network_error_code = None


def parse_deliver_sm(sequence: int, body: bytes) -> DeliverSM:
    pdu = DeliverSM(sequence)
    try:
        pos = 0

        def cstr():
            nonlocal pos
            end = body.index(b"\0", pos)
            value, pos = body[pos:end], end + 1
            return value

        pdu.service_type = cstr()
        pdu.source_addr_ton, pdu.source_addr_npi = body[pos], body[pos + 1]
        pos += 2
        pdu.source_addr = cstr()
        pdu.dest_addr_ton, pdu.dest_addr_npi = body[pos], body[pos + 1]
        pos += 2
        pdu.destination_addr = cstr()
        pdu.esm_class, pdu.protocol_id, pdu.priority_flag = body[pos], body[pos + 1], body[pos + 2]
        pos += 3
        cstr()  # schedule_delivery_time
        cstr()  # validity_period
        pdu.registered_delivery, _replace, pdu.data_coding, _default_id, length = body[pos : pos + 5]
        pos += 5
        pdu.short_message = body[pos : pos + length]
        pos += length
        while pos + 4 <= len(body):
            tag, size = struct.unpack_from(">HH", body, pos)
            value = body[pos + 4 : pos + 4 + size]
            pos += 4 + size
            if tag == TLV_RECEIPTED_MESSAGE_ID:
                pdu.receipted_message_id = value.rstrip(b"\0")
            elif tag == TLV_MESSAGE_STATE and size:
                pdu.message_state = value[0]
            elif tag == TLV_MESSAGE_PAYLOAD:
                pdu.message_payload = value
            elif tag == TLV_SAR_MSG_REF_NUM and size:
                pdu.sar_msg_ref_num = int.from_bytes(value, "big")
            elif tag == TLV_SAR_TOTAL_SEGMENTS and size:
                pdu.sar_total_segments = value[0]
            elif tag == TLV_SAR_SEGMENT_SEQNUM and size:
                pdu.sar_segment_seqnum = value[0]
            elif tag == TLV_NETWORK_ERROR_CODE:
                pdu.network_error_code = value
    except (ValueError, IndexError) as error:
        raise MalformedPDU(f"malformed deliver_sm (sequence {sequence})") from error
    return pdu
