"""The course's structure rules as a learner reads them on the pages: the course page's outline,
the lesson page's sidebar and pager, the locked lesson page, "My learning" and its API.

Each lock says why ("Complete “Basics” first") and when ("Opens Tue 3 Dec 2030, 08:30" in
the learner's own zone), apart from the tier's prompt (sign in, a plan); hidden sections and
lessons are absent for learners and marked for the course's editors; "Continue" never leads
to a lesson the rules keep closed, and the counts leave hidden lessons out.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.structure import course_rules_get
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)
from lms.tests.caches import cache_clear
from progress.models import Enrollment, LessonProgress
from progress.selectors import dashboard_get
from progress.services import enrollment_enroll, lesson_complete
from progress.tests.test_pages import flash, text_of

pytestmark = pytest.mark.django_db

# 23:30 UTC on Mon 2 Dec 2030: already Tuesday morning in Tokyo, still Monday in New York.
RELEASE = datetime(2030, 12, 2, 23, 30, tzinfo=UTC)
DASHBOARD = "/learn/"
DASHBOARD_API = "/api/v1/me/dashboard/"


def salsa(**course_kwargs) -> tuple[Course, dict[str, Lesson]]:
    """ "Salsa": Basics (Step 1, Step 2, a hidden Step draft), Turns (needs Basics), Shines
    (opens at RELEASE), Secret (hidden) and Styling (open to all)."""
    course = CourseFactory(title="Salsa", slug="salsa", **course_kwargs)
    basics = SectionFactory(course=course, order=0, title="Basics")
    turns = SectionFactory(course=course, order=1, title="Turns")
    turns.prerequisites.add(basics)
    shines = SectionFactory(course=course, order=2, title="Shines", release_at=RELEASE)
    secret = SectionFactory(course=course, order=3, title="Secret", is_hidden=True)
    styling = SectionFactory(course=course, order=4, title="Styling")
    lessons = {
        "step1": LessonFactory(section=basics, order=0, title="Step 1", slug="step-1"),
        "step2": LessonFactory(section=basics, order=1, title="Step 2", slug="step-2"),
        "draft": LessonFactory(
            section=basics, order=2, title="Step draft", slug="step-draft", is_hidden=True
        ),
        "turn1": LessonFactory(section=turns, order=0, title="Turn 1", slug="turn-1"),
        "shine1": LessonFactory(section=shines, order=0, title="Shine 1", slug="shine-1"),
        "secret1": LessonFactory(section=secret, order=0, title="Secret 1", slug="secret-1"),
        "style1": LessonFactory(section=styling, order=0, title="Style 1", slug="style-1"),
    }
    return course, lessons


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def section_states(response) -> dict[str, str]:
    """Each outline section's title and the state its summary reads ("" when open)."""
    html = response.content.decode()
    found = re.findall(
        r'<summary class="outline-section__summary">\s*'
        r'<span class="outline-section__title">([^<]+)</span>(.*?)'
        r'<span class="outline-section__meta">',
        html,
        re.S,
    )
    return {title: " ".join(re.sub(r"<[^>]+>", " ", state).split()) for title, state in found}


def outline_rows(response) -> dict[str, str]:
    """Each lesson row of the course page's outline: its title and the tags it reads."""
    html = response.content.decode()
    rows = re.findall(r'<li class="outline-lesson[^"]*">(.*?)</li>', html, re.S)
    result = {}
    for row in rows:
        title = re.search(r'class="outline-lesson__link"[^>]*>([^<]+)</a>', row).group(1)
        tags = re.search(r'<span class="outline-lesson__tags">(.*)</span>', row, re.S)
        result[title] = " ".join(re.sub(r"<[^>]+>", " ", tags.group(1)).split()) if tags else ""
    return result


# --- The course page ---------------------------------------------------------------------------
def test_each_section_says_why_it_is_locked_and_when_it_opens_in_the_learners_zone():
    course, _lessons = salsa()
    tokyo = UserFactory(time_zone="Asia/Tokyo")
    enrollment_enroll(user=tokyo, course=course)

    response = signed_in(tokyo).get(course.get_absolute_url())

    assert response.status_code == 200
    assert section_states(response) == {
        "Basics": "",
        "Turns": "Locked Complete “Basics” first",
        "Shines": "Locked Opens Tue 3 Dec 2030, 08:30",
        "Styling": "",
    }
    rows = outline_rows(response)
    # The section says why; its lessons just read "Locked" (the reason is not repeated).
    assert rows["Turn 1"] == "Locked"
    assert rows["Shine 1"] == "Locked"
    assert rows["Step 1"] == ""
    text = text_of(response)
    assert "Secret" not in text and "Step draft" not in text
    assert "0 of 5 lessons done" in text  # hidden lessons do not count


def test_the_same_release_reads_in_each_learners_own_zone():
    course, _lessons = salsa()
    new_york = UserFactory(time_zone="America/New_York")

    response = signed_in(new_york).get(course.get_absolute_url())

    assert section_states(response)["Shines"] == "Locked Opens Mon 2 Dec 2030, 18:30"
    # Visitors read it in the site's zone.
    visitor = section_states(Client().get(course.get_absolute_url()))["Shines"]
    local = timezone.localtime(RELEASE)
    assert visitor == f"Locked Opens {local:%a} {local.day} {local:%b %Y, %H:%M}"


def test_a_scheduled_section_opens_at_its_instant():
    course, lessons = salsa()
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    shines = lessons["shine1"].section

    shines.release_at = timezone.now() + timedelta(minutes=5)
    shines.save()
    assert signed_in(learner).get(lessons["shine1"].get_absolute_url()).status_code == 403

    shines.release_at = timezone.now() - timedelta(seconds=1)
    shines.save()
    response = signed_in(learner).get(course.get_absolute_url())
    assert section_states(response)["Shines"] == ""
    assert signed_in(learner).get(lessons["shine1"].get_absolute_url()).status_code == 200


def test_days_after_enrolling_read_as_days_before_and_as_the_instant_after():
    course = CourseFactory(title="Drip", slug="drip")
    SectionFactory(course=course, order=0, title="Week 1")
    week2 = SectionFactory(course=course, order=1, title="Week 2", release_after_days=3)
    LessonFactory(section=week2, order=0, title="Day 8")
    learner = UserFactory(time_zone="Asia/Tokyo")

    before = signed_in(learner).get(course.get_absolute_url())
    assert section_states(before)["Week 2"] == "Locked Opens 3 days after you enroll"

    enrollment_enroll(user=learner, course=course)
    enrolled_at = Enrollment.objects.get(user=learner).created_at
    opens = timezone.localtime(enrolled_at + timedelta(days=3), learner.zoneinfo)
    after = signed_in(learner).get(course.get_absolute_url())
    assert section_states(after)["Week 2"] == (
        f"Locked Opens {opens:%a} {opens.day} {opens:%b, %H:%M}"
        if opens.year == timezone.localtime(timezone.now(), learner.zoneinfo).year
        else f"Locked Opens {opens:%a} {opens.day} {opens:%b %Y, %H:%M}"
    )


def test_instructors_and_staff_see_hidden_items_marked_and_nothing_locked(staff_user):
    course, lessons = salsa()
    instructor = UserFactory()
    course.instructors.add(instructor)

    for editor in (instructor, staff_user):
        response = signed_in(editor).get(course.get_absolute_url())
        states = section_states(response)
        assert states["Secret"] == "Hidden"
        assert states["Turns"] == states["Shines"] == ""  # editors bypass every rule
        assert outline_rows(response)["Step draft"].startswith("Hidden")
        assert signed_in(editor).get(lessons["secret1"].get_absolute_url()).status_code == 200


def test_start_and_continue_never_lead_to_a_locked_or_hidden_lesson():
    course = CourseFactory(title="Kizomba", slug="kizomba")
    later = SectionFactory(course=course, order=0, title="Later", release_at=RELEASE)
    LessonFactory(section=later, order=0, title="Soon", slug="soon")
    hidden = SectionFactory(course=course, order=1, title="Hidden part", is_hidden=True)
    LessonFactory(section=hidden, order=0, title="Unseen", slug="unseen")
    now = SectionFactory(course=course, order=2, title="Now")
    first_open = LessonFactory(section=now, order=0, title="Open one", slug="open-one")
    learner = UserFactory()

    response = signed_in(learner).get(course.get_absolute_url())
    assert "First lesson: Open one" in text_of(response)
    enroll = signed_in(learner).post(f"/courses/{course.slug}/enroll/")
    assert enroll.url == first_open.get_absolute_url()

    lesson_complete(user=learner, lesson=first_open)
    text = text_of(signed_in(learner).get(course.get_absolute_url()))
    # Only the scheduled lesson is left: no button to it, but when it opens.
    assert "Up next is not open yet Opens Tue 3 Dec 2030, 08:30" not in text  # UTC learner
    assert "Up next is not open yet Opens Mon 2 Dec 2030, 23:30" in text
    assert "Continue" not in text


# --- The lesson page ----------------------------------------------------------------------------
def test_a_locked_lesson_says_why_with_403_and_none_of_its_notes():
    course, lessons = salsa()
    learner = UserFactory(time_zone="Asia/Tokyo")
    enrollment_enroll(user=learner, course=course)
    Lesson.objects.filter(pk=lessons["turn1"].pk).update(body="The secret spin.")

    turn = signed_in(learner).get(lessons["turn1"].get_absolute_url())
    shine = signed_in(learner).get(lessons["shine1"].get_absolute_url())

    assert turn.status_code == shine.status_code == 403
    assert "This lesson is locked Complete “Basics” first" in text_of(turn)
    assert "secret spin" not in turn.content.decode()
    assert "This lesson is not open yet Opens Tue 3 Dec 2030, 08:30" in text_of(shine)
    for page in (turn, shine):
        assert "Sign in" not in text_of(page).replace("Sign in to save", "")
        assert "See plans" not in text_of(page)


def test_hidden_lessons_are_not_found_for_learners():
    _course, lessons = salsa()
    learner = UserFactory()
    for key in ("draft", "secret1"):
        assert signed_in(learner).get(lessons[key].get_absolute_url()).status_code == 404
        assert Client().get(lessons[key].get_absolute_url()).status_code == 404


def test_the_sidebar_and_pager_show_locks_and_their_reasons():
    course, lessons = salsa()
    learner = UserFactory(time_zone="Asia/Tokyo")
    enrollment_enroll(user=learner, course=course)

    response = signed_in(learner).get(lessons["step2"].get_absolute_url())

    html = response.content.decode()
    sidebar = html[html.index('<aside class="lesson-sidebar"') :]
    sidebar_text = " ".join(re.sub(r"<[^>]+>", " ", sidebar).split())
    assert "Turns Locked Complete “Basics” first" in sidebar_text
    assert "Shines Locked Opens Tue 3 Dec 2030, 08:30" in sidebar_text
    assert "Secret" not in sidebar_text and "Step draft" not in sidebar_text
    pager = html[html.index('<nav class="pager"') : html.index("</nav>", html.index("pager"))]
    pager_text = " ".join(re.sub(r"<[^>]+>", " ", pager).split())
    # Step draft is hidden: next is Turn 1, locked until Basics is completed.
    assert "Next Turn 1 Locked Complete “Basics” first" in pager_text


def test_sequential_lessons_each_say_which_lesson_comes_first():
    course = CourseFactory(title="Son", slug="son", progression=Course.Progression.LESSONS)
    section = SectionFactory(course=course, order=0, title="All")
    first = LessonFactory(section=section, order=0, title="One", slug="one")
    second = LessonFactory(section=section, order=1, title="Two", slug="two")
    LessonFactory(section=section, order=2, title="Three", slug="three")
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    client = signed_in(learner)

    rows = outline_rows(client.get(course.get_absolute_url()))
    assert rows == {
        "One": "",
        "Two": "Locked Complete “One” first",
        "Three": "Locked Complete “Two” first",
    }
    pager = text_of(client.get(first.get_absolute_url()))
    assert "Next Two Locked Complete “One” first" in pager

    # The page's own button completes One; Two opens and the button leads there.
    response = client.post(f"/courses/son/{first.slug}/complete/")
    assert response.url == second.get_absolute_url()
    assert client.get(second.get_absolute_url()).status_code == 200


def test_completing_a_locked_lesson_is_refused_with_the_reason():
    course, lessons = salsa()
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    client = signed_in(learner)

    response = client.post(f"/courses/salsa/{lessons['turn1'].slug}/complete/", follow=True)

    assert response.status_code == 403  # back on the locked page
    assert flash(response) == ["Complete “Basics” first."]
    assert not LessonProgress.objects.filter(user=learner).exists()


def test_a_tier_lock_keeps_the_tier_prompt_even_with_rules():
    gold = TierFactory(name="Gold", rank=10)
    _course, lessons = salsa(visibility=Course.Visibility.PAID, required_tier=gold)
    learner = UserFactory()

    response = signed_in(learner).get(lessons["turn1"].get_absolute_url())

    assert response.status_code == 403
    text = text_of(response)
    assert "This lesson needs the Gold plan" in text
    assert "Complete “Basics” first" not in text[text.index("This lesson needs") :][:200]


# --- My learning and its API --------------------------------------------------------------------
def test_my_learning_skips_locked_lessons_counts_no_hidden_ones_and_says_when_next_opens():
    course, lessons = salsa()
    learner = UserFactory(time_zone="Asia/Tokyo")
    enrollment_enroll(user=learner, course=course)
    lesson_complete(user=learner, lesson=lessons["step1"])
    client = signed_in(learner)

    text = text_of(client.get(DASHBOARD))
    assert "1 of 5 lessons done" in text
    assert "Up next: Step 2" in text

    lesson_complete(user=learner, lesson=lessons["step2"])
    lesson_complete(user=learner, lesson=lessons["turn1"])
    lesson_complete(user=learner, lesson=lessons["style1"])
    text = text_of(client.get(DASHBOARD))
    assert "4 of 5 lessons done" in text
    assert "Up next is not open yet Opens Tue 3 Dec 2030, 08:30" in text

    api = APIClient()
    api.force_authenticate(learner)
    (item,) = api.get(DASHBOARD_API).json()["in_progress"]
    assert item["completed_count"] == 4 and item["total_count"] == 5
    assert item["next_step"] == "wait"
    assert item["next_lesson"] is None and item["resume"] is None
    assert item["waiting"] == {
        "code": "LOCKED_UNTIL",
        "requires": [],
        "opens_at": item["waiting"]["opens_at"],
        "opens_after_days": None,
    }
    assert datetime.fromisoformat(item["waiting"]["opens_at"]) == RELEASE


def test_my_learning_leads_past_a_locked_section_to_the_next_open_lesson():
    course, lessons = salsa()
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    # Skipping ahead: Style 1 done, Basics not; Turns and Shines locked.
    lesson_complete(user=learner, lesson=lessons["style1"])
    Enrollment.objects.filter(user=learner).update(last_lesson=lessons["style1"])

    (item,) = dashboard_get(user=learner).in_progress
    assert item.next_lesson == lessons["step1"]
    assert item.waiting is None


def test_my_learning_agrees_with_the_course_page_for_the_same_rules():
    course, lessons = salsa()
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    for key in ("step1", "step2"):
        lesson_complete(user=learner, lesson=lessons[key])

    (item,) = dashboard_get(user=learner).in_progress
    page = text_of(signed_in(learner).get(course.get_absolute_url()))

    assert item.next_lesson == lessons["turn1"]  # Basics done: Turns opened
    assert "Lesson 3: Turn 1" in page


# --- Query budgets with rules present ----------------------------------------------------------
def ruled_course(lesson_count: int, *, slug: str) -> Course:
    """A sequential course (each lesson after the one before) with a scheduled section, a
    hidden section and a section needing another: the rules every budget is measured with."""
    course = course_with_lessons(
        lesson_count, sections=max(4, lesson_count // 5), slug=slug, progression="lessons"
    )
    sections = list(course.sections.order_by("order"))
    sections[-1].release_at = RELEASE
    sections[-1].save()
    sections[-2].is_hidden = True
    sections[-2].save()
    sections[1].prerequisites.add(sections[0])
    return course


@pytest.mark.parametrize("page", ["course", "lesson"])
def test_pages_with_rules_cost_the_same_few_queries_for_20_and_100_lessons(
    django_assert_max_num_queries, page
):
    learner = UserFactory()
    client = signed_in(learner)
    counts = []
    for size in (20, 100):
        course = ruled_course(size, slug=f"ruled-{size}")
        enrollment_enroll(user=learner, course=course)
        lessons = list(Lesson.objects.filter(course=course).order_by("section__order", "order"))
        for lesson in lessons[:3]:
            lesson_complete(user=learner, lesson=lesson)
        url = course.get_absolute_url() if page == "course" else lessons[2].get_absolute_url()
        client.get(url)  # the rules are cached from here on, as on a live site
        # The same budgets as without rules (test_pages): the rules come from the cache and
        # the learner's facts cost what the budget's spare queries hold.
        with django_assert_max_num_queries(13) as captured:
            response = client.get(url)
        assert response.status_code == 200
        assert "Locked" in text_of(response)
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_pages_with_rules_fit_the_budget_on_a_cold_cache(django_assert_max_num_queries):

    learner = UserFactory()
    course = ruled_course(20, slug="cold")
    enrollment_enroll(user=learner, course=course)
    client = signed_in(learner)
    cache_clear()
    with django_assert_max_num_queries(13):
        assert client.get(course.get_absolute_url()).status_code == 200


def test_my_learning_with_rules_costs_the_same_for_1_and_5_courses(django_assert_max_num_queries):
    from progress.tests.test_dashboard import QUERY_BUDGET

    counts = []
    for count in (1, 5):
        learner = UserFactory()
        for index in range(count):
            course = ruled_course(10, slug=f"dash-{count}-{index}")
            enrollment_enroll(user=learner, course=course)
            first = course.lessons.order_by("section__order", "order").first()
            lesson_complete(user=learner, lesson=first)
            course_rules_get(course=Course.objects.get(pk=course.pk))  # as a live site's cache
        client = signed_in(learner)
        with django_assert_max_num_queries(QUERY_BUDGET) as captured:
            response = client.get(DASHBOARD)
        assert response.status_code == 200
        # 10 lessons in 4 sections (3, 3, 2, 2): the third, hidden, does not count.
        assert text_of(response).count("1 of 8 lessons done") == count
        counts.append(len(captured))
    assert counts[0] == counts[1]
