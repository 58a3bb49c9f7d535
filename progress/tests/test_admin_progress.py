"""Learner progress in the admin, driven like staff and instructors would: lists, filters,
the CSV export, the read-only learning records and the "Rebuild stats" action."""

import csv
import io
from datetime import datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.services import lesson_update
from catalog.tests.factories import CourseFactory, LessonFactory, course_with_lessons
from progress.models import (
    Certificate,
    Enrollment,
    LearnerStats,
    LessonProgress,
    ProgressEvent,
    QuizAttempt,
    XPAward,
)
from progress.services import enrollment_create, enrollment_unenroll, lesson_complete

pytestmark = pytest.mark.django_db

ENROLLMENTS_URL = reverse("admin:progress_enrollment_changelist")


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    # MFA for the admin is tested with the accounts; here it would only add a setup step.
    settings.LMS_ADMIN_REQUIRE_MFA = False


def _lessons(course: Course) -> list[Lesson]:
    return list(course.lessons.order_by("section__order", "order"))


def _complete(user: User, lessons: list[Lesson]) -> None:
    for lesson in lessons:
        lesson_complete(user=user, lesson=lesson)


def _changelist(client, **params) -> list[Enrollment]:
    response = client.get(ENROLLMENTS_URL, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _export(client, enrollments: list[Enrollment], **extra) -> list[list[str]]:
    response = client.post(
        ENROLLMENTS_URL + extra.pop("query", ""),
        {
            "action": "export_csv",
            "_selected_action": [str(enrollment.pk) for enrollment in enrollments],
            "index": "0",
            **extra,
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="enrollments-')
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def _time(value: datetime | None) -> str:
    return "" if value is None else f"{timezone.localtime(value):%Y-%m-%d %H:%M:%S}"


@pytest.fixture
def salsa():
    """Three published lessons, and a fourth that was completed and then unpublished."""
    course = course_with_lessons(4, title="Salsa", slug="salsa")
    return course


@pytest.fixture
def people(salsa):
    """Ana: 1 of 3 done (and the later-unpublished lesson). Bo: all done. Cy: left."""
    ana = UserFactory(email="ana@example.com", display_name="Ana Lima")
    bo = UserFactory(email="bo@example.com", display_name="Bo Berg")
    cy = UserFactory(email="cy@example.com", display_name="Cy Chen")
    first, second, third, hidden = _lessons(salsa)
    enrollment_create(user=ana, course=salsa, source=Enrollment.Source.STAFF)
    _complete(bo, [first, second, third, hidden])
    _complete(ana, [first, hidden])
    enrollment_create(user=cy, course=salsa, source=Enrollment.Source.JOIN_CODE)
    _complete(cy, [second])
    enrollment_unenroll(user=cy, course=salsa)
    lesson_update(lesson=hidden, data={"is_published": False})
    return {"ana": ana, "bo": bo, "cy": cy}


def _enrollment(user: User) -> Enrollment:
    return Enrollment.objects.select_related("user", "course").get(user=user)


# --- The enrollment list ------------------------------------------------------------------


def test_the_list_shows_each_learners_progress_in_published_lessons(staff_client, people):
    response = staff_client.get(ENROLLMENTS_URL)

    rows = {
        enrollment.user.email: (enrollment.completed_lessons, enrollment.total_lessons)
        for enrollment in response.context["cl"].result_list
    }
    assert rows == {"ana@example.com": (1, 3), "bo@example.com": (3, 3), "cy@example.com": (1, 3)}
    html = response.content.decode()
    for text in ("33%", "100%", "Ana Lima", "ana@example.com", "Salsa", "Join code", "Staff"):
        assert text in html


def test_the_progress_column_sorts_by_percent(staff_client, people):
    # Column 5 is the progress; "-" sorts descending.
    ascending = _changelist(staff_client, o="5.1")
    descending = _changelist(staff_client, o="-5.1")

    assert [(e.user.email, e.progress_percent) for e in ascending] == [
        ("ana@example.com", 33),
        ("cy@example.com", 33),
        ("bo@example.com", 100),
    ]
    assert [e.progress_percent for e in descending] == [100, 33, 33]


def test_the_change_page_shows_the_record_read_only(staff_client, people):
    enrollment = _enrollment(people["ana"])

    response = staff_client.get(reverse("admin:progress_enrollment_change", args=[enrollment.pk]))

    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}
    html = response.content.decode()
    assert "1 / 3" in html and "33%" in html and "Active" in html


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", {"ana@example.com"}),
        ("completed", {"bo@example.com"}),
        ("unenrolled", {"cy@example.com"}),
    ],
)
def test_the_status_filter(staff_client, people, status, expected):
    rows = _changelist(staff_client, status=status)

    assert {enrollment.user.email for enrollment in rows} == expected


def test_the_course_and_source_filters(staff_client, people, salsa):
    other = CourseFactory(title="Bachata")
    enrollment_create(user=people["ana"], course=other, source=Enrollment.Source.INVITE)

    by_course = _changelist(staff_client, course__id__exact=str(salsa.pk))
    by_source = _changelist(staff_client, source__exact="invite")

    assert {(e.user.email, e.course.title) for e in by_course} == {
        ("ana@example.com", "Salsa"),
        ("bo@example.com", "Salsa"),
        ("cy@example.com", "Salsa"),
    }
    assert [(e.user.email, e.course.title) for e in by_source] == [("ana@example.com", "Bachata")]


@pytest.mark.parametrize(
    ("query", "expected"), [("bo@example", "bo@example.com"), ("Cy Chen", "cy@example.com")]
)
def test_search_finds_learners_by_email_or_name(staff_client, people, query, expected):
    rows = _changelist(staff_client, q=query)

    assert [enrollment.user.email for enrollment in rows] == [expected]


def test_the_enrollment_list_costs_the_same_queries_for_3_and_30_enrollments(
    staff_client, django_assert_max_num_queries
):
    course = course_with_lessons(5)
    lessons = _lessons(course)
    staff_client.get(ENROLLMENTS_URL)  # the first request of a session does one-off writes
    counts = []
    for total in (3, 30):
        while Enrollment.objects.count() < total:
            _complete(UserFactory(), lessons[: Enrollment.objects.count() % 5 + 1])
        with django_assert_max_num_queries(10) as captured:
            response = staff_client.get(ENROLLMENTS_URL)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == total
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- CSV export ------------------------------------------------------------------------------


def test_csv_export_has_a_header_and_one_row_per_selected_enrollment(staff_client, people):
    ana, bo = _enrollment(people["ana"]), _enrollment(people["bo"])

    rows = _export(staff_client, [ana, bo])

    assert rows == [
        [
            "Learner email",
            "Learner name",
            "Course",
            "Enrolled at",
            "Progress %",
            "Completed lessons",
            "Total lessons",
            "Last activity",
            "Completed at",
            "Status",
        ],
        # Newest enrollment first, as in the list.
        [
            "bo@example.com",
            "Bo Berg",
            "Salsa",
            _time(bo.created_at),
            "100",
            "3",
            "3",
            _time(bo.last_activity_at),
            _time(bo.completed_at),
            "completed",
        ],
        [
            "ana@example.com",
            "Ana Lima",
            "Salsa",
            _time(ana.created_at),
            "33",
            "1",
            "3",
            _time(ana.last_activity_at),
            "",
            "active",
        ],
    ]
    assert bo.completed_at is not None and ana.last_activity_at is not None


def test_csv_export_of_all_matching_rows_follows_the_filters(staff_client, people):
    rows = _export(
        staff_client,
        [_enrollment(people["ana"])],
        select_across="1",
        query="?status=unenrolled",
    )

    assert [row[0] for row in rows[1:]] == ["cy@example.com"]
    assert rows[1][-1] == "unenrolled"


def test_csv_export_writes_formula_like_names_as_text(staff_client):
    learner = UserFactory(email="eve@example.com", display_name="=HYPERLINK(1)")
    enrollment = enrollment_create(
        user=learner, course=CourseFactory(title="+Course"), source="staff"
    )

    rows = _export(staff_client, [enrollment])

    assert rows[1][:3] == ["eve@example.com", "'=HYPERLINK(1)", "'+Course"]
    assert rows[1][4:7] == ["0", "0", "0"]


# --- From the course to its learners -------------------------------------------------------


def test_the_course_page_links_to_its_learners_progress(staff_client, people, salsa):
    other = CourseFactory()
    enrollment_create(user=people["ana"], course=other, source=Enrollment.Source.SELF)
    course_page = staff_client.get(reverse("admin:catalog_course_change", args=[salsa.pk]))
    url = f"{ENROLLMENTS_URL}?course__id__exact={salsa.pk}"

    assert f'href="{url}"' in course_page.content.decode()
    assert "Learner progress" in course_page.content.decode()
    assert {e.course for e in _changelist(staff_client, course__id__exact=str(salsa.pk))} == {salsa}
    course_list = staff_client.get(reverse("admin:catalog_course_changelist"))
    assert f'href="{url}"' in course_list.content.decode()


# --- Instructors -----------------------------------------------------------------------------


@pytest.fixture
def instructor_client(client, people, salsa):
    """Ana's teacher, allowed to view enrollments (see accounts.roles), teaching Salsa only."""
    teacher = user_role_set(
        user=UserFactory(email="teacher@example.com"), role=Role.INSTRUCTOR, actor=None
    )
    teacher.user_permissions.add(
        Permission.objects.get(content_type__app_label="progress", codename="view_enrollment")
    )
    salsa.instructors.add(teacher)
    other = CourseFactory(title="Tango")
    enrollment_create(user=people["ana"], course=other, source=Enrollment.Source.SELF)
    client.force_login(teacher)
    return client


def test_instructors_see_only_the_enrollments_of_their_courses(instructor_client, salsa):
    response = instructor_client.get(ENROLLMENTS_URL)

    rows = response.context["cl"].result_list
    assert {enrollment.course for enrollment in rows} == {salsa}
    assert len(rows) == 3
    assert "Tango" not in response.content.decode()


def test_instructors_cannot_open_or_export_another_courses_enrollment(instructor_client):
    theirs = Enrollment.objects.get(course__title="Tango")

    opened = instructor_client.get(reverse("admin:progress_enrollment_change", args=[theirs.pk]))
    rows = _export(instructor_client, [theirs], select_across="1")

    assert opened.status_code == 302
    assert opened["Location"] == reverse("admin:index")
    assert {row[2] for row in rows[1:]} == {"Salsa"}


def test_instructors_cannot_enroll_anyone_or_delete_enrollments(instructor_client, salsa):
    enrollment = Enrollment.objects.filter(course=salsa).first()

    add = instructor_client.get(reverse("admin:progress_enrollment_add"))
    delete = instructor_client.post(
        reverse("admin:progress_enrollment_delete", args=[enrollment.pk]), {"post": "yes"}
    )

    assert (add.status_code, delete.status_code) == (403, 403)
    assert Enrollment.objects.filter(pk=enrollment.pk).exists()


def test_learners_cannot_reach_the_enrollments(client, user):
    client.force_login(user)

    response = client.get(ENROLLMENTS_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- The read-only learning records ---------------------------------------------------------


@pytest.fixture
def records(people, salsa):
    """Every kind of learning record, written the way the site writes them."""
    quiz_lesson = LessonFactory(
        section=salsa.sections.get(), kind=Lesson.Kind.QUIZ, slug="quiz", order=99
    )
    QuizAttempt.objects.create(
        user=people["ana"], lesson=quiz_lesson, points=2, max_points=3, score=66, pass_mark=70
    )
    ProgressEvent.objects.create(
        user=people["ana"],
        client_id="6b1c1d3e-0e5c-4c39-9d1d-6a4f1f0d2a10",
        kind=ProgressEvent.Kind.COMPLETE,
        lesson=quiz_lesson,
        occurred_at=timezone.now(),
        result="COMPLETION_NOT_MANUAL",
    )
    return {
        LessonProgress: LessonProgress.objects.filter(user=people["ana"]).first(),
        QuizAttempt: QuizAttempt.objects.get(),
        XPAward: XPAward.objects.filter(user=people["ana"]).first(),
        Certificate: Certificate.objects.get(user=people["bo"]),
        ProgressEvent: ProgressEvent.objects.get(),
        LearnerStats: LearnerStats.objects.get(user=people["ana"]),
    }


READ_ONLY_MODELS = [LessonProgress, QuizAttempt, XPAward, Certificate, ProgressEvent, LearnerStats]


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:progress_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda model: model.__name__)
def test_learning_records_can_be_viewed_but_not_added_changed_or_deleted(
    staff_client, records, model
):
    row = records[model]
    before = model.objects.values().get(pk=row.pk)

    listed = staff_client.get(_admin_url(model, "changelist"))
    viewed = staff_client.get(_admin_url(model, "change", row.pk))
    added = staff_client.get(_admin_url(model, "add"))
    changed = staff_client.post(_admin_url(model, "change", row.pk), {})
    deleted = staff_client.post(_admin_url(model, "delete", row.pk), {"post": "yes"})

    assert (listed.status_code, viewed.status_code) == (200, 200)
    assert viewed.context["adminform"].form.fields == {}
    assert _admin_url(model, "add") not in listed.content.decode()
    assert (added.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert model.objects.values().get(pk=row.pk) == before


def test_progress_events_list_shows_how_often_a_refused_event_was_sent(staff_client, records):
    event = records[ProgressEvent]
    ProgressEvent.objects.filter(pk=event.pk).update(attempts=3)

    listed = staff_client.get(_admin_url(ProgressEvent, "changelist"))

    page = listed.content.decode()
    assert "column-attempts" in page and "column-last_received_at" in page
    assert '<td class="field-attempts">3</td>' in page


def test_lesson_progress_filters_by_course_and_status_and_finds_by_email(
    staff_client, people, salsa
):
    url = _admin_url(LessonProgress, "changelist")
    in_salsa = staff_client.get(
        url, {"course__id__exact": str(salsa.pk), "status__exact": "completed"}
    )
    by_email = staff_client.get(url, {"q": "cy@example"})

    assert (
        in_salsa.context["cl"].result_count
        == LessonProgress.objects.filter(status="completed").count()
        == 7
    )
    assert [(row.user.email, row.status) for row in by_email.context["cl"].result_list] == [
        ("cy@example.com", "completed")
    ]


def test_quiz_attempts_show_score_and_filter_by_passed(staff_client, records):
    url = _admin_url(QuizAttempt, "changelist")

    failed = staff_client.get(url, {"passed__exact": "0"})
    passed = staff_client.get(url, {"passed__exact": "1"})

    assert failed.context["cl"].result_count == 1
    assert passed.context["cl"].result_count == 0
    assert "66% (pass: 70%)" in failed.content.decode()
    assert "2 / 3" in failed.content.decode()


def test_the_xp_ledger_filters_by_reason(staff_client, people):
    url = _admin_url(XPAward, "changelist")

    courses = staff_client.get(url, {"reason__exact": "course_completed"})

    assert [(award.user, award.amount) for award in courses.context["cl"].result_list] == [
        (people["bo"], XPAward.objects.get(reason="course_completed").amount)
    ]


def test_certificates_link_to_their_public_page(staff_client, people):
    certificate = Certificate.objects.get(user=people["bo"])

    response = staff_client.get(_admin_url(Certificate, "changelist"))

    html = response.content.decode()
    assert certificate.code in html
    assert f'href="{certificate.get_absolute_url()}"' in html
    assert staff_client.get(certificate.get_absolute_url()).status_code == 200


def test_rebuild_stats_recomputes_totals_from_the_ledger(staff_client, people):
    stats = LearnerStats.objects.get(user=people["bo"])
    expected_xp = stats.xp_total
    LearnerStats.objects.filter(pk=stats.pk).update(xp_total=0, current_streak=0)

    response = staff_client.post(
        _admin_url(LearnerStats, "changelist"),
        {"action": "rebuild_stats", "_selected_action": [str(stats.pk)], "index": "0"},
    )

    assert response.status_code == 302
    stats.refresh_from_db()
    assert (stats.xp_total, stats.current_streak) == (expected_xp, 1)
    assert expected_xp == sum(
        XPAward.objects.filter(user=people["bo"]).values_list("amount", flat=True)
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Rebuilt the stats of 1 learner."
    ]


def test_rebuild_stats_needs_the_change_permission_on_stats(client, people):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="progress", codename="view_learnerstats")
    )
    client.force_login(viewer)
    stats = LearnerStats.objects.get(user=people["bo"])
    LearnerStats.objects.filter(pk=stats.pk).update(xp_total=0)

    page = client.get(_admin_url(LearnerStats, "changelist"))
    response = client.post(
        _admin_url(LearnerStats, "changelist"),
        {"action": "rebuild_stats", "_selected_action": [str(stats.pk)], "index": "0"},
    )

    assert page.status_code == 200
    assert "rebuild_stats" not in page.content.decode()
    stats.refresh_from_db()
    assert stats.xp_total == 0
    assert response.status_code in (200, 302)
