"""Deleting an account, as its owner asks (the /profile/delete/ page and
`POST /api/v1/me/deletion/`).

Billing records must be kept (`Subscription.user` is PROTECT) and dashboards must keep their
numbers, so the user row is not deleted: it becomes an anonymous tombstone (no email, name,
bio, picture or password; inactive; `deleted_at` set), and every app's eraser
(`accounts.personal_data`) removes or anonymises what it holds, all in one transaction with
the audit entry and the confirmation email. Progress rows stay attached to the tombstone, so
rollups count them anonymously; wherever the name showed, "Deleted learner" shows.
"""

import logging
import uuid

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.personal_data import (
    personal_data_deletion_blockers,
    personal_data_erase,
    personal_data_sections,
)
from accounts.services import _files_delete, audit_record
from lms.email import email_send_template
from lms.errors import ApplicationError, ErrorCode

logger = logging.getLogger(__name__)

# The tombstone's address: unique (the column is), on the reserved `.invalid` domain, so it
# never reaches anyone and never equals an address someone signs up with.
TOMBSTONE_DOMAIN = "deleted.invalid"


def user_deletion_blockers(*, user: User) -> list[str]:
    """Why this account cannot be deleted now (empty when it can): the sections' rules."""
    return personal_data_deletion_blockers(user=user)


def user_account_delete(*, user: User, ip_address: str | None = None) -> User:
    """Delete the account of `user` as they asked: every section erased, the row made a
    tombstone, audited, every session ended, a confirmation emailed to the address they had.

    All or nothing: one transaction, the email queued in it (sent after commit). Deleting an
    account already deleted changes nothing. A blocker (the last superuser, a subscription
    still billed) raises ApplicationError ACCOUNT_DELETION_BLOCKED with the reasons.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.deleted_at is not None:
            return locked
        reasons = user_deletion_blockers(user=locked)
        if reasons:
            raise ApplicationError(ErrorCode.ACCOUNT_DELETION_BLOCKED, " ".join(reasons))
        email, name = locked.email, locked.display_name
        personal_data_erase(user=locked)
        audit_record(
            action=AuditLog.Action.ACCOUNT_DELETED,
            target=locked,
            details={"sections": [section.name for section in personal_data_sections()]},
        )
        email_send_template(
            to=email,
            template_prefix="accounts/email/account_deleted",
            context={"name": name, "deleted_at": locked.deleted_at},
        )
    user.__dict__.update(
        {field.attname: getattr(locked, field.attname) for field in User._meta.concrete_fields}
    )
    logger.info("Account %s deleted at its owner's request", locked.pk)
    return locked


def user_tombstone(*, user: User) -> None:
    """accounts' eraser: the row keeps its id and join date, nothing that names the person.

    Runs last (the other apps' erasers still read the email and name). Sessions end through
    allauth's usersessions (cookies and app tokens stop at once); the password is made
    unusable, which also invalidates any Django session by its auth hash.
    """
    usersessions_adapter().end_sessions(list(UserSession.objects.filter(user=user)))
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()  # with its tokens
    Authenticator.objects.filter(user=user).delete()
    # Entries the person wrote keep what was done, not who they were nor where from.
    AuditLog.objects.filter(actor=user).update(actor_email="", ip_address=None)
    AuditLog.objects.filter(
        actor=user,
        action__in=[
            AuditLog.Action.CERTIFICATE_NAME_CONFIRMED,
            AuditLog.Action.CERTIFICATE_NAME_CORRECTED,
        ],
    ).update(details={}, target_repr="")
    old_files = [file.name for file in (user.avatar, user.avatar_thumbnail) if file]
    storage = user.avatar.storage
    user.email = f"deleted-{uuid.UUID(str(user.pk)).hex}@{TOMBSTONE_DOMAIN}"
    user.display_name = ""
    user.bio = ""
    user.time_zone = "UTC"
    user.avatar = ""
    user.avatar_thumbnail = ""
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.last_login = None
    user.deleted_at = timezone.now()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    AuditLog.objects.filter(target_type="accounts.user", target_id=str(user.pk)).update(
        target_repr=str(user)
    )
    if old_files:
        transaction.on_commit(lambda: _files_delete(storage, old_files))
