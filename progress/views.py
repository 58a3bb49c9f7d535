"""The learner's pages: the course and lesson pages with their progress, enrolling and leaving,
joining by code, marking a lesson complete, and invite redemption.

Views stay thin: a selector loads, `catalog.access` decides, a service writes. Every write here
is a POST that answers with a redirect and a flash message, errors included, so reloading the
page never repeats it and a refused action never ends on an error page.
"""

from dataclasses import dataclass, replace
from html import unescape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from billing.models import Plan
from billing.selectors import plan_opening_tier
from catalog import selectors
from catalog.access import Reason, course_is_visible, lesson_access
from catalog.attachments import lesson_attachments
from catalog.models import Course, Lesson
from catalog.outline import outline_compiled_get
from catalog.playback import (
    course_preview_playback_get,
    lesson_playback_get,
    player_script_installed,
)
from catalog.templatetags.catalog_tags import duration
from lms.errors import ApplicationError, ErrorCode
from lms.http import client_ip
from lms.markdown import render_markdown
from progress import services
from progress.forms import CourseJoinForm, InviteRedeemForm
from progress.outline_render import course_outline_html, sidebar_outline_html
from progress.overlay import OutlineOverlay, OverlayLesson, outline_overlay_get
from progress.selectors import NextStep, course_learner_count
from progress.services.learning import MANUAL_KINDS  # lessons learners mark done themselves


# --- Course page -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PrimaryAction:
    """The one main button of a course page, and what it says it leads to.

    `kind` is what the button says: "enroll" (a form that enrolls and starts), "start",
    "continue", "review", "preview" (a locked course's free preview), "sign_in" or "plan"
    (the plan that opens a locked course), "wait" (every lesson still to do is closed by the
    course's rules: no button, the reason and when the next one opens). `lesson` is where a
    lesson link leads: never a lesson the rules keep closed.
    """

    kind: str
    url: str = ""
    lesson: OverlayLesson | None = None
    position: float = 0.0


def course_detail(request: HttpRequest, slug: str) -> HttpResponse:
    course = selectors.course_get(user=request.user, slug=slug)
    outline = _overlay_get(user=request.user, course=course)
    progress = outline if request.user.is_authenticated else None
    enrolled = outline.is_enrolled
    # Where a start leads: the first lesson open to this user (for a locked course its first
    # preview; never one the course's rules keep closed).
    start = outline.first_open()
    resume, resume_position = outline.resume_point()
    plan = None
    if outline.access.locked and outline.access.required_tier is not None:
        plan = plan_opening_tier(tier=outline.access.required_tier)
    can_enroll = (
        request.user.is_authenticated
        and not enrolled
        and course.status == Course.Status.PUBLISHED
        and not outline.access.locked
    )
    primary = _primary_action(
        request=request,
        outline=outline,
        progress=progress if enrolled else None,
        can_enroll=can_enroll,
        start=start,
        resume=(resume, resume_position),
        plan=plan,
    )
    description = render_markdown(course.description)
    preview_playback = course_preview_playback_get(course=course)
    # The section of the lesson the main button leads to is open, the others folded.
    open_section = outline.section_of(primary.lesson.lesson.id if primary.lesson else None)
    zone = _zone(request.user)
    return render(
        request,
        "catalog/course_detail.html",
        {
            "course": course,
            "outline": outline,
            # Marks in the outline are for enrolled learners; history after leaving stays
            # in the database and comes back with the enrollment.
            "outline_html": course_outline_html(
                overlay=outline, open_section_id=open_section, marks=enrolled, zone=zone
            ),
            "start": start,
            "description": description,
            "meta_description": course.subtitle or _excerpt(description),
            "needs_login": outline.access.reason == Reason.LOGIN_REQUIRED,
            "progress": progress,
            "enrolled": enrolled,
            "can_enroll": can_enroll,
            "primary": primary,
            # A free preview beside another main action (signing in, a plan) is a second way in.
            "preview": start if primary.kind in ("sign_in", "plan") else None,
            "resume": resume,
            "resume_position": resume_position,
            "instructors": selectors.course_instructors_get(course=course),
            "learner_count": course_learner_count(course=course),
            "plan": plan,
            "preview_playback": preview_playback,
            "player_installed": preview_playback is not None and player_script_installed(),
            "zone": zone,
        },
    )


def _overlay_get(*, user: User | AnonymousUser, course: Course) -> OutlineOverlay:
    """The course's compiled outline (`catalog.outline`) with this user's state over it
    (`progress.overlay`): what the course and lesson pages show of the outline."""
    compiled = outline_compiled_get(course=course)
    return outline_overlay_get(user=user, course=course, compiled=compiled)


def _zone(user: User | AnonymousUser) -> ZoneInfo | None:
    """Where release times are shown: the learner's zone, the site's for visitors (None)."""
    return user.zoneinfo if user.is_authenticated else None


def _primary_action(
    *,
    request: HttpRequest,
    outline: OutlineOverlay,
    progress: OutlineOverlay | None,
    can_enroll: bool,
    start: OverlayLesson | None,
    resume: tuple[OverlayLesson | None, float],
    plan: Plan | None,
) -> PrimaryAction:
    """One main action per state: a learner never sees two buttons that say the same thing."""
    resume_at, position = resume
    if outline.access.locked:
        if outline.access.reason == Reason.LOGIN_REQUIRED:
            login = f"{reverse('account_login')}?next={quote(request.get_full_path())}"
            return PrimaryAction("sign_in", url=login)
        if outline.access.required_tier is not None:
            plan_anchor = f"#plan-{plan.slug}" if plan is not None else "#plans"
            return PrimaryAction("plan", url=reverse("billing:pricing") + plan_anchor)
    if resume_at is not None:
        return PrimaryAction(
            "continue", url=resume_at.lesson.get_absolute_url(), lesson=resume_at, position=position
        )
    if progress is not None and progress.next_step == NextStep.WAIT:
        return PrimaryAction("wait")
    if progress is not None and progress.next_step == NextStep.REVIEW and start is not None:
        return PrimaryAction("review", url=start.lesson.get_absolute_url(), lesson=start)
    if can_enroll and (start is not None or outline.lessons):
        # Everything closed until they enroll (a release counted from enrolling) still
        # enrolls: the count starts then.
        return PrimaryAction("enroll", lesson=start)
    if start is not None:
        kind = "preview" if outline.access.locked else "start"
        return PrimaryAction(kind, url=start.lesson.get_absolute_url(), lesson=start)
    return PrimaryAction("none")


def _excerpt(html: str, length: int = 160) -> str:
    """Plain text of rendered Markdown, cut at a word, for a meta description."""
    text = " ".join(unescape(strip_tags(html)).split())
    return Truncator(text).chars(length)


@require_POST
def course_enroll(request: HttpRequest, slug: str) -> HttpResponse:
    course = selectors.course_get(user=request.user, slug=slug)
    if not request.user.is_authenticated:
        return redirect_to_login(course.get_absolute_url())
    try:
        services.enrollment_enroll(user=request.user, course=course)
    except ApplicationError as error:
        messages.error(request, _enroll_error_message(error=error, course=course))
        return redirect(course.get_absolute_url())
    messages.success(request, _("You are enrolled in %(course)s.") % {"course": course.title})
    # The button said "Enroll and start" (or "Enroll again"): on to the lesson "Continue"
    # now leads to, or the first one.
    outline = _overlay_get(user=request.user, course=course)
    resume, _position = outline.resume_point()
    target = resume or outline.first_open()
    return redirect(target.lesson.get_absolute_url() if target else course.get_absolute_url())


def _enroll_error_message(*, error: ApplicationError, course: Course) -> str:
    # The catalog's messages speak of lessons; on the course page, name the course's plan.
    if error.code == ErrorCode.UPGRADE_REQUIRED and course.required_tier is not None:
        return _("Enrolling in this course needs the %(tier)s plan.") % {
            "tier": course.required_tier.name
        }
    return error.message


@require_POST
def course_unenroll(request: HttpRequest, slug: str) -> HttpResponse:
    course = selectors.course_get(user=request.user, slug=slug)
    if not request.user.is_authenticated:
        return redirect_to_login(course.get_absolute_url())
    try:
        services.enrollment_unenroll(user=request.user, course=course)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _(
                "You left %(course)s. Your progress is kept: enroll again to pick up where "
                "you left off."
            )
            % {"course": course.title},
        )
    return redirect(course.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def course_join(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = CourseJoinForm(initial={"code": request.GET.get("code", "").strip()})
        return render(request, "progress/course_join.html", {"form": form})

    form = CourseJoinForm(request.POST)
    error_code = None
    if form.is_valid():
        try:
            enrollment = services.course_join(user=request.user, code=form.cleaned_data["code"])
        except ApplicationError as error:
            error_code = error.code
            form.add_error("code", error.message)
        else:
            course = enrollment.course
            messages.success(
                request, _("You are enrolled in %(course)s.") % {"course": course.title}
            )
            return redirect(course.get_absolute_url())
    return render(
        request,
        "progress/course_join.html",
        {"form": form, "error_code": error_code},
        status=400,
    )


# --- Lesson page -----------------------------------------------------------------------------
def lesson_detail(request: HttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    course = selectors.course_get(user=request.user, slug=course_slug)
    # The outline first: it leaves the course's rules on `course`, so `lesson_get` reads the
    # lesson alone.
    outline = _overlay_get(user=request.user, course=course)
    lesson = selectors.lesson_get(user=request.user, course=course, slug=lesson_slug)
    return render_lesson_page(request, course=course, lesson=lesson, outline=outline)


def render_lesson_page(
    request: HttpRequest,
    *,
    course: Course,
    lesson: Lesson,
    extra: dict | None = None,
    status: int = 200,
    outline: OutlineOverlay | None = None,
) -> HttpResponse:
    """The lesson page for a course and lesson the caller loaded (with `catalog.selectors`).

    `extra` is merged into the context last, so a view that handled a form on this page (the
    quiz) can re-render it with its bound form and errors, at `status`. A locked lesson is
    always the locked page, with 403, and none of the lesson's content. `outline` is the
    user's overlay of the course when the caller has it (`_overlay_get`).
    """
    user = request.user
    if outline is None:
        outline = _overlay_get(user=user, course=course)
    access = lesson_access(
        user=user,
        course=course,
        lesson=lesson,
        course_decision=outline.access,
        structure=outline.structure,
    )
    previous, following = outline.neighbours(lesson.pk)
    current = outline.entry(lesson.pk)
    progress = outline if user.is_authenticated else None
    enrolled = outline.is_enrolled
    row = outline.marks.get(lesson.pk)
    zone = _zone(user)
    context = {
        "course": course,
        "lesson": lesson,
        "outline": outline,
        # Marks for enrolled learners only, as on the course page.
        "sidebar_html": sidebar_outline_html(
            overlay=outline,
            current_id=lesson.pk,
            section_id=lesson.section_id,
            marks=enrolled,
            zone=zone,
        ),
        "current": current,
        "access": access,
        "previous": previous,
        "next": following,
        "needs_login": access.reason == Reason.LOGIN_REQUIRED,
        "progress": progress,
        "enrolled": enrolled,
        "lesson_progress": row,
        "lesson_completed": row is not None and row.is_completed,
        "meta_description": _lesson_meta_description(lesson=lesson, current=current),
        "zone": zone,
    }
    if access.locked:
        # A separate template with no place for the notes, and they are never rendered here.
        context.update(extra or {})
        return render(request, "catalog/lesson_locked.html", context, status=403)

    if enrolled and not lesson.is_preview_only:
        # "Continue" leads back here while this lesson is unfinished.
        services.enrollment_lesson_opened(enrollment=progress.enrollment, lesson=lesson)
    context["notes"] = render_markdown(lesson.body)
    # Only for an unlocked lesson; each link redirects to a fresh signed URL (catalog.attachments).
    context["attachments"] = list(lesson_attachments(lesson=lesson))
    context["can_complete"] = (
        user.is_authenticated and lesson.kind in MANUAL_KINDS and not lesson.is_preview_only
    )
    if lesson.kind == Lesson.Kind.VIDEO:
        watched = row.watched_seconds if row is not None else 0.0
        context["watched_percent"] = (
            min(100, int(watched * 100 // lesson.duration_seconds))
            if lesson.duration_seconds
            else 0
        )
        context["complete_threshold_percent"] = round(settings.LMS_VIDEO_COMPLETE_THRESHOLD * 100)
        # Access is decided above (a locked lesson never gets here), so tokens are signed only
        # for learners the policy lets in.
        context["playback"] = lesson_playback_get(
            user=user,
            lesson=lesson,
            resume_position=row.position_seconds if row is not None else 0.0,
            course_decision=outline.access,
            structure=outline.structure,
        )
        context["player_installed"] = player_script_installed()
        if enrolled and not lesson.is_preview_only and not (row and row.is_completed):
            # The sidebar's progress as it will read once the player sees this lesson
            # completed: player.js swaps it in, so the page agrees without a reload.
            context["progress_when_completed"] = replace(
                progress, completed_count=progress.completed_count + 1
            )
    elif lesson.kind == Lesson.Kind.QUIZ:
        # Imported here: the quiz views render their errors through `render_lesson_page`.
        from progress.quiz_views import quiz_panel_context

        context.update(quiz_panel_context(user=user, lesson=lesson))
    context.update(extra or {})
    return render(request, "catalog/lesson_detail.html", context, status=status)


def _lesson_meta_description(*, lesson: Lesson, current: OverlayLesson | None) -> str:
    """Said without the notes (a locked lesson's must not leak): the lesson's kind and
    length and where it sits in the course."""
    course = lesson.course
    where = (
        _("Lesson %(number)d of %(course)s") % {"number": current.number, "course": course.title}
        if current is not None
        else course.title
    )
    return _("%(title)s: %(kind)s lesson, %(length)s. %(where)s.") % {
        "title": lesson.title,
        "kind": lesson.get_kind_display(),
        "length": duration(lesson.duration_seconds),
        "where": where,
    }


@require_POST
def lesson_complete(request: HttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    """ "Mark as complete" on a text or lab lesson; then on to the next lesson, if any."""
    course = selectors.course_get(user=request.user, slug=course_slug)
    lesson = selectors.lesson_get(user=request.user, course=course, slug=lesson_slug)
    lesson_url = lesson.get_absolute_url()
    if not request.user.is_authenticated:
        return redirect_to_login(lesson_url)
    try:
        outcome = services.lesson_complete(user=request.user, lesson=lesson)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(lesson_url)

    if any(done.pk == lesson.pk for done in outcome.completed_lessons):
        lesson_xp = outcome.xp_by_lesson.get(lesson.pk, 0)
        text = _("Lesson completed.")
        if lesson_xp:
            text += " " + _("+%(xp)d XP") % {"xp": lesson_xp}
        messages.success(request, text)
    else:
        messages.info(request, _("You had already completed this lesson."))
    if outcome.completed_courses:
        course_xp = outcome.xp_awarded - outcome.xp_by_lesson.get(lesson.pk, 0)
        text = _("Course completed!")
        if course_xp:
            text += " " + _("+%(xp)d XP") % {"xp": course_xp}
        if outcome.certificates:
            text += " " + _("Your certificate is ready on the course page.")
        messages.success(request, text)

    _previous, following = _overlay_get(user=request.user, course=course).neighbours(lesson.pk)
    if following is None or following.access.is_structure_lock:
        # Still closed by the course's rules: this lesson, completed, rather than a locked page.
        return redirect(lesson_url)
    return redirect(following.lesson.get_absolute_url())


# --- Invites ---------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def invite_redeem(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = InviteRedeemForm(initial={"code": request.GET.get("code", "").strip()})
        return render(request, "progress/invite_redeem.html", {"form": form})

    form = InviteRedeemForm(request.POST)
    error_code = None
    if form.is_valid():
        try:
            redemption = services.invite_redeem(
                code=form.cleaned_data["code"], user=request.user, ip_address=client_ip(request)
            )
        except ApplicationError as error:
            error_code = error.code
            form.add_error("code", error.message)
        else:
            course = redemption.invite.course
            if course is not None and course_is_visible(user=request.user, course=course):
                messages.success(
                    request,
                    _("Invite accepted: you are enrolled in %(course)s.") % {"course": course},
                )
                return redirect(course.get_absolute_url())
            messages.success(request, _("Invite accepted. Welcome!"))
            return redirect(reverse("catalog:home"))
    return render(
        request,
        "progress/invite_redeem.html",
        {"form": form, "error_code": error_code},
        status=400,
    )
