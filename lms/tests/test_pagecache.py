"""Cached anonymous pages (lms.pagecache): what a visitor gets, and what they never get."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from billing.services import tier_grant_create
from billing.tests.factories import PlanFactory, TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from catalog.tests.test_admin import lesson_url, move_url, page_form_data
from progress.services.enrollments import enrollment_enroll
from progress.services.learning import lesson_complete

pytestmark = pytest.mark.django_db

HOME = reverse("catalog:home")
CATALOG = reverse("catalog:course_list")


@pytest.fixture
def course():
    """A public course: two sections, a hidden and an unpublished lesson among them."""
    course = CourseFactory(title="Salsa Basics", slug="salsa-basics")
    first = SectionFactory(course=course, title="Footwork", order=0)
    second = SectionFactory(course=course, title="Turns", order=1)
    LessonFactory(section=first, title="Basic step", slug="basic-step", order=0)
    LessonFactory(section=first, title="Side step", slug="side-step", order=1)
    LessonFactory(section=second, title="Right turn", slug="right-turn", order=0)
    LessonFactory(
        section=second, title="Secret drill", slug="secret-drill", order=1, is_hidden=True
    )
    LessonFactory(
        section=second, title="Draft spin", slug="draft-spin", order=2, is_published=False
    )
    return course


def course_url(course: Course) -> str:
    return reverse("progress:course_detail", args=[course.slug])


def page_url(course: Course, slug: str) -> str:
    return reverse("progress:lesson_detail", args=[course.slug, slug])


def text(response) -> str:
    return response.content.decode()


def test_a_visitors_cached_pages_never_hold_what_a_learner_or_staff_saw(
    course, django_assert_num_queries
):
    learner = UserFactory(display_name="Wanda Learner")
    enrollment_enroll(user=learner, course=course)
    lesson_complete(user=learner, lesson=course.lessons.get(slug="basic-step"))
    staff = UserFactory(display_name="Stella Staff", is_staff=True, is_superuser=True)
    urls = [HOME, CATALOG, course_url(course), page_url(course, "basic-step")]
    signed_in = {}
    for person in (learner, staff):
        browser = Client()
        browser.force_login(person)
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200
            signed_in[person.display_name, url] = text(response)
    # What they saw was their own: names, marks, staff links, hidden and unpublished lessons.
    assert "Wanda Learner" in signed_in["Wanda Learner", HOME]
    assert "Continue" in signed_in["Wanda Learner", course_url(course)]
    assert "Secret drill" in signed_in["Stella Staff", course_url(course)]
    assert reverse("admin:index") in signed_in["Stella Staff", HOME]

    visitor = Client()
    for url in urls:
        first = text(visitor.get(url))
        with django_assert_num_queries(0):
            cached = visitor.get(url)
        assert text(cached) == first
        for seen in ("Wanda Learner", "Stella Staff", "Secret drill", "Draft spin"):
            assert seen not in first
        assert reverse("admin:index") not in first
        assert "Continue" not in first and "Sign out" not in first
        assert "Sign in" in first


def test_a_signed_in_visitor_always_gets_the_live_page(course):
    visitor = Client()
    assert "Sign in" in text(visitor.get(course_url(course)))
    learner = UserFactory(display_name="Wanda Learner")
    browser = Client()
    browser.force_login(learner)

    page = text(browser.get(course_url(course)))

    assert "Wanda Learner" in page and "Enroll and start" in page
    assert "Sign in" not in page


def test_a_paid_course_page_a_visitor_cached_is_not_what_an_entitled_learner_gets():
    tier = TierFactory(name="Pro")
    PlanFactory(tier=tier, name="Pro monthly")
    course = CourseFactory(slug="pro-salsa", visibility=Course.Visibility.PAID, required_tier=tier)
    section = SectionFactory(course=course)
    LessonFactory(section=section, slug="intro", title="Intro", is_free_preview=True, order=0)
    LessonFactory(section=section, slug="deep", title="Deep dive", order=1)
    visitor = Client()
    assert "Sign in to start" in text(visitor.get(course_url(course)))
    assert visitor.get(page_url(course, "intro")).status_code == 200
    locked = visitor.get(page_url(course, "deep"))
    assert locked.status_code == 403
    assert locked["Cache-Control"] == "private, no-cache"
    learner = UserFactory()
    tier_grant_create(user=learner, tier=tier, source="staff")
    browser = Client()
    browser.force_login(learner)

    course_page = text(browser.get(course_url(course)))
    lesson = browser.get(page_url(course, "deep"))

    assert "Sign in to start" not in course_page and "Enroll and start" in course_page
    assert lesson.status_code == 200


def test_admin_edits_show_at_once_to_visitors(course, staff_client):
    visitor = Client()
    basic = course.lessons.get(slug="basic-step")
    side = course.lessons.get(slug="side-step")
    for url in (HOME, course_url(course), page_url(course, "side-step")):
        visitor.get(url)

    data = page_form_data(staff_client.get(lesson_url(basic)))
    data["title"] = "Basic step, renamed"
    assert staff_client.post(lesson_url(basic), data).status_code == 302
    assert "Basic step, renamed" in text(visitor.get(course_url(course)))
    assert "Basic step, renamed" in text(visitor.get(page_url(course, "side-step")))

    del data["is_published"]  # unticked
    assert staff_client.post(lesson_url(basic), data).status_code == 302
    assert "Basic step, renamed" not in text(visitor.get(course_url(course)))
    assert visitor.get(page_url(course, "basic-step")).status_code == 404

    data["is_published"] = "on"
    assert staff_client.post(lesson_url(basic), data).status_code == 302
    page = text(visitor.get(course_url(course)))
    assert page.index("Basic step, renamed") < page.index("Side step")

    assert staff_client.post(move_url(side, "up")).status_code == 302
    page = text(visitor.get(course_url(course)))
    assert page.index("Side step") < page.index("Basic step, renamed")


def test_a_hit_costs_no_query_and_says_how_it_may_be_cached(course, django_assert_num_queries):
    visitor = Client()
    miss = visitor.get(course_url(course))

    with django_assert_num_queries(0):
        hit = visitor.get(course_url(course))

    for response in (miss, hit):
        assert response["Cache-Control"] == "public, max-age=0, must-revalidate"
        assert {"Cookie", "Accept-Language"} <= {
            part.strip() for part in response["Vary"].split(",")
        }
        assert response["ETag"] == miss["ETag"]
        # The security headers stay each request's own.
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert "camera=()" in response["Permissions-Policy"]
        assert response["X-Frame-Options"] == "DENY"
    assert hit["X-Request-ID"] != miss["X-Request-ID"]

    with django_assert_num_queries(0):
        unchanged = visitor.get(course_url(course), headers={"if-none-match": miss["ETag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""


def test_signed_in_pages_are_private(course, user_client):
    response = user_client.get(course_url(course))

    assert response["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response["Vary"]
    assert "ETag" not in response


def test_head_is_answered_from_the_cache_and_fills_it(course, django_assert_num_queries):
    visitor = Client()
    head = visitor.head(course_url(course))
    assert head.status_code == 200 and head.content == b""

    with django_assert_num_queries(0):
        get = visitor.get(course_url(course))
    with django_assert_num_queries(0):
        again = visitor.head(course_url(course))

    assert "Salsa Basics" in text(get)
    assert again.status_code == 200 and again.content == b""
    assert again["ETag"] == get["ETag"]


def test_catalog_query_strings_are_cached_apart(django_assert_num_queries):
    CourseFactory(title="Salsa for all", course_type=Course.CourseType.COURSE)
    CourseFactory(title="Tango nights", course_type=Course.CourseType.CHOREO)
    visitor = Client()
    pages = {
        query: text(visitor.get(CATALOG + query))
        for query in ("", "?q=salsa", "?q=tango", "?type=choreo")
    }

    assert "Salsa for all" in pages["?q=salsa"] and "Tango nights" not in pages["?q=salsa"]
    assert "Tango nights" in pages["?q=tango"] and "Salsa for all" not in pages["?q=tango"]
    assert "Tango nights" in pages["?type=choreo"] and "Salsa for all" not in pages["?type=choreo"]
    for query, page in pages.items():
        with django_assert_num_queries(0):
            assert text(visitor.get(CATALOG + query)) == page
    # A parameter the catalog does not read is served live, never kept.
    visitor.get(CATALOG + "?utm_source=mail")
    live = visitor.get(CATALOG + "?utm_source=mail")
    assert live["Cache-Control"] == "private, no-cache"
    # A filter the catalog refuses is a 400, never kept either.
    assert visitor.get(CATALOG + "?type=opera").status_code == 400


def test_each_language_has_its_own_copy(course):
    visitor = Client()

    english = visitor.get(course_url(course), headers={"accept-language": "en"})
    spanish = visitor.get(course_url(course), headers={"accept-language": "es"})
    english_again = visitor.get(course_url(course), headers={"accept-language": "en"})

    assert '<html lang="en">' in text(english)
    assert '<html lang="es">' in text(spanish)
    assert text(english_again) == text(english)
    assert spanish["Content-Language"] == "es"


def test_flash_messages_are_shown_to_their_visitor_and_never_kept(client, user):
    visitor = Client()
    visitor.get(HOME)  # the home page is cached
    client.force_login(user)

    signed_out = client.post(reverse("account_logout"), follow=True)

    assert "You have signed out." in text(signed_out)
    assert "You have signed out." not in text(visitor.get(HOME))
    assert "You have signed out." not in text(client.get(HOME))


def test_a_learner_count_and_a_tier_name_show_at_once(course):
    visitor = Client()
    assert "0 learners" in text(visitor.get(course_url(course)))
    enrollment_enroll(user=UserFactory(), course=course)
    assert "1 learner" in text(visitor.get(course_url(course)))

    tier = TierFactory(name="Gold")
    PlanFactory(tier=tier, name="Gold plan")
    paid = CourseFactory(slug="paid", visibility=Course.Visibility.PAID, required_tier=tier)
    LessonFactory(section=SectionFactory(course=paid), kind=Lesson.Kind.TEXT)
    assert "Included in the Gold plan plan" in text(visitor.get(course_url(paid)))
    plan = tier.plans.get()
    plan.name = "Platinum"
    plan.save()
    assert "Included in the Platinum plan" in text(visitor.get(course_url(paid)))


def test_an_instructors_new_name_shows_at_once(course):
    teacher = UserFactory(display_name="Ana Teacher")
    visitor = Client()
    visitor.get(course_url(course))
    course.instructors.add(teacher)
    assert "Ana Teacher" in text(visitor.get(course_url(course)))

    teacher.display_name = "Ana María"
    teacher.save()

    assert "Ana María" in text(visitor.get(course_url(course)))


def test_the_page_cache_can_be_switched_off(course, settings, django_assert_max_num_queries):
    settings.LMS_PAGE_CACHE_SECONDS = 0
    visitor = Client()
    visitor.get(course_url(course))

    response = visitor.get(course_url(course))

    assert response["Cache-Control"] == "private, no-cache"
    assert "ETag" not in response
