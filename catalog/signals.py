"""Keep the cached structure rules (`catalog.structure`) and the content versions that key
compiled outlines and cached pages (`catalog.outline.versions`) true to the database.

Receivers, not service calls, because the rules are read from everything that writes a
course's content (the admin, the authoring API, imports, and tests' factories): any save or
delete of a course, section or lesson, and any change to the prerequisite links, drops the
cached rules of the course (and of the courses that require it, whose rules hold its title
and status).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from catalog.models import Course, Lesson, Section
from catalog.outline import content_versions_bump
from catalog.structure import course_rules_invalidate as _rules_invalidate


def _forget(*, course_ids) -> None:
    """Drop the cached rules and bump the content versions (`catalog.outline.versions`)."""
    course_ids = list(course_ids)
    _rules_invalidate(course_ids=course_ids)
    content_versions_bump(course_ids=course_ids)


@receiver([post_save, post_delete], sender=Course, dispatch_uid="catalog-rules-course")
def _course_changed(sender, instance: Course, **kwargs) -> None:
    dependants = (
        []
        if kwargs.get("created")
        else list(
            Course.prerequisite_courses.through.objects.filter(
                to_course_id=instance.pk
            ).values_list("from_course_id", flat=True)
        )
    )
    _forget(course_ids=[instance.pk, *dependants])


@receiver([post_save, post_delete], sender=Section, dispatch_uid="catalog-rules-section")
@receiver([post_save, post_delete], sender=Lesson, dispatch_uid="catalog-rules-lesson")
def _content_changed(sender, instance: Section | Lesson, **kwargs) -> None:
    _forget(course_ids=[instance.course_id])


@receiver(m2m_changed, sender=Section.prerequisites.through, dispatch_uid="catalog-rules-req")
def _section_prerequisites_changed(sender, instance, action: str, **kwargs) -> None:
    if action.startswith("post_"):
        if isinstance(instance, Section):
            _forget(course_ids=[instance.course_id])
        else:  # changed from the other side: a queryset of sections' primary keys
            course_ids = Section.objects.filter(pk__in=kwargs.get("pk_set") or ()).values_list(
                "course_id", flat=True
            )
            _forget(course_ids=set(course_ids))


@receiver(m2m_changed, sender=Course.prerequisite_courses.through, dispatch_uid="catalog-rules-pc")
def _course_prerequisites_changed(sender, instance, action: str, reverse: bool, **kwargs) -> None:
    if action.startswith("post_"):
        course_ids = {instance.pk}
        if reverse:  # `instance` is the prerequisite; the courses requiring it changed
            course_ids |= set(kwargs.get("pk_set") or ())
        _forget(course_ids=course_ids)
