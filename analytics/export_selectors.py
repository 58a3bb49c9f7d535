"""Reads for learners' data exports (the metric reads live in `analytics.selectors`)."""

import uuid

from django.db.models import QuerySet

from accounts.models import User
from analytics.models import DataExport
from lms.errors import ErrorCode, NotFoundError


def data_export_list(*, user: User) -> QuerySet[DataExport]:
    """The user's exports, newest first."""
    return DataExport.objects.filter(user=user).order_by("-requested_at")


def data_export_get(*, user: User, export_id: uuid.UUID) -> DataExport:
    """One of the user's exports; someone else's id is as unknown as a made-up one."""
    export = DataExport.objects.filter(pk=export_id, user=user).first()
    if export is None:
        raise NotFoundError(ErrorCode.DATA_EXPORT_NOT_FOUND)
    return export
