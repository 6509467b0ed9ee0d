"""Demo NPHD appointments for `make run`: one processed (a text delivered, one to a dead number), others
waiting for Proses. Idempotent: nothing is added when appointments exist."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from abah.core.demo import register_seeder

# (days from today, number of institutions, processed?)
PLAN = [(3, 2, True), (6, 2, False), (10, 1, False)]


@register_seeder(50, "NPHD invitations")
def seed_appointments(*, size: int, stdout) -> None:
    from abah.grants.models import Grant
    from abah.sms.models import Message

    from . import services
    from .models import Appointment

    if Appointment.objects.exists():
        stdout.write("  NPHD appointments exist already; nothing to do")
        return
    needed = sum(n for _days, n, _processed in PLAN)
    grants = list(Grant.objects.filter(status=Grant.Status.DITETAPKAN, petugas__isnull=False,
                                       petugas__is_active=True, nphd_invitations__isnull=True)
                  .select_related("institution", "petugas").order_by("petugas__username", "id")[:needed])
    if len(grants) < needed:
        stdout.write("  not enough grants with an SK for demo invitations; nothing to do")
        return
    today = timezone.localdate()
    now = timezone.now()
    count = 0
    with transaction.atomic():
        for days, n, processed in PLAN:
            group, grants = grants[:n], grants[n:]
            # The same petugas for one appointment: use the first grant's officer for the group.
            petugas = group[0].petugas
            invitation = None
            for grant in group:
                if grant.petugas_id != petugas.pk:
                    Grant.objects.filter(pk=grant.pk).update(petugas=petugas)
                    grant.petugas = petugas
                contact = grant.institution.current_contact
                invitation = services.invitation_create(  # demo grants are valid: errors here are bugs
                    grant=grant, date=today + datetime.timedelta(days=days),
                    phone=contact.phone if contact else f"+62812309{grant.pk % 100000:05d}"[:14],
                    person=contact.person if contact else "Ahmad Fauzi", region="ID", by=petugas)
                count += 1
            if processed and invitation is not None:
                try:
                    with transaction.atomic():
                        sent = services.appointment_process(appointment=invitation.appointment, by=petugas)
                except ValidationError as error:  # e.g. no invitation template: the appointment stays unsent
                    stdout.write(f"  appointment #{invitation.appointment_id} not processed: {' '.join(error.messages)}")
                    continue
                for i, message in enumerate(sent):
                    # Aged as if the worker had sent them and the operator had reported back.
                    if i % 2 == 0:
                        Message.objects.filter(pk=message.pk).update(
                            status=Message.Status.DELIVERED, attempts=1, gateway="simulator", sent_at=now,
                            delivered_at=now + datetime.timedelta(seconds=8))
                    else:
                        Message.objects.filter(pk=message.pk).update(
                            status=Message.Status.FAILED, attempts=1, gateway="simulator", sent_at=now,
                            failed_at=now + datetime.timedelta(seconds=8), error_code="absent_subscriber",
                            error_reason="absent subscriber")
    stdout.write(f"  {len(PLAN)} NPHD appointments, {count} invitations")
