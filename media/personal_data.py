"""media's part of a person's data (`accounts.personal_data`): the videos and files they
uploaded. Course content (videos, thumbnails, attachments: staff and instructors) is the
school's, so deleting the account keeps it, linked to the anonymous tombstone; pictures the
person uploaded for their avatar are deleted with their objects in the bucket. (The avatar
shown on the site is the user's own field, in accounts.)"""

from typing import Any

from django.core.files.storage import storages
from django.db import transaction

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from media.models import StoredFile, Video


def _export(user: User) -> dict[str, Any]:
    return {
        "videos_uploaded": list(
            Video.objects.filter(created_by=user).values("title", "source", "created_at")
        ),
        "files_uploaded": list(
            StoredFile.objects.filter(uploaded_by=user).values(
                "title", "purpose", "content_type", "size", "created_at"
            )
        ),
    }


def _erase(user: User) -> None:
    avatars = StoredFile.objects.filter(uploaded_by=user, purpose=StoredFile.Purpose.AVATAR)
    keys = list(avatars.values_list("key", flat=True))
    avatars.delete()
    if keys:
        storage = storages["default"]
        transaction.on_commit(lambda: [storage.delete(key) for key in keys])


personal_data_register(
    Section(
        name="uploads",
        title="Videos and files you uploaded for courses, if any (titles and dates).",
        export=_export,
        erase=_erase,
        on_deletion="Pictures you uploaded are deleted; videos and files you uploaded for "
        "courses stay with the school.",
        covers=("media.Video.created_by", "media.StoredFile.uploaded_by"),
    )
)
