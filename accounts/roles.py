"""Roles: learner (the default), instructor and staff, carried by Django groups.

- Learner: no role group, no staff status.
- Moderator: staff status (to enter the admin's moderation queue) and the "Moderators"
  group, which may view and change the community's discussions and reports; moderates
  discussions and chat everywhere, with no other staff power (the access policy treats them
  as learners).
- Instructor: staff status (to enter the admin) and the "Instructors" group, which may
  author courses, sections, lessons and quizzes and view their learners' progress; the
  admin narrows that to the courses they teach.
- Staff: staff status and the "Staff" group, with every permission on our apps' models; or a
  superuser. A staff-status account in no role group (made by hand before roles existed)
  also counts as staff, which is what the access policy always assumed of `is_staff`.

The groups and their permissions are defined here and written by the `0004_roles` migration
and again after every `migrate` (and test flush), so they never drift from the code. Changing
someone's role is `accounts.services.user_role_set`, which audits it.
"""

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class Role(models.TextChoices):
    # From least to most rights.
    LEARNER = "learner", _("Learner")
    MODERATOR = "moderator", _("Moderator")
    INSTRUCTOR = "instructor", _("Instructor")
    STAFF = "staff", _("Staff")


INSTRUCTORS_GROUP = "Instructors"
STAFF_GROUP = "Staff"
MODERATORS_GROUP = "Moderators"
ROLE_GROUPS = {
    Role.MODERATOR: MODERATORS_GROUP,
    Role.INSTRUCTOR: INSTRUCTORS_GROUP,
    Role.STAFF: STAFF_GROUP,
}

# The apps whose every model the Staff group may manage.
STAFF_APP_LABELS = (
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
)
# The community models moderators work on in the admin (hiding, resolving reports): no adds
# and no hard deletes; deleting a post is a soft delete through the services.
MODERATOR_PERMISSIONS = {
    ("community", "thread"): ("view", "change"),
    ("community", "reply"): ("view", "change"),
    ("community", "report"): ("view", "change"),
}
# (app label, model) -> the actions instructors may take. No deletes of courses, sections or
# lessons: removing a course's content is for staff. A quiz's questions and choices are
# edited like text, wrong ones removed included.
INSTRUCTOR_PERMISSIONS = {
    ("catalog", "course"): ("view", "add", "change"),
    ("catalog", "section"): ("view", "add", "change"),
    ("catalog", "lesson"): ("view", "add", "change"),
    ("catalog", "quiz"): ("view", "add", "change"),
    ("catalog", "question"): ("view", "add", "change", "delete"),
    ("catalog", "choice"): ("view", "add", "change", "delete"),
    # Their learners' progress, read-only (the admin narrows it to their courses).
    ("progress", "enrollment"): ("view",),
    ("progress", "lessonprogress"): ("view",),
    ("progress", "quizattempt"): ("view",),
    ("progress", "certificate"): ("view",),
    # Cohorts of their courses (the admin narrows them): create, rename, add and remove learners.
    ("progress", "cohort"): ("view", "add", "change"),
    ("progress", "cohortmembership"): ("view", "delete"),
    # Announcements to their learners (the admin narrows them to their courses).
    ("community", "announcement"): ("view", "add", "change"),
}

_GROUP_NAMES_CACHE = "_role_group_names"


def role_groups_sync(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the role groups and give them exactly the permissions defined above.

    Idempotent. `apps` is a migration's historical registry or the live one. Permissions
    are created first, since Django only adds them after all migrations have run.
    """
    for label in STAFF_APP_LABELS:
        if label in global_apps.app_configs:
            create_permissions(
                global_apps.get_app_config(label), verbosity=0, apps=apps, using=using
            )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.using(using)

    staff, _created = Group.objects.using(using).get_or_create(name=STAFF_GROUP)
    staff.permissions.set(permissions.filter(content_type__app_label__in=STAFF_APP_LABELS))

    instructor_rule = Q(pk__in=[])
    for (app_label, model), actions in INSTRUCTOR_PERMISSIONS.items():
        instructor_rule |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    instructors, _created = Group.objects.using(using).get_or_create(name=INSTRUCTORS_GROUP)
    instructors.permissions.set(permissions.filter(instructor_rule))

    moderator_rule = Q(pk__in=[])
    for (app_label, model), actions in MODERATOR_PERMISSIONS.items():
        moderator_rule |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    moderators, _created = Group.objects.using(using).get_or_create(name=MODERATORS_GROUP)
    moderators.permissions.set(permissions.filter(moderator_rule))


def _group_names(user: User) -> frozenset[str]:
    """The user's group names: from a `prefetch_related("groups")` when there is one, else
    one query, remembered on the instance (the access policy asks many times per page)."""
    prefetched = getattr(user, "_prefetched_objects_cache", {}).get("groups")
    if prefetched is not None:
        return frozenset(group.name for group in prefetched)
    names = getattr(user, _GROUP_NAMES_CACHE, None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _GROUP_NAMES_CACHE, names)
    return names


def user_role_caches_clear(user: User) -> None:
    """Forget what was remembered about the user's groups and permissions."""
    for attribute in (_GROUP_NAMES_CACHE, "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)
    getattr(user, "_prefetched_objects_cache", {}).pop("groups", None)


def user_role_get(user: User | AnonymousUser) -> Role:
    """The user's role. Costs no query for learners and superusers, and at most one (the
    groups, unless prefetched) for other staff-status accounts."""
    if not user.is_authenticated:
        return Role.LEARNER
    if user.is_superuser:
        return Role.STAFF
    if not user.is_staff:
        return Role.LEARNER
    names = _group_names(user)
    if STAFF_GROUP in names:
        return Role.STAFF
    if INSTRUCTORS_GROUP in names:
        return Role.INSTRUCTOR
    if MODERATORS_GROUP in names:
        return Role.MODERATOR
    return Role.STAFF


def user_role_matches(user: User, role: Role | str) -> bool:
    """Whether the user has this role with exactly the groups and flags that go with it (a
    staff-status account in no group is staff, but not yet in the Staff group)."""
    role = Role(role)
    if user_role_get(user) != role:
        return False
    if role == Role.STAFF and user.is_superuser:
        return True
    wanted = {ROLE_GROUPS[role]} if role in ROLE_GROUPS else set()
    held = _group_names(user) & set(ROLE_GROUPS.values())
    return user.is_staff == (role != Role.LEARNER) and held == wanted


def user_is_moderator(user: User | AnonymousUser) -> bool:
    """Moderators by role (staff moderate too, and instructors in their own courses: the
    community app decides that with the course)."""
    return user_role_get(user) == Role.MODERATOR


def user_has_staff_role(user: User | AnonymousUser) -> bool:
    """Staff see and manage everything; instructors, despite their staff status, do not."""
    return user_role_get(user) == Role.STAFF


def users_with_role(queryset: QuerySet[User], role: Role | str) -> QuerySet[User]:
    """Filter users to one role, by the same rules as `user_role_get`."""
    memberships = User.groups.through.objects.filter(user_id=OuterRef("pk"))
    in_staff_group = Exists(memberships.filter(group__name=STAFF_GROUP))
    in_instructors_group = Exists(memberships.filter(group__name=INSTRUCTORS_GROUP))
    in_moderators_group = Exists(memberships.filter(group__name=MODERATORS_GROUP))
    staff_status = Q(is_superuser=False, is_staff=True) & ~in_staff_group
    instructor = staff_status & in_instructors_group
    moderator = staff_status & ~in_instructors_group & in_moderators_group
    rules = {
        Role.LEARNER: Q(is_superuser=False, is_staff=False),
        Role.MODERATOR: moderator,
        Role.INSTRUCTOR: instructor,
        Role.STAFF: Q(is_superuser=True) | (Q(is_staff=True) & ~instructor & ~moderator),
    }
    return queryset.filter(rules[Role(role)])
