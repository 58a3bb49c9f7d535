"""Platform tasks: email delivery."""

import logging

from celery import shared_task

from lms.email import email_build

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    queue="email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def email_deliver(self, *, payload: dict) -> None:
    """Send one rendered email. SMTP and network failures (OSError) are retried with backoff."""
    email_build(payload).send(fail_silently=False)
