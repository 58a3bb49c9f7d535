"""The course-authoring admin, driven like an editor would: pages, posts, messages, rows."""

import re
from datetime import timedelta

import pytest
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.admin import duration_text
from catalog.models import Course, Lesson, Section
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)
from media.models import Video

pytestmark = pytest.mark.django_db

COURSES_URL = reverse("admin:catalog_course_changelist")
LESSONS_URL = reverse("admin:catalog_lesson_changelist")


def course_url(course: Course) -> str:
    return reverse("admin:catalog_course_change", args=[course.pk])


def section_url(section: Section) -> str:
    return reverse("admin:catalog_section_change", args=[section.pk])


def lesson_url(lesson: Lesson) -> str:
    return reverse("admin:catalog_lesson_change", args=[lesson.pk])


def move_url(obj: Section | Lesson, direction: str) -> str:
    return reverse(f"admin:catalog_{obj._meta.model_name}_move", args=[obj.pk, direction])


def _add_form_fields(data: dict, form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(field, forms.FileField):
            continue
        elif isinstance(field, forms.ModelMultipleChoiceField) and not value:
            continue  # a browser posts nothing for an empty multiple select
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)


def page_form_data(response) -> dict:
    """What the browser posts back for an admin add/change page that nobody edited."""
    data: dict = {}
    _add_form_fields(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form_fields(data, formset.management_form)
        for form in formset.forms:
            _add_form_fields(data, form)
    return data


def row_prefixes(response) -> dict[str, str]:
    """Inline row prefix ("lessons-3") for each existing row's primary key."""
    return {
        str(form.instance.pk): form.prefix
        for inline in response.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
    }


def error_text(response) -> str:
    """Every error on the page: the main form's, each inline row's and each formset's."""
    errors = [str(response.context["adminform"].form.errors)]
    for inline in response.context["inline_admin_formsets"]:
        errors.append(str(inline.formset.non_form_errors()))
        errors.extend(str(form.errors) for form in inline.formset.forms)
    return " ".join(errors)


# --- Changelist: figures, search, filters --------------------------------------------


def test_course_list_shows_published_lesson_count_and_total_duration(staff_client):
    course = CourseFactory(title="Salsa basics")
    section = SectionFactory(course=course)
    LessonFactory.create_batch(3, section=section, duration_seconds=1300)
    LessonFactory(section=section, duration_seconds=999, is_published=False)

    response = staff_client.get(COURSES_URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Salsa basics" in content
    assert '<td class="field-lesson_count_display">3</td>' in content
    assert '<td class="field-duration_display">1 h 05 min</td>' in content


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 min"),
        (2700, "45 min"),
        (3900, "1 h 05 min"),
        (3570, "1 h 00 min"),
        (7384, "2 h 03 min"),
    ],
)
def test_durations_read_as_hours_and_minutes(seconds, shown):
    assert duration_text(seconds) == shown


def test_course_list_links_each_course_to_its_page_for_a_preview(staff_client):
    draft = CourseFactory(draft=True, slug="new-moves")
    CourseFactory(slug="old-moves")

    content = staff_client.get(COURSES_URL).content.decode()

    assert f'<a href="{draft.get_absolute_url()}" target="_blank" rel="noopener">Preview</a>' in (
        content
    )
    assert '<a href="/courses/old-moves/" target="_blank" rel="noopener">View</a>' in content


@pytest.mark.parametrize("query", ["bachata", "sensual", "bach-101"])
def test_course_search_matches_title_subtitle_or_slug(staff_client, query):
    CourseFactory(title="Bachata steps", subtitle="Sensual and smooth", slug="bach-101")
    CourseFactory(title="Zouk flow", subtitle="Waves", slug="zouk-1")

    content = staff_client.get(COURSES_URL, {"q": query}).content.decode()

    assert "Bachata steps" in content
    assert "Zouk flow" not in content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "draft"}, "Draft course"),
        ({"visibility__exact": "paid"}, "Paid course"),
        ({"course_type__exact": "choreo"}, "Choreo course"),
        ({"difficulty__exact": "advanced"}, "Advanced course"),
        ({"locale__exact": "es"}, "Spanish course"),
    ],
)
def test_course_filters_narrow_the_list(staff_client, params, expected):
    tier = TierFactory()
    CourseFactory(title="Draft course", draft=True)
    CourseFactory(title="Paid course", visibility="paid", required_tier=tier)
    CourseFactory(title="Choreo course", course_type="choreo")
    CourseFactory(title="Advanced course", difficulty="advanced")
    CourseFactory(title="Spanish course", locale="es")
    CourseFactory(title="Plain course")

    content = staff_client.get(COURSES_URL, params).content.decode()

    titles = ["Draft", "Paid", "Choreo", "Advanced", "Spanish", "Plain"]
    shown = [title for title in titles if f"{title} course</a>" in content]
    assert shown == [expected.split()[0]]


def test_course_filter_by_required_tier(staff_client):
    gold, silver = TierFactory(name="Gold"), TierFactory(name="Silver")
    CourseFactory(title="Gold course", visibility="paid", required_tier=gold)
    CourseFactory(title="Silver course", visibility="paid", required_tier=silver)

    content = staff_client.get(COURSES_URL, {"required_tier__id__exact": gold.pk}).content.decode()

    assert "Gold course</a>" in content
    assert "Silver course</a>" not in content


# --- Bulk actions ----------------------------------------------------------------------


def run_action(client: Client, action: str, courses: list[Course]):
    return client.post(
        COURSES_URL,
        {"action": action, "_selected_action": [str(course.pk) for course in courses]},
        follow=True,
    )


def test_publish_action_publishes_drafts_and_says_how_many_changed(staff_client):
    drafts = CourseFactory.create_batch(2, draft=True)
    already = CourseFactory()

    response = run_action(staff_client, "publish_courses", [*drafts, already])

    assert "2 courses published." in response.content.decode()
    for course in drafts:
        course.refresh_from_db()
        assert course.status == Course.Status.PUBLISHED
        assert course.published_at is not None


def test_unpublish_then_republish_keeps_the_first_publication_date(staff_client):
    first_published = timezone.now() - timedelta(days=30)
    course = CourseFactory(published_at=first_published)

    response = run_action(staff_client, "unpublish_courses", [course])
    assert "1 course moved back to draft." in response.content.decode()
    course.refresh_from_db()
    assert course.status == Course.Status.DRAFT

    run_action(staff_client, "publish_courses", [course])
    course.refresh_from_db()
    assert course.status == Course.Status.PUBLISHED
    assert course.published_at == first_published


def test_archive_action_archives_and_dates_a_never_published_course(staff_client):
    published, draft = CourseFactory(), CourseFactory(draft=True)

    response = run_action(staff_client, "archive_courses", [published, draft])

    assert "2 courses archived." in response.content.decode()
    assert set(Course.objects.values_list("status", flat=True)) == {"archived"}
    draft.refresh_from_db()
    assert draft.published_at is not None


# --- Adding and editing through the forms ------------------------------------------------


def test_add_course_with_sections_then_lessons(staff_client):
    instructor = UserFactory(email="teacher@example.com")
    page = staff_client.get(reverse("admin:catalog_course_add"))
    data = page_form_data(page)
    data.update(
        {
            "title": "Kizomba from zero",
            "slug": "kizomba-from-zero",
            "status": "published",
            "instructors": [str(instructor.pk)],
            "sections-TOTAL_FORMS": "2",
            "sections-0-title": "Walking",
            "sections-1-title": "Turns",
            "sections-1-order": "",
        }
    )

    response = staff_client.post(reverse("admin:catalog_course_add"), data)

    assert response.status_code == 302, error_text(response)
    course = Course.objects.get(slug="kizomba-from-zero")
    assert course.status == Course.Status.PUBLISHED
    assert course.published_at is not None
    assert list(course.instructors.all()) == [instructor]
    assert list(course.sections.values_list("title", "order")) == [("Walking", 0), ("Turns", 1)]

    walking = course.sections.get(title="Walking")
    page = staff_client.get(section_url(walking))
    data = page_form_data(page)
    data.update(
        {
            "lessons-TOTAL_FORMS": "2",
            "lessons-0-title": "Frame",
            "lessons-0-slug": "frame",
            "lessons-0-kind": "video",
            "lessons-0-duration_seconds": "240",
            "lessons-1-title": "Basic step",
            "lessons-1-slug": "basic-step",
            "lessons-1-kind": "text",
            "lessons-1-duration_seconds": "300",
            "lessons-1-xp_value": "10",
            "lessons-1-is_published": "on",
        }
    )
    response = staff_client.post(section_url(walking), data)

    assert response.status_code == 302, error_text(response)
    lessons = list(Lesson.objects.filter(section=walking).order_by("order"))
    assert [(lesson.slug, lesson.order, lesson.course_id) for lesson in lessons] == [
        ("frame", 0, course.pk),
        ("basic-step", 1, course.pk),
    ]


def test_new_lesson_without_an_order_goes_to_the_end(staff_client):
    course = course_with_lessons(3)
    section = course.sections.get()
    page = staff_client.get(section_url(section))
    data = page_form_data(page)
    data.update({"lessons-3-title": "Outro", "lessons-3-slug": "outro", "lessons-3-order": ""})

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 302, error_text(response)
    assert Lesson.objects.get(slug="outro").order == 3


def test_publishing_from_the_course_form_dates_the_course(staff_client):
    course = CourseFactory(draft=True)
    data = page_form_data(staff_client.get(course_url(course)))
    data["status"] = "published"

    response = staff_client.post(course_url(course), data)

    assert response.status_code == 302, error_text(response)
    course.refresh_from_db()
    assert course.status == Course.Status.PUBLISHED
    assert course.published_at is not None


def test_paid_course_without_a_tier_is_a_form_error(staff_client):
    course = CourseFactory()
    data = page_form_data(staff_client.get(course_url(course)))
    data["visibility"] = "paid"

    response = staff_client.post(course_url(course), data)

    assert response.status_code == 200
    assert "A paid course needs a required tier." in error_text(response)
    course.refresh_from_db()
    assert course.visibility == Course.Visibility.PUBLIC


def test_saving_an_untouched_course_page_changes_nothing(staff_client):
    course = course_with_lessons(4, sections=2)
    before = list(Section.objects.values_list("pk", "title", "order"))

    response = staff_client.post(
        course_url(course), page_form_data(staff_client.get(course_url(course)))
    )

    assert response.status_code == 302, error_text(response)
    assert list(Section.objects.values_list("pk", "title", "order")) == before


# --- Orders in the inlines ----------------------------------------------------------------


def test_swapping_two_lesson_orders_in_one_save_succeeds(staff_client):
    course = course_with_lessons(3)
    section = course.sections.get()
    first, second, third = section.lessons.order_by("order")
    page = staff_client.get(section_url(section))
    data, rows = page_form_data(page), row_prefixes(page)
    data[f"{rows[str(first.pk)]}-order"] = "1"
    data[f"{rows[str(second.pk)]}-order"] = "0"
    data[f"{rows[str(third.pk)]}-title"] = "Renamed"

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 302, error_text(response)
    assert list(section.lessons.order_by("order").values_list("slug", "title")) == [
        (second.slug, second.title),
        (first.slug, first.title),
        (third.slug, "Renamed"),
    ]


def test_rotating_three_section_orders_in_one_save_succeeds(staff_client):
    course = course_with_lessons(3, sections=3)
    a, b, c = course.sections.order_by("order")
    page = staff_client.get(course_url(course))
    data, rows = page_form_data(page), row_prefixes(page)
    data[f"{rows[str(a.pk)]}-order"] = "2"
    data[f"{rows[str(b.pk)]}-order"] = "0"
    data[f"{rows[str(c.pk)]}-order"] = "1"

    response = staff_client.post(course_url(course), data)

    assert response.status_code == 302, error_text(response)
    assert list(course.sections.order_by("order")) == [b, c, a]


def test_two_lessons_given_the_same_order_is_a_form_error(staff_client):
    course = course_with_lessons(3)
    section = course.sections.get()
    first, second, _third = section.lessons.order_by("order")
    page = staff_client.get(section_url(section))
    data, rows = page_form_data(page), row_prefixes(page)
    data[f"{rows[str(first.pk)]}-order"] = "1"

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 200
    errors = error_text(response)
    assert "Two rows have the same order (1): give each row its own order." in errors
    assert errors.count("Another row also has order 1.") == 2
    assert list(section.lessons.order_by("order").values_list("pk", flat=True)) == [
        first.pk,
        second.pk,
        _third.pk,
    ]


def test_new_section_taking_an_existing_order_is_a_form_error(staff_client):
    course = course_with_lessons(2, sections=2)
    page = staff_client.get(course_url(course))
    data = page_form_data(page)
    data.update({"sections-2-title": "Extra", "sections-2-order": "0"})

    response = staff_client.post(course_url(course), data)

    assert response.status_code == 200
    assert "Another row also has order 0." in error_text(response)
    assert course.sections.count() == 2


def test_deleting_a_lesson_frees_its_order_for_another_in_the_same_save(staff_client):
    course = course_with_lessons(2)
    section = course.sections.get()
    first, second = section.lessons.order_by("order")
    page = staff_client.get(section_url(section))
    data, rows = page_form_data(page), row_prefixes(page)
    data[f"{rows[str(first.pk)]}-DELETE"] = "on"
    data[f"{rows[str(second.pk)]}-order"] = "0"

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 302, error_text(response)
    assert list(section.lessons.values_list("pk", "order")) == [(second.pk, 0)]


def test_section_page_order_taken_by_a_sibling_is_a_form_error(staff_client):
    course = course_with_lessons(2, sections=2)
    first = course.sections.get(order=0)
    data = page_form_data(staff_client.get(section_url(first)))
    data["order"] = "1"

    response = staff_client.post(section_url(first), data)

    assert response.status_code == 200
    assert "Another section of this course has this order." in error_text(response)


# --- Lesson slugs ---------------------------------------------------------------------------


def test_two_new_lessons_with_the_same_slug_is_a_form_error(staff_client):
    section = SectionFactory()
    data = page_form_data(staff_client.get(section_url(section)))
    data.update(
        {
            "lessons-TOTAL_FORMS": "2",
            "lessons-0-title": "Step",
            "lessons-0-slug": "step",
            "lessons-1-title": "Step again",
            "lessons-1-slug": "step",
            "lessons-1-kind": "text",
            "lessons-1-duration_seconds": "0",
            "lessons-1-xp_value": "10",
        }
    )

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 200
    assert "Two rows have the same slug: each lesson of a course needs its own." in (
        error_text(response)
    )
    assert not Lesson.objects.exists()


def test_inline_slug_used_in_another_section_of_the_course_is_a_form_error(staff_client):
    course = course_with_lessons(2, sections=2)
    part_two = course.sections.get(order=1)
    data = page_form_data(staff_client.get(section_url(part_two)))
    data.update({"lessons-1-title": "Copy", "lessons-1-slug": "lesson-1"})  # in part one

    response = staff_client.post(section_url(part_two), data)

    assert response.status_code == 200
    assert "Another lesson of this course has this slug." in error_text(response)
    assert not part_two.lessons.filter(slug="lesson-1").exists()


def test_the_same_slug_in_another_course_is_fine(staff_client):
    course_with_lessons(1, slug="other-course")  # has "lesson-1"
    section = SectionFactory()
    data = page_form_data(staff_client.get(section_url(section)))
    data.update({"lessons-0-title": "Lesson 1", "lessons-0-slug": "lesson-1"})

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 302, error_text(response)


def test_lesson_form_duplicate_slug_is_a_form_error(staff_client):
    course = course_with_lessons(2)
    second = course.lessons.get(slug="lesson-2")
    data = page_form_data(staff_client.get(lesson_url(second)))
    data["slug"] = "lesson-1"

    response = staff_client.post(lesson_url(second), data)

    assert response.status_code == 200
    assert "Another lesson of this course has this slug." in error_text(response)


# --- The lesson page -------------------------------------------------------------------------


def test_adding_a_lesson_takes_the_course_from_its_section(staff_client):
    section = SectionFactory(title="Footwork")
    page = staff_client.get(reverse("admin:catalog_lesson_add"))
    assert f"{section.course.title} › Footwork" in page.content.decode()
    data = page_form_data(page)
    data.update(
        {"section": str(section.pk), "title": "Heel turns", "slug": "heel-turns", "body": "# Go"}
    )

    response = staff_client.post(reverse("admin:catalog_lesson_add"), data)

    assert response.status_code == 302, error_text(response)
    lesson = Lesson.objects.get(slug="heel-turns")
    assert (lesson.course_id, lesson.section_id, lesson.order, lesson.body) == (
        section.course_id,
        section.pk,
        0,
        "# Go",
    )


def test_moving_a_lesson_to_another_courses_section_moves_its_course(staff_client):
    lesson = LessonFactory(order=0)
    elsewhere = SectionFactory()
    data = page_form_data(staff_client.get(lesson_url(lesson)))
    data["section"] = str(elsewhere.pk)

    response = staff_client.post(lesson_url(lesson), data)

    assert response.status_code == 302, error_text(response)
    lesson.refresh_from_db()
    assert (lesson.section_id, lesson.course_id) == (elsewhere.pk, elsewhere.course_id)


def test_staff_give_a_lesson_a_video_from_the_library_and_deleted_videos_are_not_offered(
    staff_client,
):
    lesson = LessonFactory(order=0, kind=Lesson.Kind.VIDEO)
    video = Video.objects.create(title="Body rolls", status=Video.Status.READY, playback_id="p1")
    Video.objects.create(
        title="Old take", status=Video.Status.READY, playback_id="p2", deleted_at=timezone.now()
    )
    page = staff_client.get(lesson_url(lesson))
    offered = page.content.decode()
    data = page_form_data(page)
    data["video"] = str(video.pk)

    response = staff_client.post(lesson_url(lesson), data)

    assert "Body rolls" in offered and "Old take" not in offered
    assert response.status_code == 302, error_text(response)
    lesson.refresh_from_db()
    assert lesson.video == video


def test_lesson_list_search_and_filters(staff_client):
    salsa = course_with_lessons(2, title="Salsa")
    LessonFactory(
        title="Cross body lead",
        slug="cross-body-lead",
        section=salsa.sections.get(),
        order=10,
        is_published=False,
    )
    zouk = course_with_lessons(1, title="Zouk")

    by_title = staff_client.get(LESSONS_URL, {"q": "cross body"}).content.decode()
    by_course = staff_client.get(LESSONS_URL, {"course__id__exact": str(zouk.pk)})
    unpublished = staff_client.get(LESSONS_URL, {"is_published__exact": "0"}).content.decode()

    assert "Cross body lead</a>" in by_title
    assert "Lesson 1</a>" not in by_title
    assert [lesson.course_id for lesson in by_course.context["cl"].result_list] == [zouk.pk]
    assert "Cross body lead</a>" in unpublished
    assert "Lesson 2</a>" not in unpublished


# --- Move up / down ----------------------------------------------------------------------------


def test_move_section_down_swaps_it_with_the_next_and_returns_to_the_course(staff_client):
    course = course_with_lessons(2, sections=2)
    first, second = course.sections.order_by("order")

    response = staff_client.post(move_url(first, "down"))

    assert response.status_code == 302
    assert response["Location"] == course_url(course)
    assert list(course.sections.order_by("order")) == [second, first]
    page = staff_client.get(response["Location"]).content.decode()
    assert f"“{first.title}” moved down." in page


def test_move_lesson_up_at_the_top_says_so_and_changes_nothing(staff_client):
    course = course_with_lessons(2)
    first = course.lessons.get(order=0)

    response = staff_client.post(move_url(first, "up"), follow=True)

    assert response.redirect_chain == [(section_url(first.section), 302)]
    assert f"“{first.title}” is already first." in response.content.decode()
    first.refresh_from_db()
    assert first.order == 0


def test_move_lesson_up_swaps_it_with_the_previous(staff_client):
    course = course_with_lessons(3)
    first, second, third = course.lessons.order_by("order")

    staff_client.post(move_url(third, "up"))

    assert list(course.lessons.order_by("order")) == [first, third, second]


def test_section_page_shows_move_buttons_posting_the_page_form(staff_client):
    course = course_with_lessons(2)
    lesson = course.lessons.get(order=1)

    content = staff_client.get(section_url(lesson.section)).content.decode()

    assert f'formaction="{move_url(lesson, "up")}" formmethod="post"' in content
    # Enter in a text field presses the form's first submit button: it must be "Save".
    assert content.index('name="_save"') < content.index("formaction=")
    assert f'href="{lesson_url(lesson)}">Edit lesson</a>' in content


def test_course_page_shows_section_lesson_counts_and_links(staff_client):
    course = course_with_lessons(3, sections=2)
    first = course.sections.get(order=0)

    content = staff_client.get(course_url(course)).content.decode()

    assert re.search(
        rf'<td class="field-section_lessons">\s*<p>2 lessons · <a href="{section_url(first)}">'
        r"Edit lessons</a></p>",
        content,
    )
    assert f'formaction="{move_url(first, "down")}"' in content


def test_move_needs_post(staff_client):
    section = SectionFactory()

    response = staff_client.get(move_url(section, "up"))

    assert response.status_code == 405


def test_move_checks_the_csrf_token(staff_user):
    section = SectionFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post(move_url(section, "up"))

    assert response.status_code == 403


def test_move_in_an_unknown_direction_is_not_found(staff_client):
    section = SectionFactory()

    assert staff_client.post(move_url(section, "sideways")).status_code == 404


def test_move_needs_the_change_permission(client):
    viewer = UserFactory(is_staff=True)
    client.force_login(viewer)
    course = course_with_lessons(1, sections=2)
    first = course.sections.get(order=0)

    response = client.post(move_url(first, "down"))

    assert response.status_code == 403
    first.refresh_from_db()
    assert first.order == 0


# --- Who gets in -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    ["catalog_course_changelist", "catalog_section_changelist", "catalog_lesson_changelist"],
)
def test_learners_and_visitors_are_sent_to_the_admin_login(client, user, url_name):
    url = reverse(f"admin:{url_name}")
    login = reverse("admin:login")

    anonymous = client.get(url)
    client.force_login(user)
    learner = client.get(url)

    assert anonymous.status_code == learner.status_code == 302
    assert anonymous["Location"] == learner["Location"] == f"{login}?next={url}"


def test_learner_cannot_move_sections(client, user):
    client.force_login(user)
    course = course_with_lessons(1, sections=2)
    first = course.sections.get(order=0)

    response = client.post(move_url(first, "down"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    first.refresh_from_db()
    assert first.order == 0


def test_view_on_site_leads_staff_to_the_course_page_even_for_a_draft(staff_client):
    course = CourseFactory(draft=True, slug="secret-draft")
    content_type = ContentType.objects.get_for_model(Course)
    view_on_site = reverse("admin:view_on_site", args=[content_type.pk, course.pk])

    page = staff_client.get(course_url(course)).content.decode()
    response = staff_client.get(view_on_site)

    assert f'href="{view_on_site}"' in page
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/courses/secret-draft/"
    preview = staff_client.get(course.get_absolute_url())
    assert preview.status_code == 200
    assert course.title in preview.content.decode()


# --- Query budgets ----------------------------------------------------------------------------

# Session, user, the page's rows, a count or two and a filter's choices: 6 today, one
# more when the content-type cache is cold.
ADMIN_PAGE_QUERY_BUDGET = 7
PAGES = {
    "course list": lambda course: COURSES_URL,
    "course page": course_url,
    "section page": lambda course: section_url(course.sections.get()),
    "lesson list": lambda course: LESSONS_URL,
}


def _queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("lesson_count", [5, 200])
def test_admin_pages_stay_within_a_fixed_query_budget(
    staff_client, django_assert_max_num_queries, page, lesson_count
):
    url = PAGES[page](course_with_lessons(lesson_count))

    with django_assert_max_num_queries(ADMIN_PAGE_QUERY_BUDGET):
        response = staff_client.get(url)

    assert response.status_code == 200


@pytest.mark.parametrize("page", list(PAGES))
def test_admin_pages_run_the_same_queries_for_5_and_200_lessons(staff_client, page):
    small = course_with_lessons(5, title="Small")
    staff_client.get(PAGES[page](small))  # warm what is cached for the whole process
    small_count = _queries_for(staff_client, PAGES[page](small))
    Course.objects.all().delete()
    large = course_with_lessons(200, title="Large")

    assert _queries_for(staff_client, PAGES[page](large)) == small_count


def test_section_page_with_200_lessons_saves_a_swap(staff_client):
    course = course_with_lessons(200)
    section = course.sections.get()
    first, second = section.lessons.order_by("order")[:2]
    page = staff_client.get(section_url(section))
    data, rows = page_form_data(page), row_prefixes(page)
    data[f"{rows[str(first.pk)]}-order"] = "1"
    data[f"{rows[str(second.pk)]}-order"] = "0"

    response = staff_client.post(section_url(section), data)

    assert response.status_code == 302, error_text(response)
    assert list(section.lessons.order_by("order")[:2]) == [second, first]
