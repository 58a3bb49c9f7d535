"""The learner pages: what a visitor sees, what they may open, and how many queries it costs."""

import re

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import include, path, reverse

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)

pytestmark = pytest.mark.django_db


# A URLconf for the error-page tests: the real site plus views that fail on purpose.
def _explode(request):
    raise RuntimeError("boom")


def _forbidden(request):
    raise PermissionDenied


def _suspicious(request):
    raise SuspiciousOperation("bad")


urlpatterns = [
    path("explode/", _explode),
    path("forbidden/", _forbidden),
    path("suspicious/", _suspicious),
    path("", include("lms.urls")),
]
handler400 = "lms.views.bad_request"
handler403 = "lms.views.permission_denied"
handler404 = "lms.views.page_not_found"
handler500 = "lms.views.server_error"


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed, so assertions read like the page."""
    html = response.content.decode()
    html = re.sub(r"<(head|script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html).strip()


def catalog_url(**params) -> str:
    from urllib.parse import urlencode

    url = reverse("catalog:course_list")
    return f"{url}?{urlencode(params)}" if params else url


def lesson_url(course: Course, slug: str) -> str:
    return reverse(
        "progress:lesson_detail", kwargs={"course_slug": course.slug, "lesson_slug": slug}
    )


@pytest.fixture
def gold():
    return TierFactory(name="Gold", slug="gold", rank=2)


# --- Layout ------------------------------------------------------------------------------


def test_layout_has_skip_link_site_name_and_sign_in_for_visitors(client, settings):
    settings.SITE_NAME = "Dance Academy"
    response = client.get(reverse("catalog:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#main"' in html and 'id="main"' in html
    assert "Dance Academy" in text_of(response)
    assert "Sign in" in text_of(response)
    assert "Sign out" not in text_of(response)
    assert "/admin/" not in html


def test_layout_shows_learner_name_and_sign_out_form(client):
    learner = UserFactory(display_name="Rosa Parks")
    client.force_login(learner)
    response = client.get(reverse("catalog:home"))
    html = response.content.decode()
    assert "Rosa Parks" in text_of(response)
    assert re.search(r'<form[^>]*method="post"[^>]*action="/accounts/logout/"', html)
    assert "/admin/" not in html


def test_layout_shows_admin_link_to_staff(staff_client):
    response = staff_client.get(reverse("catalog:home"))
    assert 'href="/admin/"' in response.content.decode()


def test_signing_out_from_the_header_form_works(client, user):
    client.force_login(user)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "Sign in" in text_of(client.get(reverse("catalog:home")))


def test_login_page_renders_and_signs_in(client):
    # Sign-in is allauth's, with mandatory email verification: a verified address signs in.
    UserFactory(email="ana@example.com", verified_email=True)
    page = client.get(reverse("account_login") + "?next=/courses/")
    assert page.status_code == 200
    assert "Sign In" in text_of(page)
    response = client.post(
        reverse("account_login"),
        {"login": "ana@example.com", "password": "correct-horse-battery", "next": "/courses/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/courses/"


def test_login_page_shows_wrong_password_error(client):
    UserFactory(email="ana@example.com", verified_email=True)
    response = client.post(
        reverse("account_login"), {"login": "ana@example.com", "password": "nope"}
    )
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in text_of(response)


# --- Home --------------------------------------------------------------------------------


def test_home_shows_newest_published_courses(client, django_assert_max_num_queries):
    course_with_lessons(3, title="Salsa Basics", slug="salsa-basics")
    CourseFactory(title="Secret Draft", draft=True)
    with django_assert_max_num_queries(2):
        response = client.get(reverse("catalog:home"))
    text = text_of(response)
    assert response.status_code == 200
    assert "Salsa Basics" in text
    assert "3 lessons" in text
    assert "Secret Draft" not in text


def test_home_without_courses_says_so(client):
    assert "No courses yet" in text_of(client.get(reverse("catalog:home")))


# --- Catalog -----------------------------------------------------------------------------


def test_catalog_cards_show_the_course_facts(client, gold):
    course_with_lessons(
        4,
        title="Bachata Sensual",
        subtitle="Waves and body rolls",
        course_type=Course.CourseType.CHOREO,
        difficulty=Course.Difficulty.ADVANCED,
        visibility=Course.Visibility.PAID,
        required_tier=gold,
    )
    CourseFactory(title="Members Club", visibility=Course.Visibility.MEMBERS)
    CourseFactory(title="Open Floor")
    response = client.get(catalog_url())
    text = text_of(response)
    assert response.status_code == 200
    assert "3 courses" in text
    # 4 lessons of 1, 2, 3 and 4 minutes.
    for fact in ("Bachata Sensual", "Waves and body rolls", "Choreography", "Advanced"):
        assert fact in text
    assert "4 lessons" in text and "10 min" in text
    assert "Paid: Gold" in text
    assert "Members" in text
    assert "Free" in text


def test_catalog_hides_drafts_and_archived_courses(client):
    CourseFactory(title="Published One")
    CourseFactory(title="Draft One", draft=True)
    CourseFactory(title="Archived One", status=Course.Status.ARCHIVED)
    text = text_of(client.get(catalog_url()))
    assert "Published One" in text
    assert "Draft One" not in text
    assert "Archived One" not in text


def test_catalog_card_shows_thumbnail_or_placeholder(client):
    CourseFactory(title="No Picture")
    html = client.get(catalog_url()).content.decode()
    assert "thumb__placeholder" in html


def test_search_finds_courses_by_title(client):
    CourseFactory(title="Salsa Footwork", description="Shines and spins.")
    CourseFactory(title="Tango Walks", description="Embrace and walk.")
    response = client.get(catalog_url(q="footwork"))
    text = text_of(response)
    assert response.status_code == 200
    assert "Salsa Footwork" in text
    assert "Tango Walks" not in text
    assert "1 course" in text


def test_search_finds_courses_by_description(client):
    CourseFactory(title="Latin Party", description="We practise **bachata** turns all night.")
    CourseFactory(title="Waltz Evening", description="Three steps in a box.")
    text = text_of(client.get(catalog_url(q="bachata")))
    assert "Latin Party" in text
    assert "Waltz Evening" not in text


@pytest.mark.postgres
def test_search_on_postgres_uses_stemming(client):
    CourseFactory(title="Spinning Like a Pro", description="Turns and spins.")
    CourseFactory(title="Tango Walks", description="Embrace and walk.")
    text = text_of(client.get(catalog_url(q="spin")))
    assert "Spinning Like a Pro" in text
    assert "Tango Walks" not in text


def test_search_without_matches_shows_empty_state(client):
    CourseFactory(title="Salsa Footwork")
    text = text_of(client.get(catalog_url(q="zumba")))
    assert "0 courses" in text
    assert "No courses match your search" in text


def test_filters_by_type_and_difficulty(client):
    CourseFactory(
        title="Beginner Choreo",
        course_type=Course.CourseType.CHOREO,
        difficulty=Course.Difficulty.BEGINNER,
    )
    CourseFactory(
        title="Advanced Choreo",
        course_type=Course.CourseType.CHOREO,
        difficulty=Course.Difficulty.ADVANCED,
    )
    CourseFactory(
        title="Beginner Topic",
        course_type=Course.CourseType.TOPIC,
        difficulty=Course.Difficulty.BEGINNER,
    )
    text = text_of(client.get(catalog_url(type="choreo")))
    assert "Beginner Choreo" in text and "Advanced Choreo" in text
    assert "Beginner Topic" not in text

    response = client.get(catalog_url(type="choreo", difficulty="beginner"))
    text = text_of(response)
    assert "Beginner Choreo" in text
    assert "Advanced Choreo" not in text and "Beginner Topic" not in text
    # The chosen filters stay selected in the form.
    assert '<option value="choreo" selected>' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"type": "opera"}, "“opera” is not a course type we offer."),
        ({"difficulty": "legendary"}, "“legendary” is not a difficulty level we offer."),
        ({"q": "x" * 101}, "Ensure this value has at most 100 characters"),
    ],
)
def test_invalid_filter_rerenders_the_catalog_with_an_error_and_400(client, params, message):
    CourseFactory(title="Salsa Footwork")
    response = client.get(catalog_url(**params))
    text = text_of(response)
    assert response.status_code == 400
    assert "We could not apply these filters." in text
    assert message in text
    assert "Salsa Footwork" not in text
    assert 'aria-invalid="true"' in response.content.decode()


def test_catalog_paginates(client, settings):
    settings.LMS_CATALOG_PAGE_SIZE = 2
    for index in range(5):
        CourseFactory(title=f"Course number {index}")
    first = client.get(catalog_url())
    assert "5 courses" in text_of(first)
    assert "Page 1 of 3" in text_of(first)
    assert len(re.findall(r'class="course-card"', first.content.decode())) == 2
    assert 'href="?page=2"' in first.content.decode()

    last = client.get(catalog_url(page=3))
    assert last.status_code == 200
    assert "Page 3 of 3" in text_of(last)
    assert len(re.findall(r'class="course-card"', last.content.decode())) == 1


def test_pagination_links_keep_the_search_and_filters(client, settings):
    settings.LMS_CATALOG_PAGE_SIZE = 1
    CourseFactory(title="Salsa One", course_type=Course.CourseType.TOPIC)
    CourseFactory(title="Salsa Two", course_type=Course.CourseType.TOPIC)
    html = client.get(catalog_url(q="salsa", type="topic")).content.decode()
    assert 'href="?q=salsa&amp;type=topic&amp;page=2"' in html


@pytest.mark.parametrize("page", ["4", "0", "-1", "abc"])
def test_invalid_or_out_of_range_page_is_404(client, settings, page):
    settings.LMS_CATALOG_PAGE_SIZE = 2
    for _ in range(5):
        CourseFactory()
    response = client.get(catalog_url(page=page))
    assert response.status_code == 404
    assert "That page of results does not exist." in text_of(response)


# --- Course page -------------------------------------------------------------------------


def test_course_page_shows_details_and_outline(client):
    course = CourseFactory(
        title="Salsa From Zero",
        subtitle="Your first steps",
        description="Learn the **basic** step.",
        difficulty=Course.Difficulty.INTERMEDIATE,
    )
    intro = SectionFactory(course=course, title="Getting started", order=0)
    turns = SectionFactory(course=course, title="Turns", order=1)
    LessonFactory(section=intro, title="The basic", slug="basic", kind="video", order=0)
    LessonFactory(section=intro, title="Timing", slug="timing", duration_seconds=90, order=1)
    LessonFactory(section=turns, title="Right turn", slug="right-turn", kind="quiz", order=0)

    response = client.get(course.get_absolute_url())
    html = response.content.decode()
    text = text_of(response)
    assert response.status_code == 200
    for visible in (
        "Salsa From Zero",
        "Your first steps",
        "Intermediate",
        "Free",
        "3 lessons",
        "12 min in total",
        "2 sections",
        "Getting started",
        "Turns",
        "The basic",
        "Timing",
        "1 min 30 sec",
        "Right turn",
        "Video",
        "Quiz",
        "Start course",
    ):
        assert visible in text, visible
    assert "<strong>basic</strong>" in html
    assert f'href="{lesson_url(course, "basic")}"' in html
    assert "Locked" not in text


def test_members_course_shows_locks_and_preview_to_visitors(client):
    course = CourseFactory(title="Members Salsa", visibility=Course.Visibility.MEMBERS)
    section = SectionFactory(course=course, order=0)
    LessonFactory(section=section, title="Taster", slug="taster", is_free_preview=True, order=0)
    LessonFactory(section=section, title="Deep dive", slug="deep-dive", order=1)
    response = client.get(course.get_absolute_url())
    text = text_of(response)
    assert "Members" in text
    assert "Preview" in text
    assert text.count("Locked") == 1
    assert "Open free preview" in text
    assert "Sign in to open every lesson of this course." in text


def test_paid_course_asks_visitors_to_sign_in_and_names_the_plan(client, gold):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=gold)
    LessonFactory(section=SectionFactory(course=course))
    text = text_of(client.get(course.get_absolute_url()))
    assert "Sign in to open every lesson of this course. It is part of the Gold plan." in text


def test_paid_course_names_the_plan_to_learners(user_client, gold):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=gold)
    LessonFactory(section=SectionFactory(course=course))
    text = text_of(user_client.get(course.get_absolute_url()))
    assert "Paid: Gold" in text
    assert "The lessons of this course need the Gold plan." in text
    assert "Locked" in text


def test_members_course_is_open_to_signed_in_learners(user_client):
    course = CourseFactory(visibility=Course.Visibility.MEMBERS)
    LessonFactory(section=SectionFactory(course=course))
    text = text_of(user_client.get(course.get_absolute_url()))
    assert "Locked" not in text
    assert "Enroll and start" in text
    assert "Start course" not in text  # one main action: enrolling starts it


def test_unknown_course_is_the_404_page(client):
    response = client.get(reverse("progress:course_detail", kwargs={"slug": "nope"}))
    text = text_of(response)
    assert response.status_code == 404
    assert "We could not find that page" in text
    assert "There is no course at this address." in text


def test_draft_course_is_404_for_visitors_and_learners(client, user):
    course = CourseFactory(draft=True, title="Secret Salsa")
    LessonFactory(section=SectionFactory(course=course), slug="one")
    assert client.get(course.get_absolute_url()).status_code == 404
    assert client.get(lesson_url(course, "one")).status_code == 404
    client.force_login(user)
    response = client.get(course.get_absolute_url())
    assert response.status_code == 404
    assert "Secret Salsa" not in text_of(response)


def test_draft_course_is_previewed_by_staff_with_a_banner(staff_client):
    course = CourseFactory(draft=True, title="Secret Salsa")
    LessonFactory(section=SectionFactory(course=course), slug="one", title="First move")
    response = staff_client.get(course.get_absolute_url())
    text = text_of(response)
    assert response.status_code == 200
    assert "Draft preview" in text and "Secret Salsa" in text
    lesson = staff_client.get(lesson_url(course, "one"))
    assert lesson.status_code == 200
    assert "Draft preview" in text_of(lesson)


def test_draft_course_is_previewed_by_its_instructor(client):
    teacher = UserFactory()
    course = CourseFactory(draft=True, title="Secret Salsa", instructors=[teacher])
    client.force_login(teacher)
    response = client.get(course.get_absolute_url())
    assert response.status_code == 200
    assert "Draft preview" in text_of(response)


def test_archived_course_shows_a_notice(client):
    course = CourseFactory(status=Course.Status.ARCHIVED, title="Old Salsa")
    text = text_of(client.get(course.get_absolute_url()))
    assert "Archived course" in text
    assert "Old Salsa" in text


def test_unpublished_lesson_is_hidden_from_learners_and_shown_to_staff(client, staff_user):
    course = CourseFactory()
    section = SectionFactory(course=course)
    LessonFactory(section=section, title="Ready lesson", slug="ready", order=0)
    LessonFactory(
        section=section, title="Work in progress", slug="wip", order=1, is_published=False
    )
    text = text_of(client.get(course.get_absolute_url()))
    assert "Ready lesson" in text
    assert "Work in progress" not in text
    assert "1 lesson" in text
    assert client.get(lesson_url(course, "wip")).status_code == 404

    client.force_login(staff_user)
    assert "Work in progress" in text_of(client.get(course.get_absolute_url()))
    response = client.get(lesson_url(course, "wip"))
    assert response.status_code == 200
    assert "Unpublished lesson" in text_of(response)


def test_course_without_lessons_says_they_are_coming(client):
    course = CourseFactory()
    text = text_of(client.get(course.get_absolute_url()))
    assert "Lessons are on their way." in text
    assert "0 lessons" in text


# --- Lesson page -------------------------------------------------------------------------


def test_lesson_page_shows_notes_outline_and_breadcrumb(client):
    course = course_with_lessons(5, sections=2, title="Salsa Moves")
    response = client.get(lesson_url(course, "lesson-3"))
    html = response.content.decode()
    text = text_of(response)
    assert response.status_code == 200
    assert "Notes for lesson 3." in text
    assert "Lesson 2 of 5" in text
    assert "Text" in text and "3 min" in text
    assert 'aria-label="Breadcrumb"' in html
    assert "Catalog Salsa Moves Part 1 Lesson 3" in text
    current = re.findall(
        r'<a class="outline-lesson__link" href="([^"]+)" aria-current="page"', html
    )
    assert current == [lesson_url(course, "lesson-3")]


def test_previous_and_next_cross_sections(client):
    # Two sections: Part 1 holds lessons 1, 3, 5 and Part 2 holds lessons 2 and 4.
    course = course_with_lessons(5, sections=2)
    last_of_part_one = client.get(lesson_url(course, "lesson-5")).content.decode()
    assert re.search(rf'href="{lesson_url(course, "lesson-2")}" rel="next"', last_of_part_one)
    assert re.search(rf'href="{lesson_url(course, "lesson-3")}" rel="prev"', last_of_part_one)

    first_of_part_two = client.get(lesson_url(course, "lesson-2")).content.decode()
    assert re.search(rf'href="{lesson_url(course, "lesson-5")}" rel="prev"', first_of_part_two)
    assert re.search(rf'href="{lesson_url(course, "lesson-4")}" rel="next"', first_of_part_two)


def test_first_and_last_lessons_have_one_neighbour(client):
    course = course_with_lessons(3)
    first = client.get(lesson_url(course, "lesson-1")).content.decode()
    assert 'rel="prev"' not in first
    last = client.get(lesson_url(course, "lesson-3"))
    assert 'rel="next"' not in last.content.decode()
    # The last lesson says where the course ends, not that the learner has finished it.
    assert "End of the course Back to the course" in text_of(last)
    assert "Finished" not in text_of(last)


def test_unknown_lesson_is_the_404_page(client):
    course = CourseFactory()
    response = client.get(lesson_url(course, "nope"))
    assert response.status_code == 404
    assert "There is no lesson at this address." in text_of(response)


def test_members_lesson_asks_visitors_to_sign_in_without_showing_the_body(client):
    course = CourseFactory(visibility=Course.Visibility.MEMBERS)
    LessonFactory(
        section=SectionFactory(course=course),
        slug="secret",
        title="Secret steps",
        body="The hidden combination is cross-body lead.",
    )
    url = lesson_url(course, "secret")
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 403
    assert "Sign in to open this lesson" in text_of(response)
    assert "Secret steps" in text_of(response)
    assert "cross-body lead" not in html
    assert f'href="/accounts/login/?next={url}"' in html


def test_members_lesson_opens_for_signed_in_learners(user_client):
    course = CourseFactory(visibility=Course.Visibility.MEMBERS)
    LessonFactory(section=SectionFactory(course=course), slug="secret", body="Cross-body lead.")
    response = user_client.get(lesson_url(course, "secret"))
    assert response.status_code == 200
    assert "Cross-body lead." in text_of(response)


def test_paid_lesson_names_the_plan_and_hides_the_body(user_client, gold):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=gold)
    LessonFactory(section=SectionFactory(course=course), slug="pro", body="Pro secret sauce.")
    response = user_client.get(lesson_url(course, "pro"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "This lesson needs the Gold plan" in text_of(response)
    assert f'href="{course.get_absolute_url()}"' in html
    assert "Pro secret sauce" not in html


def test_paid_lesson_asks_visitors_to_sign_in_and_names_the_plan(client, gold):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=gold)
    LessonFactory(section=SectionFactory(course=course), slug="pro", body="Pro secret sauce.")
    response = client.get(lesson_url(course, "pro"))
    text = text_of(response)
    assert response.status_code == 403
    assert "Sign in to open this lesson" in text
    assert "It is part of the Gold plan." in text
    assert "Pro secret sauce" not in response.content.decode()


def test_staff_open_paid_lessons(staff_client, gold):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=gold)
    LessonFactory(section=SectionFactory(course=course), slug="pro", body="Pro secret sauce.")
    response = staff_client.get(lesson_url(course, "pro"))
    assert response.status_code == 200
    assert "Pro secret sauce." in text_of(response)


def test_free_preview_opens_for_everyone(client, gold):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=gold)
    section = SectionFactory(course=course)
    LessonFactory(section=section, slug="taster", is_free_preview=True, body="Try this step.")
    LessonFactory(section=section, slug="locked", body="Locked content.", order=99)
    response = client.get(lesson_url(course, "taster"))
    text = text_of(response)
    assert response.status_code == 200
    assert "Try this step." in text
    assert "Free preview" in text
    assert "Locked content." not in text


def test_markdown_script_in_lesson_notes_is_not_rendered(client):
    course = CourseFactory()
    LessonFactory(
        section=SectionFactory(course=course),
        slug="xss",
        body='Hello <script>alert("pwned")</script> **world** <img src=x onerror="alert(1)">',
    )
    response = client.get(lesson_url(course, "xss"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>world</strong>" in html
    # Only the site's own static scripts (the header's menu), none from the notes.
    assert all(
        re.fullmatch(r'<script src="/static/js/[\w.-]+\.js" defer>', tag)
        for tag in re.findall(r"<script[^>]*>", html)
    )
    assert "onerror" not in html
    assert 'alert("pwned")' not in html


def test_video_lesson_without_a_video_says_so(client):
    course = CourseFactory()
    LessonFactory(section=SectionFactory(course=course), slug="clip", kind=Lesson.Kind.VIDEO)
    text = text_of(client.get(lesson_url(course, "clip")))
    assert "No video yet" in text
    assert "has not been added yet" in text


# --- Error pages -------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_server_error_renders_the_standalone_500_page(client):
    client.raise_request_exception = False
    response = client.get("/explode/")
    text = text_of(response)
    assert response.status_code == 500
    assert "Something went wrong on our side" in text
    assert "Back to the home page" in text


@pytest.mark.urls(__name__)
def test_permission_denied_renders_the_403_page(client):
    response = client.get("/forbidden/")
    text = text_of(response)
    assert response.status_code == 403
    assert "This page is not open to you" in text
    assert "You do not have permission to do this." in text


@pytest.mark.urls(__name__)
def test_bad_request_renders_the_400_page(client):
    response = client.get("/suspicious/")
    assert response.status_code == 400
    assert "That request did not make sense to us" in text_of(response)


# --- Query budgets -----------------------------------------------------------------------


@pytest.fixture(params=["visitor", "learner", "staff"])
def viewer_client(request, client):
    if request.param == "learner":
        client.force_login(UserFactory())
    elif request.param == "staff":
        client.force_login(UserFactory(is_staff=True))
    return client


@pytest.mark.parametrize(
    "url_for",
    [
        pytest.param(lambda course: catalog_url(), id="catalog"),
        pytest.param(lambda course: course.get_absolute_url(), id="course"),
        pytest.param(lambda course: lesson_url(course, "lesson-2"), id="lesson"),
        pytest.param(lambda course: catalog_url(q="Course"), id="catalog-search"),
    ],
)
@pytest.mark.parametrize("visibility", ["public", "members"])
def test_pages_cost_the_same_few_queries_for_5_and_200_lessons(
    viewer_client, django_assert_max_num_queries, url_for, visibility, settings
):
    # What rendering costs: a visitor's second catalog page would come from the page cache
    # (lms.pagecache, no query: lms/tests/test_pagecache.py).
    settings.LMS_PAGE_CACHE_SECONDS = 0
    small = course_with_lessons(5, sections=2, visibility=visibility)
    large = course_with_lessons(200, sections=10, visibility=visibility)
    counts = []
    for course in (small, large):
        # 12: a lesson page's discussion section reads the lesson's threads (one query).
        with django_assert_max_num_queries(12) as captured:
            response = viewer_client.get(url_for(course))
        assert response.status_code in (200, 403)
        counts.append(len(captured))
    assert counts[0] == counts[1]
