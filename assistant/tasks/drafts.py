"""Draft tasks: thin and safe to run twice (`draft_generate` leaves a finished draft alone)."""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from assistant.llm import AIError

__all__ = ["draft_generate_task"]

logger = logging.getLogger(__name__)

DRAFT_MAX_RETRIES = 3
RETRY_BACKOFF = 30  # seconds, doubled each retry, with jitter


@shared_task(bind=True, max_retries=DRAFT_MAX_RETRIES)
def draft_generate_task(self, *, draft_id: str) -> str | None:
    """Ask the provider for a queued draft. Only a retryable provider failure (timeout, 429,
    5xx, unreachable) is retried, with backoff; anything else fails the draft at once, with
    its code. Run eagerly (no broker: `make run`), there is no retry: the editor is waiting
    on the page and can draft again."""
    from assistant.services.drafts import draft_generate

    final = self.request.is_eager or self.request.retries >= self.max_retries
    try:
        draft = draft_generate(draft_id=draft_id, final_attempt=final)
    except AIError as exc:  # retryable, and attempts are left
        countdown = get_exponential_backoff_interval(
            factor=RETRY_BACKOFF,
            retries=self.request.retries,
            maximum=settings.LMS_TASK_COUNTDOWN_MAX,
            full_jitter=True,
        )
        logger.warning(
            "Draft %s: provider failed (%s); retry %d in %d s",
            draft_id,
            exc.code,
            self.request.retries + 1,
            countdown,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    return draft.status if draft is not None else None
