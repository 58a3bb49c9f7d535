"""Authoring the structure rules in the admin, as an editor would: course progression and
prerequisite courses, a section's hidden flag, prerequisites and release, a lesson's hidden
flag. Refusals (itself, a circle, another course, a later section of a sequential course)
are form errors on the page, never a 500; instants are entered and shown in the author's
own time zone; instructors edit only their courses."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson, Section
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from catalog.tests.test_admin import error_text, page_form_data

pytestmark = pytest.mark.django_db

SECTIONS_URL = reverse("admin:catalog_section_changelist")
SECTION_ADD_URL = reverse("admin:catalog_section_add")


def course_url(course: Course) -> str:
    return reverse("admin:catalog_course_change", args=[course.pk])


def section_url(section: Section) -> str:
    return reverse("admin:catalog_section_change", args=[section.pk])


def lesson_url(lesson: Lesson) -> str:
    return reverse("admin:catalog_lesson_change", args=[lesson.pk])


def _audited_fields(target) -> list[list[str]]:
    return [
        row.details.get("fields")
        for row in AuditLog.objects.filter(
            action=AuditLog.Action.CONTENT_CHANGED, target_id=str(target.pk)
        ).order_by("created_at")
    ]


@pytest.fixture
def paris_staff(client, staff_user):
    staff_user.time_zone = "Europe/Paris"
    staff_user.save(update_fields=["time_zone"])
    client.force_login(staff_user)
    return client


@pytest.fixture
def ana_client(client):
    ana = user_role_set(user=UserFactory(email="ana@example.com"), role=Role.INSTRUCTOR, actor=None)
    client.force_login(ana)
    client.ana = ana
    return client


# --- Courses ------------------------------------------------------------------------------


def test_staff_make_a_course_sequential_with_a_prerequisite_course(staff_client):
    basics = CourseFactory(title="Salsa basics")
    course = CourseFactory(title="Salsa turns")
    data = page_form_data(staff_client.get(course_url(course)))
    data["progression"] = Course.Progression.SECTIONS
    data["prerequisite_courses"] = [str(basics.pk)]

    response = staff_client.post(course_url(course), data)

    assert response.status_code == 302, error_text(response)
    course.refresh_from_db()
    assert course.progression == "sections"
    assert list(course.prerequisite_courses.all()) == [basics]
    assert _audited_fields(course) == [["prerequisite_courses", "progression"]]


def test_a_course_cannot_require_itself_or_a_course_that_requires_it(staff_client):
    basics = CourseFactory(title="Salsa basics")
    turns = CourseFactory(title="Salsa turns")
    styling = CourseFactory(title="Styling")
    turns.prerequisite_courses.set([basics])
    styling.prerequisite_courses.set([turns])
    data = page_form_data(staff_client.get(course_url(basics)))

    itself = staff_client.post(course_url(basics), {**data, "prerequisite_courses": [basics.pk]})
    circle = staff_client.post(course_url(basics), {**data, "prerequisite_courses": [styling.pk]})

    assert itself.status_code == circle.status_code == 200
    assert itself.context["adminform"].form.errors["prerequisite_courses"] == [
        "A course cannot require itself."
    ]
    assert circle.context["adminform"].form.errors["prerequisite_courses"] == [
        "“Styling” already requires this course (directly or through other courses): "
        "learners could open neither."
    ]
    assert not basics.prerequisite_courses.exists()


def test_the_course_list_shows_and_filters_the_progression(staff_client):
    CourseFactory(title="Free course")
    CourseFactory(title="Step by step", progression=Course.Progression.LESSONS)

    page = staff_client.get(reverse("admin:catalog_course_changelist"), {"progression": "lessons"})

    content = page.content.decode()
    assert "Step by step" in content
    assert "Free course" not in content
    assert "Sequential lessons: each needs the one before" in content


# --- Sections -----------------------------------------------------------------------------


def test_adding_a_section_with_its_rules_takes_the_instant_in_the_authors_zone(paris_staff):
    course = CourseFactory(title="Salsa basics")
    week_one = SectionFactory(course=course, order=0, title="Week 1")
    data = page_form_data(paris_staff.get(SECTION_ADD_URL))
    data.update(
        {
            "course": str(course.pk),
            "title": "Week 2",
            "is_hidden": "on",
            "prerequisites": [str(week_one.pk)],
            "release_at_0": "2025-03-03",
            "release_at_1": "10:00:00",
            "release_after_days": "7",
            "release_from": Section.ReleaseFrom.COHORT,
        }
    )

    response = paris_staff.post(SECTION_ADD_URL, data)

    assert response.status_code == 302, error_text(response)
    section = Section.objects.get(title="Week 2")
    assert (section.order, section.is_hidden) == (1, True)
    assert section.release_at == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    assert (section.release_after_days, section.release_from) == (7, "cohort")
    assert list(section.prerequisites.all()) == [week_one]
    assert AuditLog.objects.filter(
        action=AuditLog.Action.CONTENT_CREATED, target_id=str(section.pk)
    ).exists()


def test_the_section_page_shows_the_instant_in_the_authors_zone_and_names_it(paris_staff):
    section = SectionFactory(release_at=datetime(2025, 7, 1, 8, 30, tzinfo=UTC))

    content = paris_staff.get(section_url(section)).content.decode()

    assert 'name="release_at_0" value="2025-07-01"' in content
    assert 'name="release_at_1" value="10:30:00"' in content  # summer time in Paris
    assert "in your time zone (Europe/Paris, from your profile)" in content


def test_section_prerequisites_are_sections_of_the_same_course_without_circles(staff_client):
    course = CourseFactory()
    week_one, week_two, week_three = (
        SectionFactory(course=course, order=n, title=f"Week {n + 1}") for n in range(3)
    )
    week_two.prerequisites.set([week_one])
    week_three.prerequisites.set([week_two])
    elsewhere = SectionFactory(title="Another course's section")
    data = page_form_data(staff_client.get(section_url(week_one)))

    page = staff_client.get(section_url(week_one)).content.decode()
    circle = staff_client.post(section_url(week_one), {**data, "prerequisites": [week_three.pk]})
    itself = staff_client.post(section_url(week_one), {**data, "prerequisites": [week_one.pk]})
    other = staff_client.post(section_url(week_one), {**data, "prerequisites": [elsewhere.pk]})

    # The choices are the course's other sections.
    assert "Another course&#x27;s section" not in page
    assert f'value="{week_three.pk}"' in page
    assert f'<option value="{week_one.pk}"' not in page
    assert circle.status_code == itself.status_code == other.status_code == 200
    assert circle.context["adminform"].form.errors["prerequisites"] == [
        "“Week 3” already requires this section (directly or through other sections): "
        "learners could open neither."
    ]
    for refused in (itself, other):
        [message] = refused.context["adminform"].form.errors["prerequisites"]
        assert "is not one of the available choices" in message
    assert not week_one.prerequisites.exists()


def test_a_new_section_cannot_require_a_section_of_another_course(staff_client):
    course = CourseFactory()
    elsewhere = SectionFactory(title="Elsewhere")
    data = page_form_data(staff_client.get(SECTION_ADD_URL))
    data.update({"course": str(course.pk), "title": "New", "prerequisites": [str(elsewhere.pk)]})

    response = staff_client.post(SECTION_ADD_URL, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["prerequisites"] == [
        "“Elsewhere” is a section of another course: choose sections of this one."
    ]
    assert not Section.objects.filter(title="New").exists()


def test_a_sequential_course_refuses_a_prerequisite_that_comes_later(staff_client):
    course = CourseFactory(progression=Course.Progression.SECTIONS)
    first = SectionFactory(course=course, order=0, title="Week 1")
    SectionFactory(course=course, order=1, title="Week 2")
    data = page_form_data(staff_client.get(section_url(first)))
    later = course.sections.get(order=1)

    response = staff_client.post(section_url(first), {**data, "prerequisites": [later.pk]})

    assert response.status_code == 200
    [message] = response.context["adminform"].form.errors["prerequisites"]
    assert message.startswith("“Week 2” comes later in this sequential course")


def test_a_course_with_a_backward_prerequisite_cannot_become_sequential(staff_client):
    course = CourseFactory()
    first = SectionFactory(course=course, order=0, title="Week 1")
    second = SectionFactory(course=course, order=1, title="Week 2")
    first.prerequisites.set([second])
    data = page_form_data(staff_client.get(course_url(course)))

    response = staff_client.post(course_url(course), {**data, "progression": "sections"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["progression"] == [
        "“Week 1” requires the later “Week 2”: remove that prerequisite before making the "
        "course sequential."
    ]


def test_a_release_counted_in_days_is_at_most_ten_years(staff_client):
    section = SectionFactory()
    data = page_form_data(staff_client.get(section_url(section)))

    response = staff_client.post(section_url(section), {**data, "release_after_days": "3651"})

    assert response.context["adminform"].form.errors["release_after_days"] == [
        "At most 3650 days (about ten years)."
    ]


def test_the_section_list_shows_and_filters_hidden_scheduled_and_gated_sections(paris_staff):
    course = CourseFactory(title="Salsa")
    plain = SectionFactory(course=course, order=0, title="Plain")
    SectionFactory(course=course, order=1, title="Hidden one", is_hidden=True)
    SectionFactory(
        course=course,
        order=2,
        title="Dated",
        release_at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC),
    )
    SectionFactory(course=course, order=3, title="Drip", release_after_days=3)
    gated = SectionFactory(course=course, order=4, title="Gated")
    gated.prerequisites.set([plain])

    everything = paris_staff.get(SECTIONS_URL).content.decode()

    def titles(**query) -> set[str]:
        response = paris_staff.get(SECTIONS_URL, query)
        return {row.title for row in response.context["cl"].result_list}

    assert "opens March 3, 2025, 10 a.m. (Europe/Paris)" in everything  # the author's zone
    assert "3 days after enrolling" in everything
    assert '<td class="field-prerequisites_display">Plain</td>' in everything
    assert titles(is_hidden__exact="1") == {"Hidden one"}
    assert titles(release="scheduled") == {"Dated", "Drip"}
    assert titles(release="fixed") == {"Dated"}
    assert titles(release="days") == {"Drip"}
    assert titles(gated="yes") == {"Gated"}
    assert "Gated" not in titles(gated="no")


def test_the_course_page_shows_each_sections_rules_and_saves_hidden_inline(staff_client):
    course = CourseFactory()
    first = SectionFactory(course=course, order=0, title="Week 1")
    second = SectionFactory(course=course, order=1, title="Week 2", release_after_days=3)
    second.prerequisites.set([first])
    page = staff_client.get(course_url(course))
    data = page_form_data(page)
    prefix = next(
        form.prefix
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
        if form.instance.pk == first.pk
    )
    data[f"{prefix}-is_hidden"] = "on"

    response = staff_client.post(course_url(course), data)

    assert "3 days after enrolling; needs 1 section" in page.content.decode()
    assert response.status_code == 302, error_text(response)
    first.refresh_from_db()
    assert first.is_hidden is True
    assert _audited_fields(first) == [["is_hidden"]]


# --- Lessons ------------------------------------------------------------------------------


def test_staff_hide_a_lesson_and_filter_the_hidden_ones(staff_client):
    lesson = LessonFactory(title="Draft notes")
    LessonFactory(title="Shown")
    data = page_form_data(staff_client.get(lesson_url(lesson)))
    data["is_hidden"] = "on"

    response = staff_client.post(lesson_url(lesson), data)
    listed = staff_client.get(reverse("admin:catalog_lesson_changelist"), {"is_hidden__exact": "1"})

    assert response.status_code == 302, error_text(response)
    lesson.refresh_from_db()
    assert lesson.is_hidden is True
    assert [row.title for row in listed.context["cl"].result_list] == ["Draft notes"]


# --- Instructors --------------------------------------------------------------------------


def test_instructors_set_rules_on_their_own_sections_only(ana_client):
    mine = CourseFactory(instructors=[ana_client.ana])
    first = SectionFactory(course=mine, order=0, title="Mine 1")
    second = SectionFactory(course=mine, order=1, title="Mine 2")
    theirs = SectionFactory(course=CourseFactory(instructors=[UserFactory()]), title="Theirs")
    data = page_form_data(ana_client.get(section_url(second)))

    add_page = ana_client.get(SECTION_ADD_URL).content.decode()
    saved = ana_client.post(
        section_url(second), {**data, "prerequisites": [first.pk], "is_hidden": "on"}
    )
    other = ana_client.get(section_url(theirs))

    assert "Theirs" not in add_page  # the prerequisites offered are their courses' sections
    assert "Mine 1" in add_page
    assert saved.status_code == 302, error_text(saved)
    second.refresh_from_db()
    assert second.is_hidden is True
    assert list(second.prerequisites.all()) == [first]
    assert other.status_code == 302  # "does not exist": back to the admin's index
