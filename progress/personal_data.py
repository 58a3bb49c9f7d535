"""progress' part of a person's data (`accounts.personal_data`): enrollments, lesson
progress, quiz attempts, the XP ledger, streak days, certificates and invites redeemed.

On deletion, learning records stay attached to the anonymous tombstone, so course
dashboards and rollups keep counting them (anonymously); what could identify the person goes:
the IP address of invite redemptions, the address on invites they redeemed, and staff's notes
on extra quiz attempts. Certificates follow LMS_CERTIFICATES_KEEP_ON_DELETION: kept (and
verifiable at /certificates/<code>/ without the name, "issued to a learner who has since
deleted their account") or deleted (the default).
"""

from typing import Any

from django.conf import settings

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from progress.models import (
    ActivityDay,
    Certificate,
    CohortMembership,
    Enrollment,
    Invite,
    InviteRedemption,
    LearnerStats,
    LessonProgress,
    PathCertificate,
    ProgressEvent,
    QuizAttempt,
    QuizAttemptGrant,
    SectionReleaseNotice,
    XPAward,
)


def _export(user: User) -> dict[str, Any]:
    return {
        "enrollments": list(
            Enrollment.objects.filter(user=user)
            .order_by("created_at")
            .values(
                "course__title",
                "course__slug",
                "source",
                "created_at",
                "unenrolled_at",
                "completed_at",
                "last_activity_at",
            )
        ),
        "lesson_progress": list(
            LessonProgress.objects.filter(user=user)
            .order_by("started_at")
            .values(
                "course__slug",
                "lesson__slug",
                "lesson__title",
                "status",
                "position_seconds",
                "watched_seconds",
                "watched_ranges",
                "started_at",
                "completed_at",
                "updated_at",
            )
        ),
        "quiz_attempts": list(
            QuizAttempt.objects.filter(user=user)
            .order_by("created_at")
            .values(
                "lesson__title", "answers", "score", "pass_mark", "passed", "points", "created_at"
            )
        ),
        "extra_quiz_attempts": list(
            QuizAttemptGrant.objects.filter(user=user).values("lesson__title", "created_at")
        ),
        "xp_awards": list(
            XPAward.objects.filter(user=user)
            .order_by("created_at")
            .values("reason", "amount", "course__title", "lesson__title", "created_at")
        ),
        "activity_days": list(
            ActivityDay.objects.filter(user=user).order_by("day").values_list("day", flat=True)
        ),
        "stats": LearnerStats.objects.filter(user=user)
        .values("xp_total", "current_streak", "longest_streak", "last_active_day")
        .first(),
        "certificates": list(
            Certificate.objects.filter(user=user).values(
                "code", "course_title", "learner_name", "issued_at"
            )
        ),
        "invites_redeemed": list(
            InviteRedemption.objects.filter(user=user).values(
                "invite__code", "redeemed_at", "ip_address"
            )
        ),
        "path_certificates": list(
            PathCertificate.objects.filter(user=user).values(
                "code", "path_title", "course_titles", "learner_name", "issued_at"
            )
        ),
        "cohorts": list(
            CohortMembership.objects.filter(user=user)
            .order_by("created_at")
            .values("course__title", "cohort__name", "cohort__starts_on", "created_at")
        ),
        "section_release_notices": list(
            SectionReleaseNotice.objects.filter(user=user)
            .order_by("created_at")
            .values("section__course__title", "section__title", "opened_at", "created_at")
        ),
        "sync_events": list(
            ProgressEvent.objects.filter(user=user)
            .order_by("received_at")
            .values("client_id", "kind", "lesson__title", "occurred_at", "result")
        ),
    }


def _erase(user: User) -> None:
    invites = InviteRedemption.objects.filter(user=user).values("invite_id")
    Invite.objects.filter(pk__in=invites, email__iexact=user.email).update(email="")
    InviteRedemption.objects.filter(user=user).update(ip_address=None)
    QuizAttemptGrant.objects.filter(user=user).update(reason="")
    for certificates in (
        Certificate.objects.filter(user=user),
        PathCertificate.objects.filter(user=user),
    ):
        if settings.LMS_CERTIFICATES_KEEP_ON_DELETION:
            # Still verifiable by code; the page says whose it was no longer.
            certificates.update(learner_name="")
        else:
            certificates.delete()


personal_data_register(
    Section(
        name="progress",
        title="Your learning: enrollments, lesson progress and watched parts of videos, quiz "
        "attempts and answers, XP, streak days, certificates (of courses and paths), cohorts, "
        "notices of sections opening, and invites you redeemed.",
        export=_export,
        erase=_erase,
        on_deletion="Your progress, quiz attempts and XP stay as anonymous numbers in course "
        "statistics; nothing links them to you any more.",
        covers=(
            "progress.Enrollment.user",
            "progress.InviteRedemption.user",
            "progress.LessonProgress.user",
            "progress.QuizAttempt.user",
            "progress.QuizAttemptGrant.user",
            "progress.XPAward.user",
            "progress.ActivityDay.user",
            "progress.LearnerStats.user",
            "progress.Certificate.user",
            "progress.ProgressEvent.user",
            "progress.PathCertificate.user",
            "progress.CohortMembership.user",
            "progress.SectionReleaseNotice.user",
        ),
        # Staff's work: invites they made or revoked, attempts they granted.
        keeps=(
            "progress.Invite.created_by",
            "progress.Invite.revoked_by",
            "progress.QuizAttemptGrant.granted_by",
            "progress.Cohort.created_by",
            "progress.CohortMembership.added_by",
        ),
    )
)
