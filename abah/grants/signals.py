"""Hook points for the SMS side (notifications, automatic texts). Every signal is sent on commit,
except ``disbursement_recording``.

Receivers get ``sender=Grant`` (or ``Institution``) and keyword arguments:

- ``grant_status_changed``: grant, old_status, new_status, user
- ``nphd_signed``: grant, user
- ``disbursement_recorded``: grant, disbursement, user
- ``lpj_received``: grant, user
- ``lpj_verified``: grant, user
- ``contact_changed``: institution, contact, previous (Contact or None), user
- ``note_added``: grant, note, user
- ``disbursement_recording``: grant, disbursement, user — sent INSIDE the transaction, before commit:
  receivers may write rows that must commit with it (the disbursement notice SMS: the database is the
  outbox); an exception raised by a receiver rolls the disbursement back.
"""

from django.dispatch import Signal

grant_status_changed = Signal()
nphd_signed = Signal()
disbursement_recorded = Signal()
lpj_received = Signal()
lpj_verified = Signal()
contact_changed = Signal()
note_added = Signal()
disbursement_recording = Signal()
