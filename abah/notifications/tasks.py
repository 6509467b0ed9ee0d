"""Background tasks (django.tasks, run by the django-tasks-db worker): e-mail copies of notifications."""

from django.tasks import task

from . import services


@task()
def send_delivery_email(delivery_id: int) -> str:
    """Send one claimed e-mail delivery; a second run of the same task finds nothing to claim."""
    return services.delivery_send_email(delivery_id=delivery_id)
