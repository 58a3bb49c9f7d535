"""Forms of the showcase pages: the list's search and filters, and a project's form (with
its links as a small formset). Values are checked again by the services, which own the
rules; these turn what a browser posts into values and show the errors beside the fields."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from catalog.models import Course
from showcase.models import (
    DETAIL_MAX_LENGTH,
    LINK_LABEL_MAX_LENGTH,
    LINK_URL_MAX_LENGTH,
    LINKS_MAX,
    SUMMARY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Tag,
)
from showcase.services import LinkSpec
from showcase.thumbnails import thumbnail_from_upload

SEARCH_MAX_LENGTH = 100


class ProjectFilterForm(forms.Form):
    """`/projects/?q=&course=&tag=`. An unknown course or tag is an error the visitor sees
    (400), as in the catalog: a link that filtered on it would otherwise show everything."""

    q = forms.CharField(label=_("Search"), required=False, max_length=SEARCH_MAX_LENGTH)
    course = forms.ChoiceField(
        label=_("Course"),
        required=False,
        error_messages={"invalid_choice": _("“%(value)s” is not a course with projects.")},
    )
    tag = forms.ChoiceField(
        label=_("Tag"),
        required=False,
        error_messages={"invalid_choice": _("“%(value)s” is not a tag we use.")},
    )

    def __init__(self, *args: Any, courses: QuerySet[Course], tags: QuerySet[Tag], **kwargs):
        super().__init__(*args, **kwargs)
        self.courses = {course.slug: course for course in courses}
        self.tags = {tag.slug: tag for tag in tags}
        self.fields["course"].choices = [
            ("", _("All courses")),
            *((slug, course.title) for slug, course in self.courses.items()),
        ]
        self.fields["tag"].choices = [
            ("", _("All tags")),
            *((slug, tag.name) for slug, tag in self.tags.items()),
        ]

    def filters(self) -> dict[str, Any]:
        """The selector's arguments, once valid."""
        data = self.cleaned_data
        return {
            "search": data["q"],
            "course": self.courses.get(data["course"]),
            "tag": self.tags.get(data["tag"]),
        }


class ProjectForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=SUMMARY_MAX_LENGTH,
        help_text=_("One or two sentences, shown on the project's card."),
    )
    course = forms.ModelChoiceField(
        label=_("Course"),
        queryset=Course.objects.none(),
        to_field_name="slug",
        empty_label=_("Choose a course"),
        help_text=_("The course you made this project for."),
    )
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=Tag.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The technologies, tools or styles it uses."),
    )
    detail = forms.CharField(
        label=_("About the project"),
        max_length=DETAIL_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Markdown works: what it is, how you made it, what you learned."),
    )
    thumbnail = forms.FileField(
        label=_("Picture"),
        required=False,
        help_text=_("JPEG, PNG or WebP, at least 320×180 pixels; shown at 16:9."),
    )
    remove_thumbnail = forms.BooleanField(label=_("Remove the picture"), required=False)

    def __init__(
        self,
        *args: Any,
        courses: QuerySet[Course],
        tags: QuerySet[Tag],
        course_required: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses
        self.fields["course"].required = course_required
        self.fields["tags"].queryset = tags
        self.thumbnail_file = None

    def clean_thumbnail(self):
        upload = self.cleaned_data.get("thumbnail")
        if not upload:
            return None
        try:
            self.thumbnail_file = thumbnail_from_upload(upload)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["thumbnail"]) from None
        return upload


class LinkForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=LINK_LABEL_MAX_LENGTH, required=False)
    url = forms.URLField(
        label=_("Address"), max_length=LINK_URL_MAX_LENGTH, required=False, assume_scheme="https"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("url") and not data.get("label"):
            self.add_error("label", _("Give the link a label."))
        if data.get("label") and not data.get("url") and "url" not in self.errors:
            self.add_error("url", _("Enter the link's address."))
        return data


class _LinkFormSet(forms.BaseFormSet):
    def links(self) -> list[LinkSpec]:
        """The filled-in rows, in order (empty rows are skipped)."""
        return [
            LinkSpec(label=form.cleaned_data["label"], url=form.cleaned_data["url"])
            for form in self.forms
            if form.cleaned_data.get("url")
        ]


LinkFormSet = forms.formset_factory(
    LinkForm, formset=_LinkFormSet, extra=0, max_num=LINKS_MAX, absolute_max=LINKS_MAX
)


# Empty link rows offered after the project's links (up to LINKS_MAX rows in all).
LINK_ROWS_EXTRA = 2


def link_formset(*, data=None, links: list[LinkSpec] | None = None) -> _LinkFormSet:
    """The project's links, then up to LINK_ROWS_EXTRA empty rows to fill in."""
    initial = [{"label": link.label, "url": link.url} for link in links or []]
    formset = LinkFormSet(data, initial=initial, prefix="links")
    formset.extra = min(LINK_ROWS_EXTRA, LINKS_MAX - len(initial))
    return formset
