"""catalog's part of a person's data (`accounts.personal_data`): the courses they teach and
the sections staff opened early for them. Deleting the account takes them off those courses'
instructors; the courses stay; early unlocks go with the account (cascade)."""

from typing import Any

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from catalog.models import Course, SectionUnlock


def _export(user: User) -> dict[str, Any]:
    return {
        "courses_taught": list(user.taught_courses.values("title", "slug")),
        "sections_unlocked_early": list(
            SectionUnlock.objects.filter(user=user)
            .order_by("created_at")
            .values("section__course__title", "section__title", "created_at")
        ),
    }


def _erase(user: User) -> None:
    for course in Course.objects.filter(instructors=user):
        course.instructors.remove(user)


personal_data_register(
    Section(
        name="teaching",
        title="The courses you teach, if any, and sections opened early for you.",
        export=_export,
        erase=_erase,
        on_deletion="If you teach courses, you are taken off their instructors; the courses stay.",
        covers=("catalog.Course.instructors", "catalog.SectionUnlock.user"),
        # Staff's work: the unlocks they granted.
        keeps=("catalog.SectionUnlock.granted_by",),
    )
)
