"""Community in the admin. Every write goes through `community.services`.

Instructors reach only the rows of the courses they teach (`catalog.admin.InstructorScopeMixin`).
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.admin import InstructorScopeMixin
from community.models import Announcement
from community.services.announcements import (
    BODY_MAX_LENGTH,
    announcement_create,
    announcement_publish,
    announcement_update,
)
from lms.errors import ApplicationError

# --- Announcements -------------------------------------------------------------------------


class AnnouncementAdminForm(forms.ModelForm):
    publish_now = forms.BooleanField(
        label=_("Publish now"),
        required=False,
        help_text=_(
            "Notifies every learner enrolled who may open the course (emailed by their "
            "preferences) and posts it to the course's chat. Once published, it is not sent "
            "again, even when edited."
        ),
    )

    class Meta:
        model = Announcement
        fields = ("course", "title", "body")

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if len(body) > BODY_MAX_LENGTH:
            raise forms.ValidationError(_("At most %(max)d characters.") % {"max": BODY_MAX_LENGTH})
        return body


@admin.register(Announcement)
class AnnouncementAdmin(InstructorScopeMixin, admin.ModelAdmin):
    course_path = "course"
    form = AnnouncementAdminForm
    list_display = ("title", "course", "status", "published_at", "author")
    list_filter = ("status", "course")
    list_select_related = ("course", "author")
    search_fields = ("title", "body", "course__title")
    readonly_fields = ("status", "published_at", "author", "created_at", "updated_at")
    actions = ("publish_announcements",)

    def get_fields(self, request: HttpRequest, obj: Announcement | None = None) -> list[str]:
        fields = ["course", "title", "body"]
        if obj is None or not obj.is_published:
            fields.append("publish_now")
        return [*fields, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Announcement | None = None):
        # Which course an announcement was for does not change once written.
        return ("course", *self.readonly_fields) if obj is not None else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: Announcement, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            saved = announcement_update(
                announcement=obj, actor=request.user, title=data["title"], body=data["body"]
            )
        else:
            saved = announcement_create(
                course=data["course"], author=request.user, title=data["title"], body=data["body"]
            )
        if data.get("publish_now"):
            saved = announcement_publish(announcement=saved, actor=request.user)
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.action(description=_("Publish selected announcements"), permissions=["change"])
    def publish_announcements(self, request: HttpRequest, queryset: QuerySet[Announcement]):
        # The queryset is this admin's, so instructors only reach their courses' rows.
        published = 0
        for announcement in queryset.filter(status=Announcement.Status.DRAFT):
            try:
                announcement_publish(announcement=announcement, actor=request.user)
            except ApplicationError as error:
                self.message_user(request, f"{announcement}: {error.message}", messages.ERROR)
                return
            published += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d announcement published.", "%(count)d announcements published.", published
            )
            % {"count": published},
            messages.SUCCESS,
        )


from community import chat_admin  # noqa: E402, F401  (chat channels and messages)
