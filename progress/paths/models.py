import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Course

__all__ = ["LearningPath", "LearningPathCourse", "PathCertificate"]


class LearningPath(models.Model):
    """An ordered list of courses with its own page and a certificate once all are done."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    id = models.BigAutoField(primary_key=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    courses = models.ManyToManyField(
        Course,
        verbose_name=_("courses"),
        through="LearningPathCourse",
        related_name="learning_paths",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("learning path")
        verbose_name_plural = _("learning paths")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("progress:path_detail", kwargs={"slug": self.slug})


class LearningPathCourse(models.Model):
    id = models.BigAutoField(primary_key=True)
    path = models.ForeignKey(
        LearningPath, verbose_name=_("path"), on_delete=models.CASCADE, related_name="steps"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="+"
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["path", "order"]
        verbose_name = _("course in a path")
        verbose_name_plural = _("courses in a path")
        constraints = [
            models.UniqueConstraint(fields=["path", "course"], name="path_course_unique"),
            models.UniqueConstraint(fields=["path", "order"], name="path_course_unique_order"),
        ]

    def __str__(self) -> str:
        return f"{self.path}: {self.course}"


class PathCertificate(models.Model):
    """Issued once per learner and path when every course of it is completed; verifiable
    by its code like a course certificate. Title and name are frozen at issue time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("code"), max_length=32, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="path_certificates",
    )
    path = models.ForeignKey(
        LearningPath,
        verbose_name=_("path"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    learner_name = models.CharField(_("learner name"), max_length=200, blank=True)
    path_title = models.CharField(_("path title"), max_length=200)
    course_titles = models.JSONField(_("course titles"), default=list)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("path certificate")
        verbose_name_plural = _("path certificates")
        constraints = [
            models.UniqueConstraint(fields=["user", "path"], name="path_certificate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.path_title}: {self.learner_name or _('name to confirm')}"

    def get_absolute_url(self) -> str:
        return reverse("progress:path_certificate_detail", kwargs={"code": self.code})

    @property
    def name_pending(self) -> bool:
        """Issued without a name (the account had none): shown once its owner gives one."""
        return not self.learner_name
