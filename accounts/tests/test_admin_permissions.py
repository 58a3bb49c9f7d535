"""Who may do what in the admin: instructors author only their own courses, learners stay
out, roles change only through the audited role field and actions."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditLog, User
from accounts.roles import INSTRUCTORS_GROUP, Role, user_role_get
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson, Section
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)

pytestmark = pytest.mark.django_db

ADMIN_INDEX = reverse("admin:index")
COURSES_URL = reverse("admin:catalog_course_changelist")
SECTIONS_URL = reverse("admin:catalog_section_changelist")
LESSONS_URL = reverse("admin:catalog_lesson_changelist")
USERS_URL = reverse("admin:accounts_user_changelist")


@pytest.fixture(autouse=True)
def _mfa_not_required(settings):
    # These tests are about permissions; tests/test_mfa_admin.py covers the MFA step.
    settings.LMS_ADMIN_REQUIRE_MFA = False


def with_role(role: Role, **kwargs) -> User:
    return user_role_set(user=UserFactory(**kwargs), role=role, actor=None)


def change_url(obj) -> str:
    return reverse(f"admin:catalog_{obj._meta.model_name}_change", args=[obj.pk])


def form_data(response) -> dict:
    """What a browser posts back for an admin add/change page nobody edited."""
    data: dict = {}
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        page_forms += [inline.formset.management_form, *inline.formset.forms]
    for form in page_forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(field, forms.FileField):
                continue
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def form_errors(response) -> str:
    return str(response.context["adminform"].form.errors)


@pytest.fixture
def ana():
    return with_role(Role.INSTRUCTOR, email="ana@example.com")


@pytest.fixture
def ana_client(client, ana):
    client.force_login(ana)
    return client


@pytest.fixture
def courses(ana):
    """Ana's course and Bo's, each with a section and a lesson."""
    bo = with_role(Role.INSTRUCTOR, email="bo@example.com")
    mine = CourseFactory(title="Ana salsa", slug="ana-salsa", instructors=[ana])
    theirs = CourseFactory(title="Bo bachata", slug="bo-bachata", instructors=[bo])
    for course, name in ((mine, "Ana"), (theirs, "Bo")):
        section = SectionFactory(course=course, title=f"{name} section", order=0)
        LessonFactory(section=section, title=f"{name} lesson", slug=f"{name.lower()}-1", order=0)
    return mine, theirs


# --- Instructors: only their own courses --------------------------------------------------


@pytest.mark.parametrize("url", [COURSES_URL, SECTIONS_URL, LESSONS_URL])
def test_instructor_lists_show_only_their_own_courses_content(ana_client, courses, url):
    content = ana_client.get(url).content.decode()

    assert "Ana " in content
    assert "Bo " not in content


@pytest.mark.parametrize("model", [Course, Section, Lesson])
def test_instructor_opening_another_instructors_row_is_told_it_does_not_exist(
    ana_client, courses, model
):
    theirs = model.objects.get(title__startswith="Bo")

    response = ana_client.get(change_url(theirs))

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX
    [message] = get_messages(response.wsgi_request)
    assert "doesn’t exist" in str(message)
    assert "Bo " not in str(message)


@pytest.mark.parametrize("model", [Course, Section, Lesson])
def test_instructor_posting_to_another_instructors_row_changes_nothing(ana_client, courses, model):
    theirs = model.objects.get(title__startswith="Bo")

    response = ana_client.post(change_url(theirs), {"title": "Hijacked"})

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX
    theirs.refresh_from_db()
    assert theirs.title.startswith("Bo")


@pytest.mark.parametrize("model", [Course, Section, Lesson])
def test_instructor_cannot_read_another_instructors_history(ana_client, courses, model):
    theirs = model.objects.get(title__startswith="Bo")
    url = reverse(f"admin:catalog_{model._meta.model_name}_history", args=[theirs.pk])

    response = ana_client.get(url)

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX


def test_instructor_cannot_reorder_another_instructors_sections(ana_client, courses):
    _mine, theirs = courses
    section = theirs.sections.get()

    response = ana_client.post(reverse("admin:catalog_section_move", args=[section.pk, "down"]))

    assert response.status_code == 404


def test_instructor_bulk_action_skips_another_instructors_course(ana_client, courses):
    mine, theirs = courses
    Course.objects.update(status=Course.Status.DRAFT, published_at=None)

    ana_client.post(
        COURSES_URL,
        {"action": "publish_courses", "_selected_action": [str(mine.pk), str(theirs.pk)]},
    )

    assert dict(Course.objects.values_list("slug", "status")) == {
        "ana-salsa": "published",
        "bo-bachata": "draft",
    }


def test_instructor_edits_their_own_course_but_not_its_instructors(ana_client, ana, courses):
    mine, _theirs = courses
    page = ana_client.get(change_url(mine))
    assert "instructors" not in page.context["adminform"].form.fields
    data = form_data(page)
    data.update({"title": "Ana salsa, revised", "instructors": [str(UserFactory().pk)]})

    response = ana_client.post(change_url(mine), data)

    assert response.status_code == 302, form_errors(response)
    mine.refresh_from_db()
    assert mine.title == "Ana salsa, revised"
    assert list(mine.instructors.all()) == [ana]


def test_instructors_new_course_is_theirs(ana_client, ana):
    add_url = reverse("admin:catalog_course_add")
    data = form_data(ana_client.get(add_url))
    data.update({"title": "Ana kizomba", "slug": "ana-kizomba", "sections-0-title": "Walk"})

    response = ana_client.post(add_url, data)

    assert response.status_code == 302, form_errors(response)
    course = Course.objects.get(slug="ana-kizomba")
    assert list(course.instructors.all()) == [ana]
    assert list(course.sections.values_list("title", flat=True)) == ["Walk"]
    assert ana_client.get(change_url(course)).status_code == 200


def test_staff_new_course_has_the_instructors_they_choose(client):
    client.force_login(with_role(Role.STAFF))
    teacher = with_role(Role.INSTRUCTOR)
    add_url = reverse("admin:catalog_course_add")
    data = form_data(client.get(add_url))
    data.update({"title": "Zouk", "slug": "zouk", "instructors": [str(teacher.pk)]})

    response = client.post(add_url, data)

    assert response.status_code == 302, form_errors(response)
    assert list(Course.objects.get(slug="zouk").instructors.all()) == [teacher]


def test_instructor_adds_sections_only_to_their_own_courses(ana_client, courses):
    mine, theirs = courses
    add_url = reverse("admin:catalog_section_add")
    data = form_data(ana_client.get(add_url))

    refused = ana_client.post(add_url, {**data, "course": str(theirs.pk), "title": "Sneaky"})
    accepted = ana_client.post(add_url, {**data, "course": str(mine.pk), "title": "Turns"})

    assert refused.status_code == 200
    assert "Select a valid choice" in form_errors(refused)
    assert not Section.objects.filter(title="Sneaky").exists()
    assert accepted.status_code == 302, form_errors(accepted)
    assert Section.objects.get(title="Turns").course == mine


def test_instructor_lesson_form_offers_and_accepts_only_their_own_sections(ana_client, courses):
    mine, theirs = courses
    add_url = reverse("admin:catalog_lesson_add")
    page = ana_client.get(add_url)
    choices = list(page.context["adminform"].form.fields["section"].queryset)
    data = form_data(page)
    data.update({"title": "Sneaky", "slug": "sneaky", "section": str(theirs.sections.get().pk)})

    refused = ana_client.post(add_url, data)

    assert choices == [mine.sections.get()]
    assert "Bo section" not in page.content.decode()
    assert refused.status_code == 200
    assert "Select a valid choice" in form_errors(refused)
    assert not Lesson.objects.filter(slug="sneaky").exists()


def test_instructor_cannot_move_their_lesson_into_another_instructors_course(ana_client, courses):
    mine, theirs = courses
    lesson = mine.lessons.get()
    data = form_data(ana_client.get(change_url(lesson)))
    data["section"] = str(theirs.sections.get().pk)

    response = ana_client.post(change_url(lesson), data)

    assert response.status_code == 200
    lesson.refresh_from_db()
    assert lesson.course == mine


@pytest.mark.parametrize("url", [SECTIONS_URL, LESSONS_URL])
def test_instructor_course_filter_lists_only_their_courses(ana_client, ana, courses, url):
    second = CourseFactory(title="Ana zouk", instructors=[ana])
    LessonFactory(section=SectionFactory(course=second))

    response = ana_client.get(url)

    [course_filter] = [
        spec for spec in response.context["cl"].filter_specs if spec.title == "course"
    ]
    assert sorted(label for _pk, label in course_filter.lookup_choices) == ["Ana salsa", "Ana zouk"]


def test_course_autocomplete_offers_an_instructor_only_their_courses(ana_client, courses):
    response = ana_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "catalog", "model_name": "section", "field_name": "course", "term": ""},
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["Ana salsa"]


def test_instructors_cannot_delete_even_their_own_courses(ana_client, courses):
    mine, _theirs = courses

    response = ana_client.get(reverse("admin:catalog_course_delete", args=[mine.pk]))

    assert response.status_code == 403
    assert Course.objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize(
    "url",
    [
        USERS_URL,
        reverse("admin:accounts_auditlog_changelist"),
        reverse("admin:billing_tier_changelist"),
        reverse("admin:auth_group_changelist"),
    ],
)
def test_instructors_cannot_open_users_audit_log_tiers_or_groups(ana_client, url):
    assert ana_client.get(url).status_code == 403


def test_instructor_admin_index_lists_the_catalog_their_learners_progress_and_announcements(
    ana_client,
):
    app_list = ana_client.get(ADMIN_INDEX).context["app_list"]

    labels = [app["app_label"] for app in app_list]
    assert labels == ["analytics", "assistant", "catalog", "community", "progress"]
    analytics_models = [model["object_name"] for model in app_list[0]["models"]]
    assert analytics_models == ["CourseDashboard"]  # their courses' dashboards
    # Drafts of their lessons; not the provider calls, quotas or the tutor's review queue.
    assistant_models = [model["object_name"] for model in app_list[1]["models"]]
    assert assistant_models == ["Draft"]
    community_models = [model["object_name"] for model in app_list[3]["models"]]
    assert community_models == ["Announcement"]
    progress_models = [model["object_name"] for model in app_list[4]["models"]]
    assert sorted(progress_models) == [
        "Certificate",
        "Cohort",  # their courses' cohorts (issue 17)
        "Enrollment",
        "LessonProgress",
        "QuizAttempt",
    ]


def test_staff_see_every_course(client, courses):
    client.force_login(with_role(Role.STAFF))

    content = client.get(COURSES_URL).content.decode()

    assert "Ana salsa" in content
    assert "Bo bachata" in content


INSTRUCTOR_PAGES = {
    "course list": lambda course: COURSES_URL,
    "course page": change_url,
    "section list": lambda course: SECTIONS_URL,
    "section page": lambda course: change_url(course.sections.get()),
    "lesson list": lambda course: LESSONS_URL,
    "lesson page": lambda course: change_url(course.lessons.order_by("order").first()),
}
# Session and user (with allauth's session tracking), permissions and role, the page's
# rows and counts, the course instructors for the ownership check.
INSTRUCTOR_PAGE_QUERY_BUDGET = 16


def _page_queries(client, url: str) -> int:
    client.get(url)  # warm what is cached per process or written once per session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", list(INSTRUCTOR_PAGES))
def test_instructor_admin_pages_cost_the_same_few_queries_for_5_and_200_lessons(
    ana_client, ana, courses, page
):
    small = course_with_lessons(5, title="Small", instructors=[ana])
    small_count = _page_queries(ana_client, INSTRUCTOR_PAGES[page](small))
    Course.objects.filter(pk=small.pk).delete()
    large = course_with_lessons(200, title="Large", instructors=[ana])

    assert _page_queries(ana_client, INSTRUCTOR_PAGES[page](large)) == small_count
    assert small_count <= INSTRUCTOR_PAGE_QUERY_BUDGET


# --- Learners and visitors -----------------------------------------------------------------


def test_learner_is_sent_to_the_admin_login_which_refuses_them(client, user):
    client.force_login(user)

    response = client.get(COURSES_URL)
    login = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={COURSES_URL}"
    assert login.status_code == 403


def test_learner_cannot_post_to_the_admin(client, user, courses):
    mine, _theirs = courses
    client.force_login(user)

    response = client.post(change_url(mine), {"title": "Hijacked"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    mine.refresh_from_db()
    assert mine.title == "Ana salsa"


# --- Users: the role column, filter, field and actions -------------------------------------


@pytest.fixture
def staff_member():
    return with_role(Role.STAFF, email="sam@example.com")


@pytest.fixture
def staff_member_client(client, staff_member):
    client.force_login(staff_member)
    return client


def user_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def test_user_list_shows_each_users_role_and_filters_by_it(staff_member_client, ana):
    UserFactory(email="lea@example.com")

    listing = staff_member_client.get(USERS_URL).content.decode()
    instructors = staff_member_client.get(USERS_URL, {"role": "instructor"})

    assert '<td class="field-role">Instructor</td>' in listing
    assert '<td class="field-role">Learner</td>' in listing
    assert '<td class="field-role">Staff</td>' in listing
    assert [user.email for user in instructors.context["cl"].result_list] == ["ana@example.com"]


def test_changing_the_role_field_goes_through_the_audited_service(staff_member_client):
    learner = UserFactory(email="lea@example.com")
    page = staff_member_client.get(user_url(learner))
    data = form_data(page)
    assert data["role"] == "learner"
    data["role"] = "instructor"

    response = staff_member_client.post(user_url(learner), data, REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 302, form_errors(response)
    learner.refresh_from_db()
    assert user_role_get(learner) == Role.INSTRUCTOR
    assert list(learner.groups.values_list("name", flat=True)) == [INSTRUCTORS_GROUP]
    entry = AuditLog.objects.get(action="role.changed", target_id=str(learner.pk))
    assert (entry.actor_email, entry.target_id, entry.ip_address, entry.details) == (
        "sam@example.com",
        str(learner.pk),
        "198.51.100.4",
        {"from": "learner", "to": "instructor"},
    )


def test_saving_a_user_without_changing_the_role_records_no_role_change(staff_member_client, ana):
    data = form_data(staff_member_client.get(user_url(ana)))
    data["display_name"] = "Ana B."
    AuditLog.objects.all().delete()

    response = staff_member_client.post(user_url(ana), data)

    assert response.status_code == 302, form_errors(response)
    assert not AuditLog.objects.exists()


def test_staff_status_superuser_and_groups_cannot_be_posted_directly(staff_member_client):
    learner = UserFactory()
    page = staff_member_client.get(user_url(learner))
    form_fields = set(page.context["adminform"].form.fields)
    data = form_data(page)
    data.update({"is_staff": "on", "is_superuser": "on", "groups": ["1", "2"]})

    staff_member_client.post(user_url(learner), data)

    assert not {"is_staff", "is_superuser", "groups", "user_permissions"} & form_fields
    learner = User.objects.get(pk=learner.pk)
    assert (learner.is_staff, learner.is_superuser, learner.groups.count()) == (False, False, 0)


def test_staff_cannot_change_their_own_role(staff_member_client, staff_member):
    page = staff_member_client.get(user_url(staff_member))

    assert page.status_code == 200
    assert "role" not in page.context["adminform"].form.fields
    assert '<div class="readonly">Staff</div>' in page.content.decode()


def test_only_a_superuser_changes_a_superuser(staff_member_client):
    root = User.objects.create_superuser("root@example.com", "pw")
    data = form_data(staff_member_client.get(user_url(root)))

    response = staff_member_client.post(user_url(root), {**data, "role": "learner"})

    assert response.status_code == 403
    root.refresh_from_db()
    assert root.is_superuser


def test_superuser_may_demote_another_superuser(client):
    client.force_login(User.objects.create_superuser("root@example.com", "pw"))
    other = User.objects.create_superuser("other@example.com", "pw")
    page = client.get(user_url(other))
    assert "user_permissions" in page.context["adminform"].form.fields  # superusers only
    data = form_data(page)
    data["role"] = "learner"

    response = client.post(user_url(other), data)

    assert response.status_code == 302, form_errors(response)
    other.refresh_from_db()
    assert (other.is_staff, other.is_superuser) == (False, False)


def test_role_actions_change_each_selected_user_through_the_service(
    staff_member_client, staff_member
):
    learners = UserFactory.create_batch(2)
    root = User.objects.create_superuser("root@example.com", "pw")
    selected = [*learners, root, staff_member]

    response = staff_member_client.post(
        USERS_URL,
        {"action": "make_instructors", "_selected_action": [str(user.pk) for user in selected]},
        follow=True,
    )

    content = response.content.decode()
    assert "2 users are now instructors." in content
    assert "Not changed (your own account, or a superuser" in content
    assert f"{root}, {staff_member}" in content or f"{staff_member}, {root}" in content
    assert {user_role_get(User.objects.get(pk=user.pk)) for user in learners} == {Role.INSTRUCTOR}
    assert user_role_get(User.objects.get(pk=root.pk)) == Role.STAFF
    assert user_role_get(User.objects.get(pk=staff_member.pk)) == Role.STAFF
    assert AuditLog.objects.filter(action="role.changed", actor=staff_member).count() == 2
