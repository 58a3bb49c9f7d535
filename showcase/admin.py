"""Projects in the admin: authoring, review of learners' submissions, soft delete, restore.

Staff write through `showcase.services` here too: a save creates or updates through the
services (the picture checked and re-encoded, the links validated), and the review, delete
and restore actions write the same audit rows and notifications as anywhere else. The
review note of the action bar goes with Approve and Reject; a change form can take the
decision itself (its "Review" fields). Nothing is hard-deleted: Delete is a soft delete.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms.errors import ApplicationError
from showcase import services
from showcase.models import (
    LINK_URL_MAX_LENGTH,
    LINKS_MAX,
    REVIEW_NOTE_MAX_LENGTH,
    TAGS_MAX,
    Project,
    ProjectLink,
    Tag,
    validate_project_slug,
)
from showcase.services import LinkSpec
from showcase.thumbnails import thumbnail_from_upload

_CONTENT_FIELDS = ("title", "slug", "summary", "detail", "course", "tags")


class ReviewActionForm(ActionForm):
    note = forms.CharField(
        label=_("Note to the author"),
        required=False,
        max_length=REVIEW_NOTE_MAX_LENGTH,
        help_text=_("With Approve or Reject (Reject needs one)."),
    )


class ProjectAdminForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label=_("Review"),
        required=False,
        choices=[("", _("No decision now")), ("approve", _("Approve")), ("reject", _("Reject"))],
        help_text=_(
            "Approving makes the project public; rejecting takes it off the public pages. "
            "Either way a learner who submitted it is told, with the note."
        ),
    )
    note = forms.CharField(
        label=_("Note to the author"),
        required=False,
        max_length=REVIEW_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Project
        fields = (*_CONTENT_FIELDS, "thumbnail")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.thumbnail_file = None
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _("Leave empty to make one from the title.")

    def clean_thumbnail(self):
        value = self.cleaned_data.get("thumbnail")
        if value and hasattr(value, "content_type"):  # a new upload, not the stored file
            try:
                self.thumbnail_file = thumbnail_from_upload(value)
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict["thumbnail"]) from None
        return value

    def clean_slug(self) -> str:
        # The rules the service applies, here too, so a refusal is a form error (not a 500).
        slug = self.cleaned_data.get("slug") or ""
        if slug:
            validate_project_slug(slug)
            others = Project.objects.filter(slug=slug).exclude(pk=self.instance.pk)
            if others.exists():
                raise forms.ValidationError(_("Another project has this slug."))
        return slug

    def clean_tags(self):
        tags = self.cleaned_data.get("tags")
        if tags is not None and len(tags) > TAGS_MAX:
            raise forms.ValidationError(_("Pick at most %(max)d tags.") % {"max": TAGS_MAX})
        return tags

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why, for the author: they read this note."))
        return data

    def _post_clean(self) -> None:
        # The services validate and save; the model's own full_clean here would check
        # the slug left empty (made from the title by the service) as missing.
        pass


class ProjectLinkAdminForm(forms.ModelForm):
    url = forms.URLField(label=_("address"), max_length=LINK_URL_MAX_LENGTH, assume_scheme="https")

    class Meta:
        model = ProjectLink
        fields = ("label", "url")

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url") or ""
        if url and not url.startswith(("https://", "http://")):
            raise forms.ValidationError(_("Enter a web address starting with https:// or http://."))
        return url


class ProjectLinkInline(admin.TabularInline):
    model = ProjectLink
    form = ProjectLinkAdminForm
    extra = 1
    max_num = LINKS_MAX

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        # More rows than LINKS_MAX are a form error, not a refusal at save time.
        return super().get_formset(request, obj, validate_max=True, **kwargs)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "project_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(project_total=Count("projects"))

    @admin.display(description=_("projects"), ordering="project_total")
    def project_count(self, obj: Tag) -> int:
        return obj.project_total

    def save_model(self, request: HttpRequest, obj: Tag, form, change: bool) -> None:
        saved = services.tag_save(
            name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], tag=obj
        )
        obj.pk = saved.pk


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectAdminForm
    action_form = ReviewActionForm
    inlines = (ProjectLinkInline,)
    list_display = ("title", "status", "origin", "course", "author", "reviewed_at", "deleted_at")
    list_filter = (
        "status",
        "origin",
        ("deleted_at", admin.EmptyFieldListFilter),
        "tags",
        "course",
    )
    list_select_related = ("course", "author")
    search_fields = ("title", "summary", "detail", "slug", "author__email")
    autocomplete_fields = ("course",)
    filter_horizontal = ("tags",)
    date_hierarchy = "created_at"
    actions = ("approve", "reject", "soft_delete", "restore")
    readonly_fields = (
        "status",
        "origin",
        "author",
        "review_note",
        "reviewed_by",
        "reviewed_at",
        "published_at",
        "deleted_at",
        "created_at",
        "updated_at",
    )

    def get_fieldsets(self, request: HttpRequest, obj: Project | None = None):
        fieldsets = [
            (None, {"fields": ("title", "slug", "summary", "course", "tags", "thumbnail")}),
            (_("Detail"), {"fields": ("detail",)}),
            (_("Review"), {"fields": ("decision", "note")}),
        ]
        if obj is not None:
            fieldsets.append((_("State"), {"fields": self.readonly_fields}))
        return fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).select_related("course", "author", "reviewed_by")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a soft delete, through the "Delete" action

    # --- Saving through the services ------------------------------------------------------

    def save_model(
        self, request: HttpRequest, obj: Project, form: ProjectAdminForm, change: bool
    ) -> None:
        data = form.cleaned_data
        # Links and tags come with save_related; the row first, without them.
        values = {name: data[name] for name in ("title", "summary", "detail")}
        if change:
            saved = services.project_update(
                actor=request.user,
                project=Project.objects.get(pk=obj.pk),
                slug=data["slug"] or None,
                course=data["course"],
                **values,
            )
        else:
            saved, _created = services.project_create(
                author=request.user, slug=data["slug"] or "", course=data["course"], **values
            )
        if form.thumbnail_file is not None or data.get("thumbnail") is False:
            saved = services.project_thumbnail_set(
                actor=request.user, project=saved, thumbnail=form.thumbnail_file
            )
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: ProjectAdminForm, formsets, change):
        links = []
        for formset in formsets:
            # The admin's change message reads what formset.save() would have set.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.model is ProjectLink:
                links = [
                    LinkSpec(label=row.cleaned_data["label"], url=row.cleaned_data["url"])
                    for row in formset.forms
                    if row.cleaned_data
                    and not row.cleaned_data.get("DELETE")
                    and row.cleaned_data.get("url")
                ]
        project = form.instance
        services.project_update(
            actor=request.user, project=project, tags=form.cleaned_data["tags"], links=links
        )
        decision = form.cleaned_data.get("decision")
        note = form.cleaned_data.get("note", "")
        if decision == "approve":
            services.project_approve(actor=request.user, project=project, note=note)
        elif decision == "reject":
            services.project_reject(actor=request.user, project=project, note=note)

    # --- Actions --------------------------------------------------------------------------

    def _run(self, request: HttpRequest, queryset: QuerySet[Project], call) -> None:
        done, refused = 0, []
        for project in queryset:
            try:
                call(project)
            except (ApplicationError, ValidationError) as exc:
                message = (
                    exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
                )
                refused.append(f"{project}: {message}")
            else:
                done += 1
        self.message_user(
            request,
            ngettext("%(count)d project done.", "%(count)d projects done.", done) % {"count": done},
            messages.SUCCESS if done else messages.INFO,
        )
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    def _note(self, request: HttpRequest) -> str:
        return request.POST.get("note", "")

    @admin.action(description=_("Approve: make public"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        note = self._note(request)
        self._run(
            request,
            queryset,
            lambda p: services.project_approve(actor=request.user, project=p, note=note),
        )

    @admin.action(description=_("Reject, with the note"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        note = self._note(request)
        self._run(
            request,
            queryset,
            lambda p: services.project_reject(actor=request.user, project=p, note=note),
        )

    @admin.action(description=_("Delete (restorable)"), permissions=["change"])
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        self._run(
            request, queryset, lambda p: services.project_delete(actor=request.user, project=p)
        )

    @admin.action(description=_("Restore deleted projects"), permissions=["change"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        self._run(
            request, queryset, lambda p: services.project_restore(actor=request.user, project=p)
        )
