"""Signals for apps that stand on the SMS Center; both are sent after the transaction commits."""

from django.dispatch import Signal

# sender: the Message class; kwargs: message (the incoming Message), conversation (or None when unrouted).
message_received = Signal()

# sender: the Message class; kwargs: message, old_status, new_status (Message.Status values).
message_status_changed = Signal()

# sender: the Message class; kwargs: message, user — a staff member typed and queued a message (Pesan dialog).
message_typed = Signal()
