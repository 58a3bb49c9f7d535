"""The course page learners expect: who teaches it, how many take it, what it includes, the
plan that opens it, its preview, one main action per state and a folded outline; where
"Continue" leads (the same on the course page, on My learning and in the API); the lesson
page's "Mark as complete" explanation; and the pages' meta descriptions."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.tests.factories import PlanFactory, TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from media.models import Video
from progress.models import Enrollment
from progress.services import enrollment_enroll, enrollment_unenroll, lesson_complete
from progress.tests.test_pages import text_of

pytestmark = pytest.mark.django_db


def primary_buttons(response) -> list[str]:
    """The text of every primary (main) button in the course page's start card."""
    html = response.content.decode()
    html = html[html.index('<aside class="course-aside"') : html.index("</aside>")]
    found = re.findall(
        r'<(?:a|button) class="btn btn--primary[^"]*"[^>]*>(.*?)</(?:a|button)>', html, re.S
    )
    return [" ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in found]


def open_sections(response) -> list[str]:
    """The titles of the outline's sections shown unfolded."""
    html = response.content.decode()
    return re.findall(
        r'<details class="outline-section" id="section-[^"]+" open>\s*'
        r'<summary class="outline-section__summary">\s*'
        r'<span class="outline-section__title">([^<]+)</span>',
        html,
    )


def meta_description(response) -> str:
    (content,) = re.findall(
        r'<meta name="description" content="([^"]*)">', response.content.decode()
    )
    return content


def three_part_course(**kwargs) -> tuple[Course, dict[int, Lesson]]:
    """ "Bachata" in three sections of two lessons each: lessons 1-6, lesson 5 optional."""
    course = CourseFactory(title="Bachata", slug="bachata", **kwargs)
    lessons = {}
    for part in range(3):
        section = SectionFactory(course=course, order=part, title=f"Part {part + 1}")
        for index in range(2):
            number = part * 2 + index + 1
            lessons[number] = LessonFactory(
                section=section,
                order=index,
                title=f"Step {number}",
                slug=f"step-{number}",
                duration_seconds=600,
                is_required=number != 5,
            )
    return course, lessons


# --- Who teaches it, how many take it, what it includes -----------------------------------------


def test_instructors_show_name_picture_and_bio_but_never_an_email(client):
    ana = UserFactory(email="ana.secret@example.com", display_name="Ana Ruiz")
    ana.bio = "Taught salsa in Cali for twelve years."
    ana.save(update_fields=["bio"])
    User.objects.filter(pk=ana.pk).update(avatar_thumbnail="avatars/ana/small.webp")
    nameless = UserFactory(email="hidden.person@example.com", display_name="")
    course, _lessons = three_part_course(instructors=[ana, nameless])

    response = client.get(course.get_absolute_url())

    text, html = text_of(response), response.content.decode()
    assert "With Ana Ruiz , Instructor" in text
    assert "Your instructors Ana Ruiz Taught salsa in Cali for twelve years. I Instructor" in text
    assert 'src="/media/avatars/ana/small.webp"' in html
    for private in ("ana.secret", "hidden.person", "example.com"):
        assert private not in html


def test_the_page_counts_the_learners_taking_the_course_now(client):
    course, _lessons = three_part_course()
    learners = UserFactory.create_batch(3)
    for learner in learners:
        enrollment_enroll(user=learner, course=course)
    enrollment_unenroll(user=learners[0], course=course)  # left: no longer counted

    assert "2 learners" in text_of(client.get(course.get_absolute_url()))
    enrollment_unenroll(user=learners[1], course=course)
    assert "1 learner" in text_of(client.get(course.get_absolute_url()))


def test_the_page_says_what_the_course_includes_and_that_completing_it_gives_a_certificate(
    client,
):
    course, lessons = three_part_course()
    Lesson.objects.filter(pk=lessons[6].pk).update(is_published=False)  # drafts do not count

    text = text_of(client.get(course.get_absolute_url()))

    assert "5 lessons 50 min in total 3 sections 0 learners" in text
    assert (
        "This course includes 5 lessons, 50 min in total A certificate with your name when you "
        "complete the 4 required lessons Learn at your own pace" in text
    )


# --- The plan that opens a paid course --------------------------------------------------------


@pytest.fixture
def paid_course():
    silver = TierFactory(name="Silver", slug="silver", rank=1)
    gold = TierFactory(name="Gold", slug="gold", rank=2)
    platinum = TierFactory(name="Platinum", slug="platinum", rank=3)
    PlanFactory(name="Silver", slug="silver", tier=silver, display_price_monthly="$9")
    PlanFactory(name="Gold old", slug="gold-old", tier=gold, is_active=False)
    PlanFactory(
        name="Gold",
        slug="gold",
        tier=gold,
        display_price_monthly="$19",
        display_price_yearly="$190",
        order=2,
    )
    PlanFactory(name="Platinum", slug="platinum", tier=platinum, display_price_monthly="$39")
    course, _lessons = three_part_course(visibility=Course.Visibility.PAID, required_tier=gold)
    return course


def test_visitors_see_the_plan_that_opens_a_paid_course_and_its_price(client, paid_course):
    response = client.get(paid_course.get_absolute_url())

    text = text_of(response)
    assert "Included in the Gold plan $19 a month · $190 a year" in text
    assert primary_buttons(response) == ["Sign in to start"]
    assert "Platinum" not in text and "$9" not in text


def test_learners_without_the_plan_are_offered_it_as_the_one_main_action(user_client, paid_course):
    response = user_client.get(paid_course.get_absolute_url())

    assert "Included in the Gold plan $19 a month · $190 a year" in text_of(response)
    assert primary_buttons(response) == ["Get the Gold plan"]
    assert 'href="/pricing/#plan-gold"' in response.content.decode()


def test_a_paid_course_whose_tier_has_no_plan_on_sale_offers_the_next_one_up(user_client):
    gold = TierFactory(name="Gold", slug="gold", rank=2)
    PlanFactory(
        name="Platinum", slug="platinum", tier=TierFactory(rank=3), display_price_monthly="$39"
    )
    course, _lessons = three_part_course(visibility=Course.Visibility.PAID, required_tier=gold)

    response = user_client.get(course.get_absolute_url())

    assert "Included in the Platinum plan $39 a month" in text_of(response)
    assert primary_buttons(response) == ["Get the Platinum plan"]


# --- One main action per state ------------------------------------------------------------------


def test_each_state_of_a_course_has_one_main_action(client, user):
    course, lessons = three_part_course()
    url = course.get_absolute_url()
    assert primary_buttons(client.get(url)) == ["Start course"]  # a visitor

    client.force_login(user)
    assert primary_buttons(client.get(url)) == ["Enroll and start"]
    enrollment_enroll(user=user, course=course)
    assert primary_buttons(client.get(url)) == ["Start course"]
    lesson_complete(user=user, lesson=lessons[1])
    assert primary_buttons(client.get(url)) == ["Continue"]
    for number in (2, 3, 4, 5, 6):
        lesson_complete(user=user, lesson=lessons[number])
    assert primary_buttons(client.get(url)) == ["Review"]
    enrollment_unenroll(user=user, course=course)
    assert primary_buttons(client.get(url)) == ["Enroll again"]


def test_a_members_course_asks_visitors_to_sign_in_with_its_free_preview_beside(client):
    course, lessons = three_part_course(visibility=Course.Visibility.MEMBERS)
    Lesson.objects.filter(pk=lessons[2].pk).update(is_free_preview=True)

    response = client.get(course.get_absolute_url())

    assert primary_buttons(response) == ["Sign in to start"]
    html = response.content.decode()
    assert f'<a class="btn btn--ghost btn--block" href="{lessons[2].get_absolute_url()}">' in html
    # A newcomer has the way to an account too, and comes back to this course.
    signup = f"{reverse('account_signup')}?next={course.get_absolute_url()}"
    assert f'New here? <a href="{signup}">Create a free account</a>' in html


def test_enrolling_goes_straight_to_the_first_lesson(user_client, user):
    course, lessons = three_part_course()
    response = user_client.post(reverse("progress:course_enroll", kwargs={"slug": course.slug}))
    assert response["Location"] == lessons[1].get_absolute_url()
    assert Enrollment.objects.get(user=user, course=course).is_active


# --- The outline: the learner's section open, the others folded ------------------------------


def test_visitors_see_the_first_section_open_and_the_others_folded(client):
    course, _lessons = three_part_course()
    response = client.get(course.get_absolute_url())
    assert open_sections(response) == ["Part 1"]
    assert response.content.decode().count('<details class="outline-section"') == 3


def test_a_learner_sees_the_section_of_the_lesson_they_continue_open(user_client, user):
    course, lessons = three_part_course()
    enrollment_enroll(user=user, course=course)
    for number in (1, 2, 3):
        lesson_complete(user=user, lesson=lessons[number])

    response = user_client.get(course.get_absolute_url())

    assert open_sections(response) == ["Part 2"]  # Step 4 is next
    assert "Continue Lesson 4: Step 4" in text_of(response)


def test_a_lesson_page_sidebar_opens_only_the_section_of_that_lesson(user_client, user):
    course, lessons = three_part_course()
    enrollment_enroll(user=user, course=course)

    html = user_client.get(lessons[3].get_absolute_url()).content.decode()

    opened = re.findall(
        r'<details class="sidebar-section" open>\s*<summary class="sidebar-section__summary">\s*'
        r'<h3 class="sidebar-section__title">([^<]+)</h3>',
        html,
    )
    assert opened == ["Part 2"]
    # The others are a header each, linking to that section on the course page (which lists
    # its lessons): the sidebar costs the same however long the course (issue 18).
    assert html.count('<details class="sidebar-section"') == 1
    folded = re.findall(
        r'<a class="sidebar-section__summary sidebar-section__link" href="([^"]+)">\s*'
        r'<h3 class="sidebar-section__title">([^<]+)</h3>',
        html,
    )
    anchors = [f"{course.get_absolute_url()}#section-{s.pk}" for s in course.sections.all()]
    assert folded == [(anchors[0], "Part 1"), (anchors[2], "Part 3")]
    assert lessons[6].get_absolute_url() not in html
    course_page = user_client.get(course.get_absolute_url()).content.decode()
    assert all(f'id="{anchor.split("#")[1]}"' in course_page for anchor in anchors)


# --- Where "Continue" leads ---------------------------------------------------------------------


def continue_target(client, course) -> str:
    found = re.search(
        r'<a class="btn btn--primary[^"]*" href="([^"]+)">\s*Continue',
        client.get(course.get_absolute_url()).content.decode(),
    )
    return found.group(1) if found else ""


def api_targets(user, course) -> tuple[str, str]:
    """Where the app's Continue leads: the dashboard's next lesson and the course's resume."""
    api = APIClient()
    api.force_authenticate(user)
    (item,) = api.get("/api/v1/me/dashboard/").json()["in_progress"]
    progress = api.get(f"/api/v1/courses/{course.slug}/progress/").json()
    return item["next_lesson"]["lesson"]["slug"], progress["resume"]["lesson"]["slug"]


def test_opening_an_unfinished_lesson_makes_it_where_continue_leads(user_client, user):
    course, lessons = three_part_course()
    lesson_complete(user=user, lesson=lessons[1])

    user_client.get(lessons[4].get_absolute_url())  # opened, not finished

    assert Enrollment.objects.get(user=user).last_lesson_id == lessons[4].pk
    assert continue_target(user_client, course) == lessons[4].get_absolute_url()
    assert api_targets(user, course) == ("step-4", "step-4")
    dashboard = user_client.get(reverse("progress:dashboard"))
    assert "Continue Bachata Where you left off: Step 4" in text_of(dashboard)


def test_after_finishing_the_lesson_last_opened_continue_leads_to_the_first_required_left(
    user_client, user
):
    course, lessons = three_part_course()
    # The learner skipped ahead: opened and finished Step 4, then Step 6.
    for number in (4, 6):
        user_client.get(lessons[number].get_absolute_url())
        lesson_complete(user=user, lesson=lessons[number])

    # Not the lesson after Step 6 (none) nor after Step 4: the first one left behind.
    assert continue_target(user_client, course) == lessons[1].get_absolute_url()
    assert api_targets(user, course) == ("step-1", "step-1")
    for number in (1, 2, 3):
        lesson_complete(user=user, lesson=lessons[number])
    # Only the optional Step 5 is left: the course is completed, and Continue offers it.
    assert Enrollment.objects.get(user=user).completed_at is not None
    assert continue_target(user_client, course) == lessons[5].get_absolute_url()


def test_unpublished_lessons_are_never_offered_even_when_last_opened(user_client, user):
    course, lessons = three_part_course()
    enrollment_enroll(user=user, course=course)
    user_client.get(lessons[3].get_absolute_url())
    assert Enrollment.objects.get(user=user).last_lesson_id == lessons[3].pk
    for lesson in (lessons[1], lessons[3]):  # as the admin unpublishes them, one save each
        lesson.is_published = False
        lesson.save()

    assert continue_target(user_client, course) == ""  # nothing done: Start, at Step 2
    text = text_of(user_client.get(course.get_absolute_url()))
    assert "Start course First lesson: Step 2" in text


def test_reopening_the_lesson_last_opened_writes_nothing(user_client, user):
    course, lessons = three_part_course()
    enrollment_enroll(user=user, course=course)
    url = lessons[2].get_absolute_url()
    user_client.get(course.get_absolute_url())  # the course's outline compiled, as on a live site

    with CaptureQueriesContext(connection) as first:
        user_client.get(url)
    with CaptureQueriesContext(connection) as again:
        user_client.get(url)

    def enrollment_updates(queries) -> int:
        return sum(
            1 for query in queries if query["sql"].startswith('UPDATE "progress_enrollment"')
        )

    assert (enrollment_updates(first), enrollment_updates(again)) == (1, 0)
    assert len(again) == len(first) - 1


def test_visitors_and_learners_not_enrolled_leave_no_trace_when_opening_lessons(client, user):
    _course, lessons = three_part_course()
    assert client.get(lessons[2].get_absolute_url()).status_code == 200
    client.force_login(user)
    assert client.get(lessons[2].get_absolute_url()).status_code == 200
    assert not Enrollment.objects.exists()


# --- The lesson page's "Mark as complete" -----------------------------------------------------


def test_mark_as_complete_says_it_moves_on_to_the_next_lesson(user_client, user):
    _course, lessons = three_part_course()

    text = text_of(user_client.get(lessons[2].get_absolute_url()))
    assert (
        "Marks this lesson done and takes you to the next lesson: Step 3. Mark as complete" in text
    )
    last = text_of(user_client.get(lessons[6].get_absolute_url()))
    assert "Marks this lesson done. It is the last lesson of the course. Mark as complete" in last


# --- Preview video --------------------------------------------------------------------------


def test_a_course_with_a_ready_public_preview_plays_it_on_its_page(client):
    video = Video.objects.create(
        title="Trailer",
        status=Video.Status.READY,
        playback_policy=Video.PlaybackPolicy.PUBLIC,
        playback_id="trailerPlaybackId",
    )
    course, _lessons = three_part_course(preview_video=video)

    html = client.get(course.get_absolute_url()).content.decode()

    assert 'playback-id="trailerPlaybackId"' in html or "data-player-missing" in html
    assert "trailerPlaybackId" in html
    assert "playback-token" not in html and "data-position-url" not in html


def test_a_preview_still_processing_shows_the_course_picture_instead(client):
    video = Video.objects.create(title="Trailer", playback_policy=Video.PlaybackPolicy.PUBLIC)
    course, _lessons = three_part_course(preview_video=video)
    html = client.get(course.get_absolute_url()).content.decode()
    assert "player-placeholder" not in html and "mux-player" not in html
    assert 'class="cta-card__media thumb"' in html


# --- Meta descriptions ------------------------------------------------------------------------


def test_course_pages_describe_themselves_by_subtitle_or_description(client):
    course, _lessons = three_part_course()
    assert meta_description(client.get(course.get_absolute_url())) == "Learn step by step"

    # Saved as the admin saves it (bumping the course's version, which keys cached pages).
    course.subtitle = ""
    course.description = "## Why\n\nDance **bachata** & feel the *music*. " + "On " * 80
    course.save()
    described = meta_description(client.get(course.get_absolute_url()))
    assert described.startswith("Why Dance bachata &amp; feel the music. On On")
    assert len(described.replace("&amp;", "&")) == 160 and described.endswith("…")


def test_lesson_pages_describe_the_lesson_without_its_notes(user):
    _course, lessons = three_part_course(visibility=Course.Visibility.MEMBERS)
    Lesson.objects.filter(pk=lessons[2].pk).update(body="The secret move.")
    expected = "Step 2: Text lesson, 10 min. Lesson 2 of Bachata."

    locked = Client().get(lessons[2].get_absolute_url())
    assert locked.status_code == 403
    assert meta_description(locked) == expected
    learner = Client()
    learner.force_login(user)
    assert meta_description(learner.get(lessons[2].get_absolute_url())) == expected
    assert "secret" not in meta_description(locked)


# --- Query budgets -----------------------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "learner"])
def test_the_course_page_costs_the_same_with_1_or_5_instructors_and_many_learners(
    client, django_assert_max_num_queries, signed_in
):
    counts = []
    for size in (1, 5):
        course, lessons = three_part_course(instructors=UserFactory.create_batch(size))
        Course.objects.filter(pk=course.pk).update(slug=f"course-{size}")
        course.refresh_from_db()
        for learner in UserFactory.create_batch(size * 3):
            enrollment_enroll(user=learner, course=course)
        viewer = UserFactory()
        if signed_in:
            client.force_login(viewer)
            lesson_complete(user=viewer, lesson=lessons[1])
        with django_assert_max_num_queries(13) as captured:
            response = client.get(course.get_absolute_url())
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
