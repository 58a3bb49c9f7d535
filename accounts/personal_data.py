"""One registry of the personal data the school holds, section by section (GDPR art. 15/17).

Each app that keeps data about a person registers one `Section` from its AppConfig.ready (via
its own `personal_data.py`): an exporter that returns JSON-able data for the learner's
download, and an eraser that removes or anonymises that data inside the account-deletion
transaction. `covers` names every foreign key to the user model the section answers for
("app_label.Model.field"); a test checks that every such key of every installed model is
covered, so a new model with a user field cannot be forgotten by the export or the deletion.

accounts sits at the bottom of the dependency chain, so the registry lives here and knows no
app: the apps above register themselves. The accounts section itself (the tombstone: no
email, no name, no password, no sessions) is registered first and erased last.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import User

Exporter = Callable[[User], Any]
Eraser = Callable[[User], None]
# A reason the account cannot be deleted right now ("" or None: nothing in the way).
Blocker = Callable[[User], str | None]
# Files to put in the download beside the JSON: (name in the ZIP, storage, stored name).
FileLister = Callable[[User], Iterable[tuple[str, Any, str]]]


@dataclass(frozen=True)
class Section:
    """One app's part of a person's data.

    `name` is the JSON file's name in the export (`<name>.json`); `title` and `on_deletion`
    are read by people: the README.txt of the export and the account deletion page say what
    each section holds and what deleting the account does to it.
    """

    name: str
    title: str
    export: Exporter
    erase: Eraser
    on_deletion: str
    covers: tuple[str, ...] = ()
    blocker: Blocker | None = None
    files: FileLister | None = None
    # Foreign keys to the user whose rows are not this person's data but other people's
    # work that merely names them (a staff member who handled a report, ...): left as they
    # are, pointing at the anonymous tombstone. Listed so the coverage test knows them.
    keeps: tuple[str, ...] = field(default=())


_sections: dict[str, Section] = {}


def personal_data_register(section: Section) -> Section:
    """Add (or replace, on a reload) a section. Called from the apps' AppConfig.ready."""
    _sections[section.name] = section
    return section


def personal_data_sections() -> list[Section]:
    """Every section, in registration order (INSTALLED_APPS order: accounts first)."""
    return list(_sections.values())


def personal_data_covered_fields() -> set[str]:
    """Every "app_label.Model.field" some section answers for (exports or keeps)."""
    return {label for section in _sections.values() for label in (*section.covers, *section.keeps)}


def personal_data_export(*, user: User) -> dict[str, Any]:
    """Everything the school holds about `user`, by section name."""
    return {section.name: section.export(user) for section in personal_data_sections()}


def personal_data_files(*, user: User) -> list[tuple[str, Any, str]]:
    """The user's own files (their picture, ...) to add to the export."""
    found: list[tuple[str, Any, str]] = []
    for section in personal_data_sections():
        if section.files is not None:
            found.extend(section.files(user))
    return found


def personal_data_deletion_blockers(*, user: User) -> list[str]:
    """Why the account cannot be deleted right now (an open subscription, the last
    superuser, ...): one sentence per reason; empty when it can."""
    reasons = []
    for section in personal_data_sections():
        if section.blocker is not None and (reason := section.blocker(user)):
            reasons.append(str(reason))
    return reasons


def personal_data_erase(*, user: User) -> None:
    """Run every section's eraser, the apps above first and accounts (the tombstone) last,
    so each eraser still sees the person's email and name. Call inside one transaction."""
    for section in reversed(personal_data_sections()):
        section.erase(user)


# --- accounts' own section: the profile, sign-in data, sessions, audit entries -------------


def _accounts_export(user: User) -> dict[str, Any]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount
    from allauth.usersessions.models import UserSession
    from django.contrib.admin.models import LogEntry

    from accounts.models import AuditLog

    return {
        "profile": {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "bio": user.bio,
            "time_zone": user.time_zone,
            "avatar": user.avatar.name or None,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "is_staff": user.is_staff,
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "has_password": user.has_usable_password(),
        },
        "email_addresses": list(
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
        ),
        "social_accounts": list(
            SocialAccount.objects.filter(user=user).values(
                "provider", "uid", "date_joined", "last_login", "extra_data"
            )
        ),
        # Which second factors are set up and when they were used; never their secrets.
        "two_factor": list(
            Authenticator.objects.filter(user=user).values("type", "created_at", "last_used_at")
        ),
        "sessions": list(
            UserSession.objects.filter(user=user).values(
                "ip", "user_agent", "created_at", "last_seen_at"
            )
        ),
        "audit_log_as_actor": list(
            AuditLog.objects.filter(actor=user).values(
                "created_at", "action", "target_type", "target_repr", "ip_address", "details"
            )
        ),
        "audit_log_about_you": list(
            AuditLog.objects.filter(target_type="accounts.user", target_id=str(user.pk)).values(
                "created_at", "action", "details"
            )
        ),
        "admin_actions": list(
            LogEntry.objects.filter(user=user).values(
                "action_time", "content_type__model", "object_repr", "change_message"
            )
        ),
    }


def _accounts_files(user: User) -> list[tuple[str, Any, str]]:
    if not user.avatar:
        return []
    extension = user.avatar.name.rpartition(".")[2] or "webp"
    return [(f"files/avatar.{extension}", user.avatar.storage, user.avatar.name)]


def _accounts_erase(user: User) -> None:
    from accounts.deletion import user_tombstone

    user_tombstone(user=user)


def _accounts_blocker(user: User) -> str | None:
    from django.utils.translation import gettext as _

    if not user.is_superuser:
        return None
    others = User.objects.filter(is_superuser=True, is_active=True, deleted_at__isnull=True)
    if others.exclude(pk=user.pk).exists():
        return None
    return _(
        "You are the school's last superuser: make someone else a superuser first, so the "
        "school keeps an administrator."
    )


personal_data_register(
    Section(
        name="account",
        title="Your account: profile, email addresses, connected sign-in providers, "
        "two-factor methods (not their secrets), sessions, and audit entries about you.",
        export=_accounts_export,
        erase=_accounts_erase,
        files=_accounts_files,
        blocker=_accounts_blocker,
        on_deletion="Your email address, name, bio and picture are removed, your password "
        "stops working, every browser and app is signed out, and your email addresses, "
        "connected Google account and two-factor methods are deleted. The address is free "
        "to sign up again as a new person.",
        covers=(
            "account.EmailAddress.user",
            "socialaccount.SocialAccount.user",
            "mfa.Authenticator.user",
            "usersessions.UserSession.user",
            "accounts.AuditLog.actor",
        ),
        # Staff's admin history stays with the (anonymous) tombstone: it is the school's
        # record of who changed its content.
        keeps=("admin.LogEntry.user",),
    )
)
