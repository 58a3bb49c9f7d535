"""Forms and inline formsets behind the catalog admin (`catalog/admin.py`).

They close two gaps that plain ModelAdmin forms leave open:

- `Lesson.course` is not an editable field (it always follows the section), and Django leaves
  constraints on fields missing from a form out of validation. A duplicate lesson slug would
  then reach the database as an IntegrityError. The lesson forms set the course from the
  section and keep it in the checks, so a duplicate is a form error.
- In an inline an editor may swap two orders in one save. Checked row by row against the
  database, each row would clash with the row it swaps with; saved row by row, the unique
  (parent, order) constraint would fail half-way. So inline rows skip the database check for
  `order`, the formset checks duplicates among the submitted rows itself, and saves every
  order at once through `orders_apply`. All other writes go through the services too,
  deletions included, with the admin's user as the actor (`actor`, set by the admin) so every
  row written is audited.
"""

from collections import defaultdict
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog.models import Course, Lesson, Section
from catalog.services import (
    course_prerequisites_validate,
    course_progression_validate,
    lesson_create,
    lesson_delete,
    lesson_update,
    orders_apply,
    section_create,
    section_delete,
    section_prerequisites_validate,
    section_release_validate,
    section_update,
)

# Course fields `course_create` takes; the rest of the form goes through `course_update`.
COURSE_CREATE_FIELDS = (
    "title",
    "slug",
    "subtitle",
    "description",
    "course_type",
    "difficulty",
    "locale",
    "visibility",
    "required_tier",
    "instructors",
    "progression",
    "prerequisite_courses",
)


def changed_values(form: forms.ModelForm, names: list[str] | None = None) -> dict[str, Any]:
    """Values for the services: the form's changed model fields, or those in `names`.

    Taken from the instance the form has filled in, where Django has already turned the
    form's values into model values (an uploaded or cleared file, for instance); many-to-many
    values only exist in `cleaned_data`.
    """
    wanted = form.changed_data if names is None else names
    opts = form.instance._meta
    return {
        name: (
            form.cleaned_data[name]
            if opts.get_field(name).many_to_many
            else getattr(form.instance, name)
        )
        for name in wanted
        # The admin lists read-only names in Meta.fields too; they have no form field.
        if name in form._meta.fields and name in form.fields
    }


class SectionChoiceField(forms.ModelChoiceField):
    """Sections named with their course: many courses have a section called "Basics"."""

    def label_from_instance(self, obj: Section) -> str:
        return f"{obj.course.title} › {obj.title}"


class _CatalogAdminForm(forms.ModelForm):
    """Shared rules for the section and lesson forms.

    `parent_field`: kept in the uniqueness checks even when the form does not edit it.
    `order_checked_by_formset`: inline rows leave duplicate orders to their formset.
    """

    parent_field = "course"
    order_checked_by_formset = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "order" in self.fields and self.instance._state.adding:
            # A new row without an order goes to the end (the services pick the next one).
            self.fields["order"].required = False
            self.fields["order"].help_text = _("Leave empty to add at the end.")
            self.initial["order"] = None
            # Not the model's default 0, which Django keeps when the field is not posted.
            self.instance.order = None

    def _get_validation_exclusions(self) -> set[str]:
        # Django's one hook for which model checks a form runs: it drops every field the form
        # does not show, which would drop the (course, ...) constraints with them.
        exclude = super()._get_validation_exclusions()
        if getattr(self.instance, f"{self.parent_field}_id", None) is not None:
            exclude.discard(self.parent_field)
        if self.order_checked_by_formset:
            exclude.add("order")
        if not self.instance._state.adding and not self.has_changed():
            # An untouched row was valid when saved; re-checking it against the database
            # would cost a query per row on pages with hundreds of rows.
            exclude.update(field.name for field in self.instance._meta.fields)
        return exclude


def _service_errors(form: forms.BaseForm, check, **kwargs: Any) -> None:
    """Run one of the services' checks on the form's values; its refusal becomes the
    form's errors on the fields it names (the save would refuse the same)."""
    try:
        check(**kwargs)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)


class CourseAdminForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = (*COURSE_CREATE_FIELDS, "thumbnail", "status")
        help_texts = {
            "status": _(
                "Publishing for the first time sets the publication date; later ones keep it."
            ),
        }

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        prerequisites = cleaned_data.get("prerequisite_courses")
        if prerequisites is not None and "prerequisite_courses" in self.changed_data:
            _service_errors(
                self,
                course_prerequisites_validate,
                course=self.instance,
                prerequisites=list(prerequisites),
            )
        progression = cleaned_data.get("progression")
        if progression and "progression" in self.changed_data and not self.instance._state.adding:
            _service_errors(
                self, course_progression_validate, course=self.instance, progression=progression
            )
        return cleaned_data


class ChoicesField(forms.ModelMultipleChoiceField):
    """A multiple choice that reads an empty value among the chosen ones as nothing chosen
    (some clients post the empty select's blank), not as an id that is no UUID."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            value = [item for item in value if item not in self.empty_values]
        return super().clean(value)


class SectionsChoiceField(ChoicesField):
    """Sections named with their course, like `SectionChoiceField`."""

    def label_from_instance(self, obj: Section) -> str:
        return f"{obj.course.title} › {obj.title}"


class SectionAdminForm(_CatalogAdminForm):
    """A section with its structure rules. The admin narrows `prerequisites` to the other
    sections of the course (of the instructor's courses on the add page); the services'
    checks (same course, not itself, no circle, nothing later in a sequential course) run
    here too, so a refusal is a form error."""

    prerequisites = SectionsChoiceField(
        label=_("prerequisite sections"),
        queryset=Section.objects.select_related("course").order_by("course__title", "order"),
        required=False,
        help_text=_("Sections of this course learners complete before this one opens."),
    )

    class Meta:
        model = Section
        fields = (
            "course",
            "title",
            "order",
            "is_hidden",
            "prerequisites",
            "release_at",
            "release_after_days",
            "release_from",
        )

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        course = cleaned_data.get("course") if "course" in self.fields else None
        if course is not None:
            self.instance.course = course
        if "release_after_days" in cleaned_data:
            _service_errors(
                self,
                section_release_validate,
                release_after_days=cleaned_data["release_after_days"],
            )
        prerequisites = cleaned_data.get("prerequisites")
        if prerequisites and self.instance.course_id is not None:
            if cleaned_data.get("order") is not None:
                self.instance.order = cleaned_data["order"]
            _service_errors(
                self,
                section_prerequisites_validate,
                section=self.instance,
                prerequisites=list(prerequisites),
            )
        return cleaned_data


class SectionInlineForm(_CatalogAdminForm):
    order_checked_by_formset = True

    class Meta:
        model = Section
        fields = ("title", "order", "is_hidden")


class _LessonFormMixin:
    """Sets the lesson's course from its section before validation, so the per-course slug
    check runs (and the course can never be chosen on its own)."""

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        section = cleaned_data.get("section")
        if section is not None:
            self.instance.course_id = section.course_id
        return cleaned_data


class LessonAdminForm(_LessonFormMixin, _CatalogAdminForm):
    section = SectionChoiceField(
        label=_("section"),
        queryset=Section.objects.select_related("course").order_by("course__title", "order"),
    )

    class Meta:
        model = Lesson
        fields = (
            "section",
            "title",
            "slug",
            "kind",
            "body",
            "duration_seconds",
            "order",
            "is_free_preview",
            "is_published",
            "is_hidden",
            "xp_value",
            "is_boss",
            "is_required",
        )


class LessonInlineForm(_LessonFormMixin, _CatalogAdminForm):
    order_checked_by_formset = True

    class Meta:
        model = Lesson
        fields = (
            "title",
            "slug",
            "kind",
            "duration_seconds",
            "order",
            "is_free_preview",
            "is_published",
            "is_hidden",
            "xp_value",
            "is_boss",
            "is_required",
        )


class OrderedInlineFormSet(BaseInlineFormSet):
    """The rows of one parent, whose orders may be swapped in one save.

    Subclasses say how to create, update and delete a row and which rows are siblings.
    The admin sets `actor` (its user) before saving.
    """

    actor: User | None = None

    def create_row(self, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update_row(self, obj: models.Model, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete_row(self, obj: models.Model) -> None:
        raise NotImplementedError

    def siblings(self) -> models.QuerySet:
        raise NotImplementedError

    def get_unique_error_message(self, unique_check: tuple[str, ...]) -> str:
        if "slug" in unique_check:
            return gettext("Two rows have the same slug: each lesson of a course needs its own.")
        return super().get_unique_error_message(unique_check)

    def clean(self) -> None:
        super().clean()
        rows_by_order: dict[int, list[forms.Form]] = defaultdict(list)
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            order = getattr(form, "cleaned_data", {}).get("order")
            if order is not None:
                rows_by_order[order].append(form)
        clashes = sorted(order for order, rows in rows_by_order.items() if len(rows) > 1)
        for order in clashes:
            for form in rows_by_order[order]:
                form.add_error(
                    "order",
                    ValidationError(
                        _("Another row also has order %(order)s."),
                        code="duplicate_order",
                        params={"order": order},
                    ),
                )
        if clashes:
            raise ValidationError(
                ngettext(
                    "Two rows have the same order (%(orders)s): give each row its own order.",
                    "Several rows share an order (%(orders)s): give each row its own order.",
                    len(clashes),
                )
                % {"orders": ", ".join(str(order) for order in clashes)},
                code="duplicate_order",
            )

    @transaction.atomic
    def save(self, commit: bool = True) -> list[models.Model]:
        if not commit:
            raise ValueError("These rows are saved through the catalog services only.")
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        kept = []
        # Deletions first, so their orders and slugs are free for the other rows.
        for form in self.initial_forms:
            if self.can_delete and self._should_delete_form(form):
                self.delete_row(form.instance)
                self.deleted_objects.append(form.instance)
            elif form.has_changed():
                kept.append(form)

        new_orders = {}
        for form in kept:
            obj = form.instance
            data = changed_values(form)
            if "order" in data:
                new_orders[obj.pk] = data.pop("order")
                obj.order = form.initial["order"]  # its current order, until orders_apply
            if data:
                self.update_row(obj, data)
            self.changed_objects.append((obj, form.changed_data))
        orders_apply(queryset=self.siblings(), new_orders=new_orders, actor=self.actor)
        for form in kept:
            form.instance.order = new_orders.get(form.instance.pk, form.instance.order)

        # New rows with an order first, then those without (they go after everything).
        new_forms = [
            form
            for form in self.extra_forms
            if form.has_changed() and not (self.can_delete and self._should_delete_form(form))
        ]
        new_forms.sort(key=lambda form: form.cleaned_data.get("order") is None)
        for form in new_forms:
            data = changed_values(form, list(form._meta.fields))
            data.pop(self.fk.name)  # the parent, which create_row passes itself
            self.new_objects.append(self.create_row(data))
        return [obj for obj, _fields in self.changed_objects] + self.new_objects


class SectionInlineFormSet(OrderedInlineFormSet):
    def create_row(self, data: dict[str, Any]) -> Section:
        return section_create(course=self.instance, **data, actor=self.actor)

    def update_row(self, obj: Section, data: dict[str, Any]) -> None:
        section_update(section=obj, data=data, actor=self.actor)

    def delete_row(self, obj: Section) -> None:
        # The admin's delete checkbox is the editor's confirmation, as in Django's admin.
        section_delete(section=obj, actor=self.actor, force=True)

    def siblings(self) -> models.QuerySet:
        return Section.objects.filter(course=self.instance)


class LessonInlineFormSet(OrderedInlineFormSet):
    def create_row(self, data: dict[str, Any]) -> Lesson:
        return lesson_create(section=self.instance, **data, actor=self.actor)

    def update_row(self, obj: Lesson, data: dict[str, Any]) -> None:
        lesson_update(lesson=obj, data=data, actor=self.actor)

    def delete_row(self, obj: Lesson) -> None:
        lesson_delete(lesson=obj, actor=self.actor, force=True)

    def siblings(self) -> models.QuerySet:
        return Lesson.objects.filter(section=self.instance)
