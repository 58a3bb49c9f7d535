"""Bundle builds under concurrency (PostgreSQL: real row locks, threads with their own
connections that really commit): builds of one course run one after the other, so each
change is built once, whatever runs at the same time."""

import pytest

from catalog.bundles.models import SectionBundle
from catalog.bundles.services import course_bundles_build
from catalog.models import Lesson
from catalog.services import lesson_update
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from catalog.tests.test_bundles_build import build, current, salsa_course
from lms.tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_builds_running_at_once_store_one_new_version():
    course = salsa_course()
    build(course)
    before = current(course)
    # A change whose builds all start at the same instant (a burst of workers).
    Lesson.objects.filter(slug="basic-step").update(title="Side step")

    results = run_together([lambda: course_bundles_build(course_id=course.pk)] * 4)

    assert sorted(len(result.built) for result in results) == [0, 0, 0, 1]
    after = current(course)
    assert after["Turns"].pk == before["Turns"].pk
    assert after["Basics"].manifest["lessons"][0]["title"] == "Side step"
    assert SectionBundle.objects.filter(section=after["Basics"].section).count() == 2
    assert SectionBundle.objects.filter(section=after["Turns"].section).count() == 1


def test_edits_at_once_rebuild_each_changed_section_once(caplog):
    course = CourseFactory(slug="tango")
    lessons = [
        LessonFactory(section=SectionFactory(course=course, order=index), order=0)
        for index in range(4)
    ]
    build(course)
    before = current(course)

    def edit(lesson: Lesson):
        # Through the service, as the admin or the API would: its own transaction, and the
        # build after commit (eager here), all four at the same time.
        return lambda: lesson_update(lesson=lesson, data={"title": f"{lesson.title} (new)"})

    run_together([edit(lesson) for lesson in lessons])

    # No build failed and was retried or given up (a failed build is logged, never raised
    # into the edit, which is committed by then).
    assert [record.getMessage() for record in caplog.records if record.levelname != "INFO"] == []
    after = current(course)
    assert sorted(after) == sorted(before)
    for title, bundle in after.items():
        assert bundle.version != before[title].version
        assert bundle.manifest["lessons"][0]["title"].endswith(" (new)")
        assert SectionBundle.objects.filter(section_id=bundle.section_id).count() == 2
