"""Searching the catalog finds lessons: under their course, ranked, with a highlighted snippet,
and only what the visitor may see (never a word of a draft, an unpublished or a locked lesson).

Most tests run on whichever database is configured (PostgreSQL full-text search in CI, the
SQLite fallback on a laptop); those marked `postgres` check what only full-text search does.
"""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from billing.models import Subscription
from billing.tests.factories import (
    CustomerFactory,
    PlanFactory,
    SubscriptionFactory,
    TierFactory,
)
from catalog.models import Course, Lesson
from catalog.search import headline_html, plain_text, snippet_html
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db

CATALOG = "/courses/"
API = "/api/v1/courses/"
SECRET = "zanzibar"  # a word only locked or hidden notes contain


def text_of(page: str) -> str:
    page = re.sub(r"<(head|script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).strip())


def hits_html(page: str, course: Course) -> str:
    """The "matching lessons" block of one course's card."""
    match = re.search(
        rf'<p class="lesson-hits__title" id="hits-{course.slug}">.*?</div>', page, re.S
    )
    return match.group(0) if match else ""


def lesson(course: Course, title: str, body: str = "", **kwargs) -> Lesson:
    section = course.sections.first() or SectionFactory(course=course, order=0)
    return LessonFactory(section=section, course=course, title=title, body=body, **kwargs)


def search(client, q: str, **params) -> str:
    response = client.get(CATALOG, {"q": q, **params})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture(name="paid")
def paid_fixture():
    """A paid course at the Pro tier, with a free preview and a locked lesson."""
    tier = TierFactory(slug="pro", name="Pro", rank=1)
    course = CourseFactory(
        title="Stage performance",
        description="For the stage.",
        visibility=Course.Visibility.PAID,
        required_tier=tier,
    )
    lesson(course, "Costume basics", f"Sewing a {SECRET} costume for the bachata show.")
    lesson(course, "Bachata stage walk", f"Walk like {SECRET} royalty.")
    lesson(course, "Welcome", "The bachata programme, explained.", is_free_preview=True)
    return course


def subscriber(tier_course: Course):
    user = UserFactory()
    SubscriptionFactory(
        customer=CustomerFactory(user=user),
        plan=PlanFactory(tier=tier_course.required_tier),
        status=Subscription.Status.ACTIVE,
    )
    return user


# --- Finding lessons --------------------------------------------------------------------------


def test_a_lesson_is_found_under_its_course_with_its_section_and_a_snippet(client):
    course = CourseFactory(title="Partner work", description="Leading and following.")
    lesson(course, "Cross body lead", "Step back on one, then open the frame to the left.")
    CourseFactory(title="Unrelated", description="Nothing here.")

    page = search(client, "frame")

    block = text_of(hits_html(page, course))
    assert block.startswith("1 matching lesson Cross body lead")
    assert course.sections.get().title in block
    assert re.search(r"<mark>frame</mark>", hits_html(page, course))
    assert "1 course" in text_of(page) and "Unrelated" not in text_of(page)


def test_the_lesson_links_to_its_page(client):
    course = CourseFactory(slug="partner-work")
    lesson(course, "Cross body lead", "The frame.", slug="cross-body-lead")

    page = search(client, "frame")

    assert 'href="/courses/partner-work/cross-body-lead/"' in hits_html(page, course)


def test_lessons_whose_title_matches_come_before_those_whose_notes_do(client):
    course = CourseFactory(title="Turns")
    lesson(course, "Footwork drills", "Finish every drill with a bachata basic.", order=0)
    lesson(course, "Bachata turns", "Spot the wall.", order=1)

    block = text_of(hits_html(search(client, "bachata"), course))

    assert block.index("Bachata turns") < block.index("Footwork drills")


def test_a_course_shows_three_lessons_and_counts_the_others(client):
    course = CourseFactory(title="Drills")
    for number in range(5):
        lesson(course, f"Drill {number}", "Shines and more shines.", order=number)

    block = text_of(hits_html(search(client, "shines"), course))

    assert block.startswith("5 matching lessons")
    assert len(re.findall(r"Drill \d", block)) == 3
    assert "and 2 more lessons in this course" in block


def test_without_a_search_no_lesson_is_listed(client):
    course = CourseFactory(title="Drills")
    lesson(course, "Drill", "Shines.")

    page = client.get(CATALOG).content.decode()

    assert "matching lesson" not in page and hits_html(page, course) == ""


# --- Snippets are safe ------------------------------------------------------------------------


def test_snippets_escape_the_notes_and_mark_only_the_words(client):
    course = CourseFactory(title="Safety")
    lesson(
        course,
        "Markup",
        'Hello <script>alert("x")</script> <img src=x onerror=alert(1)> **bold** salsa & more',
    )

    block = hits_html(search(client, "salsa"), course)

    snippet = re.search(r'<p class="lesson-hit__snippet">(.*?)</p>', block, re.S).group(1)
    assert "<script" not in snippet and "<img" not in snippet and "onerror" not in snippet
    # Apart from our <mark>s, the text is escaped exactly once.
    unmarked = re.sub(r"</?mark>", "", snippet)
    assert html.escape(html.unescape(unmarked)) == unmarked
    assert "<mark>salsa</mark>" in snippet
    assert "&amp; more" in snippet and "**" not in snippet


def test_the_fallback_snippet_cuts_around_the_word_and_escapes():
    notes = "Intro. " * 40 + "Keep the Frame & relax <b>now</b>. " + "Outro. " * 40

    snippet = snippet_html(notes, text="frame relax")

    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>Frame</mark> &amp; <mark>relax</mark> now." in snippet
    assert len(snippet) < 260


def test_the_headline_keeps_only_our_marks():
    headline = "Open \x02frame\x03 <b>now</b> & \x02then\x03 \x02unclosed"

    assert headline_html(headline) == "Open <mark>frame</mark> now &amp; <mark>then</mark> unclosed"


def test_plain_text_drops_markdown():
    assert plain_text("# Title\n\n- **Bold** [link](https://x.test) `code`\n> quote") == (
        "Title Bold link code quote"
    )


# --- Nothing leaks ----------------------------------------------------------------------------


def test_drafts_and_unpublished_lessons_are_never_found(client, staff_user):
    draft = CourseFactory(title="Draft course", draft=True)
    lesson(draft, f"{SECRET} in a draft", f"{SECRET} notes.")
    listed = CourseFactory(title="Listed")
    lesson(listed, f"{SECRET} hidden lesson", f"{SECRET} notes.", is_published=False)
    archived = CourseFactory(title="Archived", status=Course.Status.ARCHIVED)
    lesson(archived, f"{SECRET} archived", f"{SECRET} notes.")
    client.force_login(staff_user)  # even staff: the catalog lists what learners see

    page = search(client, SECRET)

    assert "0 courses" in text_of(page)
    assert SECRET not in text_of(page).replace(f"“{SECRET}”", "")


def test_a_locked_lesson_shows_its_title_as_locked_but_never_its_notes(client, paid):
    page = search(client, "bachata")

    block = hits_html(page, paid)
    text = text_of(block)
    assert "Bachata stage walk" in text and "Locked" in text
    assert "Costume basics" not in text  # found only through its notes, which are locked
    assert SECRET not in page and "royalty" not in page
    # The free preview is open to everyone: its snippet shows.
    assert "<mark>bachata</mark> programme" in block


def test_a_locked_lesson_is_not_found_through_its_notes_at_all(client, paid):
    page = search(client, SECRET)

    assert "0 courses" in text_of(page)
    assert hits_html(page, paid) == ""


def test_an_entitled_learner_finds_the_notes_and_their_snippets(client, paid):
    client.force_login(subscriber(paid))

    block = hits_html(search(client, SECRET), paid)

    text = text_of(block)
    assert "Costume basics" in text and "Bachata stage walk" in text and "Locked" not in text
    assert f"<mark>{SECRET}</mark>" in block


def test_members_lessons_are_locked_for_visitors_and_open_once_signed_in(client):
    course = CourseFactory(title="Members only", visibility=Course.Visibility.MEMBERS)
    lesson(course, "Musicality", f"Count the {SECRET} rhythm.")

    assert hits_html(search(client, SECRET), course) == ""
    assert "Locked" in text_of(hits_html(search(client, "musicality"), course))
    client.force_login(UserFactory())
    assert f"<mark>{SECRET}</mark>" in hits_html(search(client, SECRET), course)


# --- The API ----------------------------------------------------------------------------------


def test_api_lists_the_lessons_found_in_each_course(api_client, paid):
    preview = paid.lessons.get(title="Welcome")
    locked = paid.lessons.get(title="Bachata stage walk")

    response = api_client.get(API, {"q": "bachata"})

    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["slug"] == paid.slug
    assert result["matching_lesson_count"] == 2
    by_title = {item["title"]: item for item in result["matching_lessons"]}
    assert by_title["Bachata stage walk"] == {
        "id": str(locked.id),
        "slug": locked.slug,
        "title": "Bachata stage walk",
        "kind": "text",
        "section": locked.section.title,
        "locked": True,
        "snippet_html": "",
        "url": f"http://testserver/courses/{paid.slug}/{locked.slug}/",
    }
    welcome = by_title["Welcome"]
    assert (welcome["id"], welcome["locked"]) == (str(preview.id), False)
    assert "<mark>bachata</mark>" in welcome["snippet_html"]
    assert SECRET not in response.content.decode()


def test_api_pages_through_courses_found_by_their_lessons(api_client):
    for number in range(3):
        lesson(CourseFactory(title=f"Course {number}"), "Salsa shines", "Shines.")

    first = api_client.get(API, {"q": "shines", "page_size": 2}).json()
    second = api_client.get(first["next"]).json()

    assert first["count"] == 3 and len(first["results"]) == 2 and second["next"] is None
    assert all(item["matching_lesson_count"] == 1 for item in first["results"])
    slugs = {item["slug"] for item in first["results"] + second["results"]}
    assert len(slugs) == 3


def test_api_refuses_an_overlong_search_with_the_error_envelope(api_client):
    response = api_client.get(API, {"q": "x" * 201})

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR"
    assert list(body["fields"]) == ["q"]


def test_api_schema_documents_the_matching_lessons(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    item = schema["components"]["schemas"]["CourseListItem"]["properties"]
    assert item["matching_lessons"]["items"] == {"$ref": "#/components/schemas/LessonHit"}
    hit = schema["components"]["schemas"]["LessonHit"]
    assert set(hit["properties"]) == {
        "id",
        "slug",
        "title",
        "kind",
        "section",
        "locked",
        "snippet_html",
        "url",
    }


# --- Query budget -----------------------------------------------------------------------------


def _queries(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", [CATALOG, API])
def test_search_runs_the_same_queries_for_one_course_or_a_full_page(client, paid, url):
    client.force_login(subscriber(paid))
    small = CourseFactory(title="Small")
    lesson(small, "Salsa one", "Salsa.")
    client.get(url, {"q": "salsa"})  # warm the per-process caches
    small_count = _queries(client, url, {"q": "salsa"})
    for number in range(14):
        course = CourseFactory(title=f"Course {number}", visibility=Course.Visibility.MEMBERS)
        for index in range(6):
            lesson(course, f"Salsa {index}", "Salsa notes.", order=index)

    assert _queries(client, url, {"q": "salsa"}) == small_count


# --- PostgreSQL full-text search --------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_finds_word_forms_and_highlights_them(client):
    course = CourseFactory(title="Turns")
    lesson(course, "Spotting", "Keep spinning on the spot until the turns feel easy.")

    block = hits_html(search(client, "spin"), course)

    assert "<mark>spinning</mark>" in block


@pytest.mark.postgres
def test_postgres_ranks_a_course_whose_lesson_title_matches_above_notes_only(client):
    notes_only = CourseFactory(title="Footwork")
    lesson(notes_only, "Drills", "End with a cumbia step.")
    titled = CourseFactory(title="Rhythms")
    lesson(titled, "Cumbia basics", "Step, step, together.")

    text = text_of(search(client, "cumbia"))

    assert text.index("Rhythms") < text.index("Footwork")


@pytest.mark.postgres
def test_postgres_lesson_search_uses_the_lesson_index():
    from catalog.search import _matching_lessons

    lesson(CourseFactory(), "Salsa", "Notes.")
    queryset = _matching_lessons(UserFactory(), "salsa")
    with connection.cursor() as cursor:
        # Only a scan by an index condition is left to the planner (no sequential or plain
        # index scans, no nested loops that would reach lessons through their course), so the
        # plan shows whether the search condition can use the index at all, whatever the
        # table statistics of the moment.
        for setting in ("enable_seqscan", "enable_indexscan", "enable_nestloop"):
            cursor.execute(f"SET LOCAL {setting} = off")
        plan = queryset.explain()

    assert "lesson_search_gin" in plan


# --- The access policy as a filter ------------------------------------------------------------


def test_the_open_courses_filter_agrees_with_course_access(staff_user):
    from django.contrib.auth.models import AnonymousUser

    from catalog.access import course_access, courses_open_q

    low, high = TierFactory(rank=1), TierFactory(rank=2)
    courses = [
        CourseFactory(visibility=Course.Visibility.PUBLIC),
        CourseFactory(visibility=Course.Visibility.MEMBERS),
        CourseFactory(visibility=Course.Visibility.PAID, required_tier=low),
        CourseFactory(visibility=Course.Visibility.PAID, required_tier=high),
    ]
    instructor = UserFactory()
    taught = CourseFactory(visibility=Course.Visibility.PAID, required_tier=high)
    taught.instructors.add(instructor)
    courses.append(taught)
    low_subscriber = subscriber(courses[2])
    users = [AnonymousUser(), UserFactory(), low_subscriber, instructor, staff_user]

    for user in users:
        by_filter = set(
            Course.objects.filter(courses_open_q(user=user)).values_list("pk", flat=True)
        )
        by_policy = {
            course.pk for course in courses if course_access(user=user, course=course).allowed
        }
        assert by_filter == by_policy, user
