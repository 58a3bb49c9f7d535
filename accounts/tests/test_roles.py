"""Roles: the groups the migration writes, reading and changing a user's role, and what an
instructor's staff status does not give them on the site."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import AuditLog, User
from accounts.roles import (
    INSTRUCTORS_GROUP,
    STAFF_GROUP,
    Role,
    role_groups_sync,
    user_has_staff_role,
    user_role_get,
    users_with_role,
)
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.tests.factories import CourseFactory, course_with_lessons

pytestmark = pytest.mark.django_db


def with_role(role: Role, **kwargs) -> User:
    user = UserFactory(**kwargs)
    return user_role_set(user=user, role=role, actor=None)


def group_permissions(name: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


# --- The groups ---------------------------------------------------------------------------


def test_instructors_may_author_catalog_content_and_announcements_and_nothing_else():
    assert group_permissions(INSTRUCTORS_GROUP) == {
        "catalog.view_quiz",
        "catalog.add_quiz",
        "catalog.change_quiz",
        "catalog.view_question",
        "catalog.add_question",
        "catalog.change_question",
        "catalog.delete_question",
        "catalog.view_choice",
        "catalog.add_choice",
        "catalog.change_choice",
        "catalog.delete_choice",
        "progress.view_enrollment",
        "progress.view_lessonprogress",
        "progress.view_quizattempt",
        "progress.view_certificate",
        # Cohorts of their courses (issue 17).
        "progress.view_cohort",
        "progress.add_cohort",
        "progress.change_cohort",
        "progress.view_cohortmembership",
        "progress.delete_cohortmembership",
        "catalog.view_course",
        "catalog.add_course",
        "catalog.change_course",
        "catalog.view_section",
        "catalog.add_section",
        "catalog.change_section",
        "catalog.view_lesson",
        "catalog.add_lesson",
        "catalog.change_lesson",
        # Announcements to their courses' learners (the admin narrows them to their courses).
        "community.view_announcement",
        "community.add_announcement",
        "community.change_announcement",
    }


def test_staff_have_every_permission_on_our_apps_and_none_on_djangos_or_allauths():
    permissions = group_permissions(STAFF_GROUP)

    for expected in (
        "catalog.delete_course",
        "accounts.change_user",
        "accounts.view_auditlog",
        "billing.change_tier",
        "progress.add_invite",
        "analytics.view_event",
        "assistant.change_tutorquota",
        "showcase.change_project",
    ):
        assert expected in permissions
    assert {name.split(".")[0] for name in permissions} <= {
        "lms",
        "accounts",
        "notifications",
        "billing",
        "media",
        "catalog",
        "progress",
        "community",
        "analytics",
        "assistant",
        "showcase",
    }


def test_syncing_the_groups_again_changes_nothing():
    before = {name: group_permissions(name) for name in (INSTRUCTORS_GROUP, STAFF_GROUP)}

    role_groups_sync()
    role_groups_sync()

    assert Group.objects.filter(name__in=[INSTRUCTORS_GROUP, STAFF_GROUP]).count() == 2
    assert {name: group_permissions(name) for name in before} == before


def test_syncing_restores_permissions_removed_by_hand():
    Group.objects.get(name=INSTRUCTORS_GROUP).permissions.clear()

    role_groups_sync()

    assert "catalog.change_lesson" in group_permissions(INSTRUCTORS_GROUP)


@pytest.mark.django_db(transaction=True)
def test_the_migration_creates_the_groups_and_unapplying_it_removes_them():
    executor = MigrationExecutor(connection)
    roles = executor.loader.get_migration("accounts", "0004_roles")
    # Unapply and reapply this one migration alone (an explicit plan): its groups are what is
    # under test, and taking back every later migration of every app would only cost time.
    try:
        executor.migrate([], plan=[(roles, True)])
        assert not Group.objects.filter(name__in=[INSTRUCTORS_GROUP, STAFF_GROUP]).exists()

        executor.loader.build_graph()
        executor.migrate([], plan=[(roles, False)])

        groups = set(Group.objects.values_list("name", flat=True))
        assert groups >= {INSTRUCTORS_GROUP, STAFF_GROUP}
        assert "catalog.add_course" in group_permissions(INSTRUCTORS_GROUP)
        assert "catalog.delete_course" in group_permissions(STAFF_GROUP)
    finally:
        # Leave it applied for the tests that follow, even when an assertion failed between.
        executor.loader.build_graph()
        if (roles.app_label, roles.name) not in executor.loader.applied_migrations:
            executor.migrate([], plan=[(roles, False)])


# --- Reading a role -------------------------------------------------------------------------


def test_a_new_user_is_a_learner():
    user = UserFactory()

    assert user_role_get(user) == Role.LEARNER
    assert (user.is_staff, list(user.groups.all())) == (False, [])


def test_visitors_are_learners_without_staff_rights():
    assert user_role_get(AnonymousUser()) == Role.LEARNER
    assert not user_has_staff_role(AnonymousUser())


def test_superusers_and_staff_status_accounts_without_a_role_group_are_staff():
    superuser = User.objects.create_superuser("root@example.com", "pw")
    old_staff = UserFactory(is_staff=True)

    assert user_role_get(superuser) == user_role_get(old_staff) == Role.STAFF


def test_role_of_a_learner_or_superuser_costs_no_query(django_assert_num_queries):
    learner = UserFactory()
    superuser = User.objects.create_superuser("root@example.com", "pw")

    with django_assert_num_queries(0):
        assert user_role_get(learner) == Role.LEARNER
        assert user_role_get(superuser) == Role.STAFF


def test_an_instructors_role_is_read_once_per_instance(django_assert_num_queries):
    instructor = User.objects.get(pk=with_role(Role.INSTRUCTOR).pk)

    with django_assert_num_queries(1):
        for _ in range(5):
            assert user_role_get(instructor) == Role.INSTRUCTOR
            assert not user_has_staff_role(instructor)


@pytest.mark.parametrize("role", list(Role))
def test_filtering_users_by_role_agrees_with_each_users_role(role):
    people = [
        UserFactory(),
        with_role(Role.MODERATOR),
        with_role(Role.INSTRUCTOR),
        with_role(Role.STAFF),
        UserFactory(is_staff=True),
        User.objects.create_superuser("root@example.com", "pw"),
    ]

    expected = {person.pk for person in people if user_role_get(person) == role}

    assert set(users_with_role(User.objects.all(), role).values_list("pk", flat=True)) == expected


# --- Changing a role ------------------------------------------------------------------------


def test_making_a_learner_an_instructor_gives_staff_status_the_group_and_an_audit_entry():
    actor = with_role(Role.STAFF, email="boss@example.com")
    user = UserFactory(email="teacher@example.com")

    user_role_set(user=user, role=Role.INSTRUCTOR, actor=actor, ip_address="203.0.113.7")

    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [INSTRUCTORS_GROUP]
    assert user_role_get(user) == Role.INSTRUCTOR
    entry = AuditLog.objects.get(action=AuditLog.Action.ROLE_CHANGED, target_id=str(user.pk))
    assert (entry.actor, entry.actor_email, entry.ip_address) == (
        actor,
        "boss@example.com",
        "203.0.113.7",
    )
    assert (entry.target_type, entry.target_repr) == ("accounts.user", str(user))
    assert entry.details == {"from": "learner", "to": "instructor"}


def test_promoting_an_instructor_to_staff_swaps_the_group():
    user = with_role(Role.INSTRUCTOR)

    user_role_set(user=user, role="staff", actor=None)

    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == [STAFF_GROUP]
    assert user.is_staff
    assert user.has_perm("catalog.delete_course")
    assert list(
        AuditLog.objects.filter(target_id=str(user.pk)).values_list("details", flat=True)
    ) == [{"from": "instructor", "to": "staff"}, {"from": "learner", "to": "instructor"}]


def test_making_staff_a_learner_removes_staff_status_and_groups():
    user = with_role(Role.STAFF)

    user_role_set(user=user, role=Role.LEARNER, actor=None)

    user = User.objects.get(pk=user.pk)
    assert (user.is_staff, user.is_superuser, list(user.groups.all())) == (False, False, [])
    assert not user.has_perm("catalog.change_course")


def test_a_demoted_superuser_is_no_longer_a_superuser():
    user = User.objects.create_superuser("root@example.com", "pw")

    user_role_set(user=user, role=Role.INSTRUCTOR, actor=None)

    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert user_role_get(user) == Role.INSTRUCTOR
    assert AuditLog.objects.get().details == {"from": "staff", "to": "instructor"}


def test_setting_the_role_a_user_already_has_changes_and_records_nothing():
    user = with_role(Role.INSTRUCTOR)
    AuditLog.objects.all().delete()

    user_role_set(user=user, role=Role.INSTRUCTOR, actor=None)
    user_role_set(user=UserFactory(), role=Role.LEARNER, actor=None)

    assert not AuditLog.objects.exists()


def test_a_staff_status_account_made_staff_joins_the_staff_group():
    user = UserFactory(is_staff=True)

    user_role_set(user=user, role=Role.STAFF, actor=None)

    assert list(user.groups.values_list("name", flat=True)) == [STAFF_GROUP]
    assert AuditLog.objects.get().details == {"from": "staff", "to": "staff"}


def test_an_unknown_role_is_refused_and_nothing_changes():
    user = UserFactory()

    with pytest.raises(ValueError, match="'admin' is not a valid Role"):
        user_role_set(user=user, role="admin", actor=None)

    user.refresh_from_db()
    assert not user.is_staff
    assert not AuditLog.objects.exists()


# --- On the site, an instructor is not staff ------------------------------------------------


def test_instructors_see_their_own_drafts_but_not_other_instructors(client):
    instructor = with_role(Role.INSTRUCTOR)
    own = CourseFactory(draft=True, title="My draft", instructors=[instructor])
    other = CourseFactory(draft=True, title="Their draft", instructors=[UserFactory()])
    client.force_login(instructor)

    assert client.get(own.get_absolute_url()).status_code == 200
    assert client.get(other.get_absolute_url()).status_code == 404


def test_instructors_do_not_get_other_instructors_paid_lessons(client):
    course = course_with_lessons(1, visibility="paid", required_tier=TierFactory())
    lesson = course.lessons.get()
    client.force_login(with_role(Role.INSTRUCTOR))
    instructor_page = client.get(lesson.get_absolute_url()).content.decode()
    client.force_login(with_role(Role.STAFF))
    staff_page = client.get(lesson.get_absolute_url()).content.decode()

    assert "Notes for lesson 1." in staff_page
    assert "Notes for lesson 1." not in instructor_page


def test_staff_see_every_draft(client):
    client.force_login(with_role(Role.STAFF))
    draft = CourseFactory(draft=True, instructors=[UserFactory()])

    assert client.get(draft.get_absolute_url()).status_code == 200
