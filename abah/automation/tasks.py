"""Background tasks (django.tasks, run by the django-tasks-db worker): queueing a confirmed broadcast."""

from django.tasks import task


@task()
def run_broadcast(broadcast_id: int) -> str:
    """Queue every message of a confirmed broadcast; a second run of the same task finds it not pending."""
    from .broadcasts import broadcast_run

    return broadcast_run(broadcast_id=broadcast_id)
