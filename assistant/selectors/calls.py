"""Reads of the provider calls' ledger (LLMCall), for the admin."""

from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from assistant.models import LLMCall


class MonthTotals(TypedDict):
    month: datetime
    calls: int
    failed: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal


def calls_monthly_totals(*, months: int = 12) -> list[MonthTotals]:
    """Calls, failures, tokens and cost per calendar month (TIME_ZONE), newest first, for the
    last `months` months that had calls. One query."""
    now = timezone.localtime()
    first_year, first_month = divmod(now.year * 12 + now.month - 1 - (months - 1), 12)
    since = now.replace(
        year=first_year, month=first_month + 1, day=1, hour=0, minute=0, second=0, microsecond=0
    )
    rows = (
        LLMCall.objects.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(
            calls=Count("id"),
            failed=Count("id", filter=~Q(status=LLMCall.Status.OK)),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            cost_usd=Sum("cost_usd"),
        )
        .order_by("-month")
    )
    return list(rows)
