"""Signals for apps that stand on the SMS Center; all are sent after the transaction commits."""

from django.dispatch import Signal

# sender: the Message class; kwargs: message (the incoming Message), conversation (or None when unrouted).
message_received = Signal()

# sender: the Message class; kwargs: message, old_status, new_status (Message.Status values).
message_status_changed = Signal()

# sender: the Message class; kwargs: message, user — a staff member typed and queued a message (Pesan dialog).
message_typed = Signal()

# sender: the Message class; kwargs: message_ids — outgoing messages that expire_unreported (abah/sms/expiry.py)
# just moved from SENT to NO_REPORT (no final delivery report in time). Sent once per batch, after commit; each
# id is in exactly one batch, whatever the number of workers.
messages_unreported = Signal()
