"""Every write to accounts: users, roles, the audit log."""

from collections.abc import Iterable
from typing import Any

from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.models import UserSession
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction

from accounts.avatars import avatar_files_from_upload
from accounts.models import AuditLog, User
from accounts.roles import (
    ROLE_GROUPS,
    Role,
    user_role_caches_clear,
    user_role_get,
    user_role_matches,
)
from accounts.selectors import user_session_get


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    target: models.Model | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit entry. Call it inside the transaction of the change it records."""
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditLog.objects.create(
        action=action,
        actor=actor,
        actor_email=actor.email if actor else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        ip_address=ip_address,
        details=details or {},
    )


# --- Profile: name, time zone, avatar, sessions (/profile/ and /api/v1/me/) --------------


def user_profile_update(
    *,
    user: User,
    display_name: str | None = None,
    time_zone: str | None = None,
    bio: str | None = None,
) -> User:
    """Change the profile fields given (None leaves a field as it is). Invalid values raise
    ValidationError keyed by field, and nothing is saved."""
    given = (("display_name", display_name), ("time_zone", time_zone), ("bio", bio))
    changes = {name: value for name, value in given if value is not None}
    for name in ("display_name", "bio"):
        if name in changes:
            changes[name] = changes[name].strip()
    errors: dict[str, list[ValidationError]] = {}
    for name, value in changes.items():
        try:
            # The model field's own checks: max_length, blank, validate_time_zone.
            changes[name] = User._meta.get_field(name).clean(value, user)
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    changes = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if changes:
        for name, value in changes.items():
            setattr(user, name, value)
        user.save(update_fields=list(changes))
    return user


@transaction.atomic
def user_avatar_set(*, user: User, upload: UploadedFile) -> User:
    """Replace the user's avatar with the uploaded picture (checked and re-encoded by
    `accounts.avatars`). A bad upload raises ValidationError on "avatar" and changes
    nothing; the old files are deleted only once the new ones are committed."""
    files = avatar_files_from_upload(upload)
    storage = user.avatar.storage
    old_names = _avatar_names_locked(user)
    user.avatar.save(files.picture.name, files.picture, save=False)
    user.avatar_thumbnail.save(files.thumbnail.name, files.thumbnail, save=False)
    new_names = _avatar_names(user)
    # If this transaction rolls back, the new files are the orphans, not the old ones.
    transaction.on_commit(lambda: _files_delete(storage, old_names))
    try:
        user.save(update_fields=["avatar", "avatar_thumbnail"])
    except Exception:
        _files_delete(storage, new_names)
        raise
    return user


@transaction.atomic
def user_avatar_remove(*, user: User) -> User:
    """Remove the user's avatar; the header falls back to their initial."""
    old_names = _avatar_names_locked(user)
    if not old_names:
        return user
    storage = user.avatar.storage
    user.avatar = ""
    user.avatar_thumbnail = ""
    user.save(update_fields=["avatar", "avatar_thumbnail"])
    transaction.on_commit(lambda: _files_delete(storage, old_names))
    return user


def _avatar_names(user: User) -> list[str]:
    return [file.name for file in (user.avatar, user.avatar_thumbnail) if file]


def _avatar_names_locked(user: User) -> list[str]:
    """The stored file names, read under a row lock: of two uploads at once, the second
    then deletes the first one's files instead of orphaning them."""
    names = (
        User.objects.select_for_update().values_list("avatar", "avatar_thumbnail").get(pk=user.pk)
    )
    return [name for name in names if name]


def _files_delete(storage: Storage, names: Iterable[str]) -> None:
    for name in names:
        storage.delete(name)


def user_sessions_end_others(*, user: User, keep_session_key: str | None) -> int:
    """End every session of the user but the one of `keep_session_key` (browsers and apps
    alike, through allauth's usersessions, so cookies and tokens stop at once), as after a
    password change. Returns how many were ended."""
    others = [
        session
        for session in UserSession.objects.filter(user=user)
        if session.session_key != keep_session_key
    ]
    usersessions_adapter().end_sessions(others)
    return len(others)


def user_session_revoke(*, user: User, session_id: int) -> UserSession:
    """End one of the user's sessions (a browser or an app), through allauth's usersessions,
    so its cookie, access token and refresh token all stop working at once. Another
    user's session id is NotFoundError (SESSION_NOT_FOUND)."""
    session = user_session_get(user=user, session_id=session_id)
    usersessions_adapter().end_sessions([session])
    return session


# --- Roles --------------------------------------------------------------------------------


@transaction.atomic
def user_role_set(
    *, user: User, role: Role | str, actor: User | None, ip_address: str | None = None
) -> User:
    """Make the user a learner, an instructor or staff (role group and staff status), and
    write `role.changed` with from/to in the same transaction.

    A user who already has the role, with its group, is left alone and nothing is recorded.
    Any role but staff also ends superuser status: a demoted superuser keeps no rights.
    """
    role = Role(role)
    # Locked, so two concurrent role changes cannot both read the same "from".
    locked = User.objects.select_for_update().get(pk=user.pk)
    if user_role_matches(locked, role):
        return user
    previous = user_role_get(locked)
    locked.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS.values()))
    if role in ROLE_GROUPS:
        locked.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
    locked.is_staff = role != Role.LEARNER
    locked.is_superuser = locked.is_superuser and role == Role.STAFF
    locked.save(update_fields=["is_staff", "is_superuser"])
    audit_record(
        action=AuditLog.Action.ROLE_CHANGED,
        actor=actor,
        target=locked,
        ip_address=ip_address,
        details={"from": previous.value, "to": role.value},
    )
    user.is_staff, user.is_superuser = locked.is_staff, locked.is_superuser
    user_role_caches_clear(user)
    return user


# --- Accounts made by operators: the first superuser, test learners -------------------------


def _email_verified_ensure(user: User) -> None:
    """Mark the user's address verified and primary, so they can sign in at once (allauth's
    verification is mandatory; an operator vouches for these addresses)."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


@transaction.atomic
def user_first_superuser_ensure(*, email: str, password: str) -> User | None:
    """Create the first superuser (staff role, verified address) unless the email has an
    account already; returns the new user, or None when nothing was done.

    An existing account is left exactly as it is, whatever its rights: running `migrate`
    again changes nothing, and a password changed since then is never reset. Promoting an
    existing account is a deliberate act for the admin or `manage.py shell`, not a
    side effect of an environment variable.
    """
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        return None
    candidate = User(email=email, is_staff=True, is_superuser=True)
    password_validation.validate_password(password, user=candidate)
    user = User.objects.create_superuser(email, password)
    _email_verified_ensure(user)
    return user_role_set(user=user, role=Role.STAFF, actor=None)


@transaction.atomic
def user_learner_ensure(
    *, email: str, password: str | None, display_name: str
) -> tuple[User, bool]:
    """Create a learner with a verified address, or update the one with this email: its
    password and name are set again (roles are left alone). Returns (user, created).
    `password=None` makes an account that cannot sign in with a password (demo learners)."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(email, password, display_name=display_name)
    else:
        user.set_password(password)
        user.display_name = display_name
        user.save(update_fields=["password", "display_name"])
    _email_verified_ensure(user)
    return user, created
