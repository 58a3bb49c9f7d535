"""Progress's beat tasks: thin and repeatable, each calling a service."""

from celery import shared_task


@shared_task(bind=True)
def section_release_notices_send(self) -> int:
    """Tell learners about the scheduled sections that opened for them (once each: the
    service's unique notice row). A run that reached its batch queues the next at once."""
    from django.conf import settings

    from progress.cohorts.releases import section_release_notices_send as send

    sent = send()
    if sent >= settings.LMS_RELEASE_NOTICE_BATCH:
        self.apply_async()
    return sent
