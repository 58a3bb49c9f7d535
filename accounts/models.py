import uuid
import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


# A person's name as other people see it (certificates, course pages): the display name's
# length, so a name taken at sign-up always fits the profile.
PERSON_NAME_MAX_LENGTH = 80


def validate_person_name(value: str) -> None:
    """A name to print for others to read: not an email address (nor what looks like one)."""
    if "@" in value:
        raise ValidationError(_("Enter your name, not an email address."), code="name_is_email")


# How a deleted account reads wherever its name used to show (posts, chat, certificates).
DELETED_USER_NAME = _("Deleted learner")


def avatar_path(instance: "User", filename: str) -> str:
    # A fresh name per upload, so caches and CDNs never serve an old picture.
    return f"avatars/{instance.pk}/{uuid.uuid4().hex}.webp"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(
        _("display name"), max_length=PERSON_NAME_MAX_LENGTH, blank=True
    )
    # Plain text (no Markdown, no HTML), shown beside the instructor's picture on course pages.
    # TextField's max_length only reaches forms; the validator holds it for the API too.
    bio = models.TextField(
        _("bio"), max_length=600, blank=True, validators=[MaxLengthValidator(600)]
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    avatar = models.ImageField(_("avatar"), upload_to=avatar_path, blank=True)
    avatar_thumbnail = models.ImageField(
        _("avatar thumbnail"), upload_to=avatar_path, blank=True, editable=False
    )
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can sign in to the admin."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Set when the person deleted their account: the row stays as an anonymous tombstone
    # (no email, name, password or sessions), so progress, billing records and dashboards
    # keep their numbers (`accounts.deletion`, README "Your data").
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        # For staff (admin lists, audit entries), who need to tell people apart; pages that
        # other people see use `public_name`, which never shows the email.
        if self.deleted_at is not None:
            return str(DELETED_USER_NAME)
        return self.display_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def zoneinfo(self) -> zoneinfo.ZoneInfo:
        """The user's time zone (UTC when the stored name is unknown to this system)."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    @property
    def public_name(self) -> str:
        """The name shown to other people: the display name, or a neutral word; never the
        email address nor a part of it."""
        if self.deleted_at is not None:
            return str(DELETED_USER_NAME)
        return self.display_name or str(_("Learner"))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def get_full_name(self) -> str:
        # Empty without a display name, as Django's own User does without first/last name.
        return self.display_name

    def get_short_name(self) -> str:
        return self.public_name


class AuditLog(models.Model):
    """Who did what to what, from where. Written by `accounts.services.audit_record` in the
    same transaction as the change it records; never edited afterwards."""

    class Action(models.TextChoices):
        INVITE_CREATED = "invite.created", _("Invite created")
        INVITE_REDEEMED = "invite.redeemed", _("Invite redeemed")
        INVITE_REVOKED = "invite.revoked", _("Invite revoked")
        ROLE_CHANGED = "role.changed", _("Role changed")
        STAFF_LOGIN = "staff.login", _("Staff sign-in")
        CERTIFICATE_NAME_CONFIRMED = "certificate.name_confirmed", _("Certificate name confirmed")
        CERTIFICATE_NAME_CORRECTED = "certificate.name_corrected", _("Certificate name corrected")
        # issue 13: moderation of lesson discussions (details say what: pin, lock, hide...).
        POST_MODERATED = "community.post_moderated", _("Discussion post moderated")
        REPORT_HANDLED = "community.report_handled", _("Discussion report handled")
        # issue 14: learners' own data (README "Your data").
        ACCOUNT_DELETED = "account.deleted", _("Account deleted")
        DATA_EXPORT_REQUESTED = "data_export.requested", _("Data export requested")
        DATA_EXPORT_DOWNLOADED = "data_export.downloaded", _("Data export downloaded")
        # issue 15: AI drafts of lesson notes and quizzes, approved (or discarded) by a person.
        DRAFT_APPROVED = "assistant.draft_approved", _("AI draft approved")
        DRAFT_DISCARDED = "assistant.draft_discarded", _("AI draft discarded")
        # issue 16: course authoring (admin and /api/v1/manage/, through the same services);
        # the target is the course, section, lesson or question, the details say what changed.
        CONTENT_CREATED = "catalog.created", _("Course content created")
        CONTENT_CHANGED = "catalog.changed", _("Course content changed")
        CONTENT_DELETED = "catalog.deleted", _("Course content deleted")
        CONTENT_REORDERED = "catalog.reordered", _("Course content reordered")
        COURSE_STATUS_CHANGED = (
            "catalog.status_changed",
            _("Course published, unpublished or archived"),
        )
        COURSE_IMPORTED = "catalog.imported", _("Course imported")
        COURSE_EXPORTED = "catalog.exported", _("Course exported")
        SECTION_UNLOCKED = "catalog.section_unlocked", _("Section unlocked early")
        COHORT_MEMBERS_ADDED = "progress.cohort_members_added", _("Learners added to a cohort")
        # issue 16: the projects showcase (submissions reviewed by staff).
        PROJECT_APPROVED = "showcase.approved", _("Project approved")
        PROJECT_REJECTED = "showcase.rejected", _("Project rejected")
        PROJECT_DELETED = "showcase.deleted", _("Project deleted")
        PROJECT_RESTORED = "showcase.restored", _("Project restored")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    # Kept as text so the entry outlives its actor.
    actor_email = models.EmailField(_("actor email"), blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices, db_index=True)
    target_type = models.CharField(_("target type"), max_length=60, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True, db_index=True)
    target_repr = models.CharField(_("target"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.target_repr}"
