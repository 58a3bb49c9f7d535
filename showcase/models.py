"""Projects of the showcase: what staff and learners built, with its tags and links.

A project is authored by staff (`origin` staff) or submitted by a learner for a course
(`origin` learner). Nobody sees it but its author and staff until staff approve it; then it
is public at `/projects/<slug>/`. Deleting is soft (`deleted_at`): the author restores it
within LMS_SHOWCASE_RESTORE_DAYS, staff at any time. Every write is a service
(`showcase.services`).
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

TITLE_MAX_LENGTH = 200
SUMMARY_MAX_LENGTH = 300
DETAIL_MAX_LENGTH = 20_000
REVIEW_NOTE_MAX_LENGTH = 2000
LINK_LABEL_MAX_LENGTH = 80
LINK_URL_MAX_LENGTH = 500
LINKS_MAX = 5
TAGS_MAX = 8
# Page paths beside /projects/<slug>/ (and the API's /projects/tags/).
RESERVED_PROJECT_SLUGS = frozenset({"new", "mine", "tags"})


def validate_project_slug(value: str) -> None:
    if value in RESERVED_PROJECT_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved; choose another slug."), params={"slug": value}
        )


def project_thumbnail_path(instance: "Project", filename: str) -> str:
    # Always our own WebP encoding (showcase.thumbnails); a fresh name per upload, so a
    # cached old picture is never shown for a new one.
    return f"thumbnails/projects/{instance.pk}/{uuid.uuid4().hex}.webp"


class Tag(models.Model):
    """A technology, tool or style a project uses ("Python", "Salsa", "Choreography"):
    the showcase's filter. Staff keep the list; learners pick from it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="showcase_tag_name_not_empty"),
            models.CheckConstraint(condition=~Q(slug=""), name="showcase_tag_slug_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    class Origin(models.TextChoices):
        STAFF = "staff", _("Authored by staff")
        LEARNER = "learner", _("Submitted by a learner")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for review")
        APPROVED = "approved", _("Approved: public")
        REJECTED = "rejected", _("Not approved")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(
        _("slug"), max_length=80, unique=True, validators=[validate_project_slug]
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    summary = models.CharField(
        _("summary"), max_length=SUMMARY_MAX_LENGTH, help_text=_("One or two sentences.")
    )
    thumbnail = models.ImageField(
        _("thumbnail"),
        upload_to=project_thumbnail_path,
        blank=True,
        help_text=_("JPEG, PNG or WebP, at least 320×180; stored as WebP, at most 1280×720."),
    )
    detail = models.TextField(
        _("detail"),
        blank=True,
        max_length=DETAIL_MAX_LENGTH,
        validators=[MaxLengthValidator(DETAIL_MAX_LENGTH)],
        help_text=_("Markdown: what it is, how it was made, what was learned."),
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="projects")
    course = models.ForeignKey(
        "catalog.Course",
        verbose_name=_("related course"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="projects",
    )
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="showcase_projects",
        help_text=_("The staff member who authored it, or the learner who submitted it."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    review_note = models.TextField(
        _("review note"),
        blank=True,
        max_length=REVIEW_NOTE_MAX_LENGTH,
        validators=[MaxLengthValidator(REVIEW_NOTE_MAX_LENGTH)],
        help_text=_("Staff's note to the author, shown to them with the decision."),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # The first approval: public lists show the most recently published first.
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # A client's id for a retried submission (the API's `client_id` or Idempotency-Key).
    client_id = models.UUIDField(_("client id"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        indexes = [
            models.Index(
                fields=["-published_at", "-created_at"],
                condition=Q(status="approved", deleted_at__isnull=True),
                name="project_public_idx",
            ),
            models.Index(fields=["author", "-created_at"], name="project_author_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="project_title_not_empty"),
            models.CheckConstraint(condition=~Q(summary=""), name="project_summary_not_empty"),
            models.CheckConstraint(condition=~Q(slug=""), name="project_slug_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "approved", "rejected"]),
                name="project_status_known",
            ),
            models.CheckConstraint(
                condition=Q(origin__in=["staff", "learner"]), name="project_origin_known"
            ),
            # A decision has its time; a project waiting or in draft has none.
            models.CheckConstraint(
                condition=Q(status__in=["approved", "rejected"], reviewed_at__isnull=False)
                | Q(status__in=["draft", "submitted"], reviewed_at__isnull=True),
                name="project_reviewed_when_decided",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(published_at__isnull=False),
                name="project_approved_is_published",
            ),
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="project_author_client_id",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("showcase:project_detail", kwargs={"slug": self.slug})

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.APPROVED and self.deleted_at is None


class ProjectLink(models.Model):
    """A link of a project (its repository, a video, the live site), in the author's order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="links"
    )
    label = models.CharField(_("label"), max_length=LINK_LABEL_MAX_LENGTH)
    url = models.URLField(_("address"), max_length=LINK_URL_MAX_LENGTH)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["project", "order"]
        verbose_name = _("link")
        verbose_name_plural = _("links")
        constraints = [
            models.UniqueConstraint(fields=["project", "order"], name="project_link_order"),
            models.CheckConstraint(condition=~Q(label=""), name="project_link_label_not_empty"),
            # Only web addresses: no javascript:, data: or mailto: in a public page's links.
            models.CheckConstraint(
                condition=Q(url__startswith="https://") | Q(url__startswith="http://"),
                name="project_link_http",
            ),
        ]

    def __str__(self) -> str:
        return self.label
