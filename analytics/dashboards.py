"""What the dashboards show: the date range form, and each chart as a panel (its SVG, the
data table behind it and the CSV of the same numbers), built from `analytics.selectors`.

A panel's rows hold raw values; each column says how to show a value in the table and how
to write it in the CSV, so the two always carry the same numbers (a share of 0.256 reads
"25.6%" in the table and "25.6" in a column headed "(%)" in the CSV).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django import forms
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import selectors
from analytics.charts import Series, bar_chart, line_chart, number, percent
from analytics.selectors import Period
from progress.cohorts.selectors import course_cohorts
from progress.models import Cohort

# The longest period a dashboard shows at once (days): a year and a day, so "the same day
# last year" to today fits; longer ranges are refused with a form error.
MAX_PERIOD_DAYS = 366
PRESETS = (7, 30, 90)
DEFAULT_PRESET = 30
CUSTOM = "custom"


# --- The date range ------------------------------------------------------------------------
class DateRangeForm(forms.Form):
    """A preset (the last 7, 30 or 90 days up to today) or custom dates, inclusive, in the
    analytics time zone; plus which video lesson and which quiz the per-lesson charts show,
    and which cohort every chart is about (course dashboards only). Read from the query
    string."""

    range = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=[
            *[(str(days), gettext_lazy("Last %(days)d days") % {"days": days}) for days in PRESETS],
            (CUSTOM, gettext_lazy("Custom dates")),
        ],
        required=False,
    )
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        today: dt.date,
        videos: Sequence[selectors.VideoLessonRef] = (),
        quizzes: Sequence[selectors.QuizLessonRef] = (),
        cohorts: Sequence[Cohort] = (),
    ) -> None:
        super().__init__(data)
        self.today = today
        if cohorts:
            # Only this course's cohorts are choices: another course's id is a form error.
            self.fields["cohort"] = forms.TypedChoiceField(
                label=_("Cohort"),
                choices=[("", _("All learners")), *[(str(c.pk), c.name) for c in cohorts]],
                coerce=int,
                empty_value=None,
                required=False,
            )
        if videos:
            self.fields["video"] = forms.TypedChoiceField(
                label=_("Video lesson"),
                choices=[(str(ref.lesson_id), ref.title) for ref in videos],
                coerce=UUID,
                required=False,
            )
        if quizzes:
            self.fields["quiz"] = forms.TypedChoiceField(
                label=_("Quiz"),
                choices=[(str(ref.lesson_id), ref.title) for ref in quizzes],
                coerce=UUID,
                required=False,
            )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("range") != CUSTOM:
            return data
        start, end = data.get("start"), data.get("end")
        if "start" not in self.errors and not start:
            self.add_error("start", _("Choose the first day."))
        if "end" not in self.errors and not end:
            self.add_error("end", _("Choose the last day."))
        if not (start and end):
            return data
        if end > self.today:
            self.add_error("end", _("The last day cannot be after today."))
        elif start > end:
            self.add_error("start", _("The first day must be on or before the last day."))
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            self.add_error(
                "start",
                _("Choose at most %(days)d days (this range has %(count)d).")
                % {"days": MAX_PERIOD_DAYS, "count": (end - start).days + 1},
            )
        return data

    def period(self) -> Period:
        """The chosen period; the default (last 30 days) while the form has errors."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("range") == CUSTOM:
            return Period(start=data["start"], end=data["end"])
        days = int(data.get("range") or DEFAULT_PRESET)
        return selectors.period_last(days, end=self.today)

    def chosen_cohort(self) -> int | None:
        """The cohort every chart is restricted to; None for all learners (and while the
        form has errors)."""
        if "cohort" not in self.fields or not self.is_valid():
            return None
        return self.cleaned_data.get("cohort")

    def chosen(self, name: str) -> UUID | None:
        """The lesson picked in `name` ("video", "quiz"), else the first offered."""
        if name not in self.fields:
            return None
        value = self.cleaned_data.get(name) if self.is_valid() else None
        return value or UUID(self.fields[name].choices[0][0])


def period_query(period: Period, **extra: str) -> str:
    """The query string that asks for exactly this period (CSV links carry it)."""
    from urllib.parse import urlencode

    return urlencode(
        {"range": CUSTOM, "start": period.start.isoformat(), "end": period.end.isoformat()} | extra
    )


def period_label(period: Period) -> str:
    return _("%(start)s to %(end)s (%(days)d days)") % {
        "start": date_format(period.start, "DATE_FORMAT"),
        "end": date_format(period.end, "DATE_FORMAT"),
        "days": period.days,
    }


# --- Panels --------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None else str(value)


# Spreadsheets run a cell starting with one of these as a formula; titles, prompts and
# answers are typed by people, so such cells are written as text (as progress's CSV does).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: Any) -> str:
    text = _text(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


def _share_cell(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _money_cell(cents: int) -> str:
    return f"{cents / 100:.2f}"


def clock(seconds: float) -> str:
    """A position in a video: 75 -> "1:15", 3725 -> "1:02:05"."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Column:
    """A column of a panel's table: its heading, and how a value reads in the table
    (`show`) and in the CSV (`csv`, a heading suffix like " (%)" in `csv_suffix`)."""

    label: str
    show: Callable[[Any], str] = _text
    csv: Callable[[Any], str] = _csv_text
    csv_suffix: str = ""
    numeric: bool = False


def count_column(label: str) -> Column:
    return Column(label, show=number, csv=_text, numeric=True)


def share_column(label: str) -> Column:
    def show(value: float | None) -> str:
        return "–" if value is None else f"{value * 100:.1f}%"

    return Column(label, show=show, csv=_share_cell, csv_suffix=" (%)", numeric=True)


def money_column(label: str) -> Column:
    return Column(label, show=lambda cents: f"{cents / 100:,.2f}", csv=_money_cell, numeric=True)


def day_column() -> Column:
    return Column(
        _("Day"), show=lambda day: date_format(day, "SHORT_DATE_FORMAT"), csv=dt.date.isoformat
    )


@dataclass(frozen=True)
class Panel:
    """One chart with its table. `key` names it in URLs (CSV) and element ids."""

    key: str
    title: str
    note: str
    svg: SafeString
    columns: list[Column]
    rows: list[list[Any]]
    lesson_id: str = ""  # the lesson a per-lesson panel is about (its CSV asks for it)

    def table(self) -> list[list[tuple[str, bool]]]:
        """The rows as shown: (text, numeric) per cell."""
        return [
            [
                (column.show(value), column.numeric)
                for column, value in zip(self.columns, row, strict=True)
            ]
            for row in self.rows
        ]

    def csv_rows(self) -> list[list[str]]:
        header = [column.label + column.csv_suffix for column in self.columns]
        body = [
            [column.csv(value) for column, value in zip(self.columns, row, strict=True)]
            for row in self.rows
        ]
        return [header, *body]


def _day_labels(days: Sequence[dt.date]) -> list[str]:
    return [date_format(day, "j M") for day in days]


def activity_panel(*, course_id: UUID, period: Period, cohort_id: int | None = None) -> Panel:
    points = selectors.course_activity_series(
        course_id=course_id, period=period, cohort_id=cohort_id
    )
    days = [point.day for point in points]
    enrollments = [point.enrollments for point in points]
    active = [point.active_learners for point in points]
    svg = line_chart(
        chart_id="chart-activity",
        title=_("Enrollments and active learners per day"),
        desc=_(
            "%(enrollments)s enrollments in the period; at most %(active)s active learners "
            "on one day."
        )
        % {"enrollments": number(sum(enrollments)), "active": number(max(active, default=0))},
        x_labels=_day_labels(days),
        series=[Series(_("Enrollments"), enrollments), Series(_("Active learners"), active)],
        x_label=_("Day"),
        y_label=_("Learners"),
    )
    return Panel(
        key="activity",
        title=_("Enrollments and active learners"),
        note=_(
            "Active learners: learners with any activity in the course that day (a lesson "
            "opened, a video watched, a quiz taken)."
        ),
        svg=svg,
        columns=[
            day_column(),
            count_column(_("Enrollments")),
            count_column(_("Active learners")),
            count_column(_("Lessons completed")),
        ],
        rows=[[p.day, p.enrollments, p.active_learners, p.lessons_completed] for p in points],
    )


def funnel_panel(*, course_id: UUID, period: Period, cohort_id: int | None = None) -> Panel:
    funnel = selectors.course_funnel_cohort(course_id=course_id, period=period, cohort_id=cohort_id)
    steps = funnel.steps
    svg = bar_chart(
        chart_id="chart-funnel",
        title=_("Completion funnel by lesson"),
        desc=_(
            "Of the %(cohort)s learners who enrolled in the period, the share who completed "
            "each lesson, in course order."
        )
        % {"cohort": number(funnel.cohort)},
        labels=[step.lesson_title for step in steps],
        series=[Series(_("Completed"), [step.share for step in steps])],
        value_label=_("Share of the learners who enrolled in the period"),
        category_label=_("Lesson"),
        value_max=1,
        value_format=percent,
    )
    return Panel(
        key="funnel",
        title=_("Completion funnel"),
        note=_(
            "Learners who enrolled in the period (%(cohort)s), and how many of them have "
            "completed each lesson so far."
        )
        % {"cohort": number(funnel.cohort)},
        svg=svg,
        columns=[
            Column(_("Section")),
            Column(_("Lesson")),
            count_column(_("Learners completed")),
            share_column(_("Share")),
        ],
        rows=[[s.section_title, s.lesson_title, s.learners_completed, s.share] for s in steps],
    )


def retention_panel(
    *, video: selectors.VideoLessonRef, period: Period, cohort_id: int | None = None
) -> Panel:
    retention = selectors.video_retention(
        lesson_id=video.lesson_id, period=period, cohort_id=cohort_id
    )
    points = retention.points
    svg = line_chart(
        chart_id="chart-retention",
        title=_("Retention: %(lesson)s") % {"lesson": video.title},
        desc=_(
            "Share of the %(viewers)s viewers still watching at each point of the %(length)s video."
        )
        % {"viewers": number(retention.viewers), "length": clock(retention.duration_seconds)},
        x_labels=[clock(point.second) for point in points],
        series=[Series(_("Still watching"), [point.share for point in points])],
        x_label=_("Position in the video"),
        y_label=_("Share of viewers"),
        y_max=1,
        y_format=percent,
        area=True,
    )
    return Panel(
        key="retention",
        title=_("Video retention"),
        note=_(
            "From the parts of the video each learner really watched (checked by the "
            "server): %(viewers)s viewers whose progress changed in the period."
        )
        % {"viewers": number(retention.viewers)},
        svg=svg,
        columns=[
            Column(_("Second"), numeric=True),
            Column(_("Position")),
            share_column(_("Still watching")),
        ],
        rows=[[point.second, clock(point.second), point.share] for point in points],
        lesson_id=str(video.lesson_id),
    )


def segments_panel(
    *, video: selectors.VideoLessonRef, period: Period, cohort_id: int | None = None
) -> Panel:
    segments = selectors.video_segments(
        lesson_id=video.lesson_id, period=period, cohort_id=cohort_id
    )
    svg = bar_chart(
        chart_id="chart-segments",
        title=_("Rewatched and skipped parts: %(lesson)s") % {"lesson": video.title},
        desc=_(
            "For each part of the video, how many seeks went back over it (rewatches) and "
            "forward over it (skips)."
        ),
        labels=[f"{clock(s.start)}–{clock(s.end)}" for s in segments],
        series=[
            Series(_("Rewatches"), [s.rewatches for s in segments]),
            Series(_("Skips"), [s.skips for s in segments]),
        ],
        value_label=_("Seeks"),
        category_label=_("Part of the video"),
    )
    return Panel(
        key="segments",
        title=_("Rewatched and skipped segments"),
        note=_("From the players' seek events in the period."),
        svg=svg,
        columns=[
            Column(_("From (s)"), numeric=True),
            Column(_("To (s)"), numeric=True),
            Column(_("Part")),
            count_column(_("Rewatches")),
            count_column(_("Skips")),
        ],
        rows=[
            [s.start, s.end, f"{clock(s.start)}–{clock(s.end)}", s.rewatches, s.skips]
            for s in segments
        ],
        lesson_id=str(video.lesson_id),
    )


def quiz_panel(
    *, quiz: selectors.QuizLessonRef, period: Period, cohort_id: int | None = None
) -> Panel:
    items = selectors.quiz_items(lesson_id=quiz.lesson_id, period=period, cohort_id=cohort_id)
    svg = bar_chart(
        chart_id="chart-quiz",
        title=_("Share correct per question: %(quiz)s") % {"quiz": quiz.title},
        desc=_(
            "For each question of the quiz, the share of attempts in the period that got it right."
        ),
        labels=[item.prompt for item in items],
        series=[Series(_("Correct"), [item.correct_share for item in items])],
        value_label=_("Share of attempts correct"),
        category_label=_("Question"),
        value_max=1,
        value_format=percent,
    )
    return Panel(
        key="quiz",
        title=_("Quiz item analysis"),
        note=_("Every attempt submitted in the period counts, retries included."),
        svg=svg,
        columns=[
            Column(_("Question")),
            count_column(_("Attempts")),
            share_column(_("Correct")),
            Column(_("Wrong answer chosen most")),
            share_column(_("Chosen by")),
        ],
        rows=[
            [i.prompt, i.attempts, i.correct_share, i.top_wrong_answer, i.top_wrong_share]
            for i in items
        ],
        lesson_id=str(quiz.lesson_id),
    )


def school_activity_panel(*, period: Period) -> Panel:
    points = selectors.school_series(period=period)
    signups = [p.signups for p in points]
    active = [p.active_learners for p in points]
    svg = line_chart(
        chart_id="chart-school-activity",
        title=_("Signups and active learners per day"),
        desc=_("%(signups)s signups in the period; at most %(active)s active learners on one day.")
        % {"signups": number(sum(signups)), "active": number(max(active, default=0))},
        x_labels=_day_labels([p.day for p in points]),
        series=[Series(_("Signups"), signups), Series(_("Active learners"), active)],
        x_label=_("Day"),
        y_label=_("People"),
    )
    return Panel(
        key="school-activity",
        title=_("Signups and active learners"),
        note=_("Active learners: people with any activity in the school that day."),
        svg=svg,
        columns=[day_column(), count_column(_("Signups")), count_column(_("Active learners"))],
        rows=[[p.day, p.signups, p.active_learners] for p in points],
    )


def _tier_label(tier_name: str, currency: str) -> str:
    return f"{tier_name} ({currency.upper()})" if currency else tier_name


def _by_tier(points: Sequence[selectors.TierPoint], value: Callable) -> tuple[list, list]:
    """The series per (tier, currency), aligned on the period's days."""
    days = sorted({p.day for p in points})
    order: dict[str, dict[dt.date, float]] = {}
    for p in points:
        order.setdefault(_tier_label(p.tier_name, p.currency), {})[p.day] = value(p)
    series = [Series(label, [values.get(d, 0) for d in days]) for label, values in order.items()]
    return days, series


def subscribers_panel(*, period: Period, points: Sequence[selectors.TierPoint]) -> Panel:
    days, series = _by_tier(points, lambda p: p.subscribers)
    svg = line_chart(
        chart_id="chart-subscribers",
        title=_("Subscribers by tier"),
        desc=_("Subscribers at the end of each day, one line per tier (and currency)."),
        x_labels=_day_labels(days or list(period.each_day())),
        series=series,
        x_label=_("Day"),
        y_label=_("Subscribers"),
    )
    return Panel(
        key="subscribers",
        title=_("Subscribers by tier"),
        note=_("Subscriptions as Stripe reports them, counted at the end of each day."),
        svg=svg,
        columns=[
            day_column(),
            Column(_("Tier")),
            count_column(_("Subscribers")),
            count_column(_("Started")),
            count_column(_("Churned")),
        ],
        rows=[[p.day, p.tier_name, p.subscribers, p.started, p.churned] for p in points],
    )


def mrr_panel(*, period: Period, points: Sequence[selectors.TierPoint]) -> Panel:
    days, series = _by_tier(points, lambda p: p.mrr_cents / 100)
    svg = line_chart(
        chart_id="chart-mrr",
        title=_("Monthly recurring revenue by tier"),
        desc=_(
            "MRR at the end of each day, one line per tier and currency (yearly prices count "
            "a twelfth per month)."
        ),
        x_labels=_day_labels(days or list(period.each_day())),
        series=series,
        x_label=_("Day"),
        y_label=_("MRR"),
    )
    return Panel(
        key="mrr",
        title=_("MRR by tier"),
        note=_(
            "Monthly recurring revenue in each currency's units; yearly prices count a twelfth."
        ),
        svg=svg,
        columns=[day_column(), Column(_("Tier")), Column(_("Currency")), money_column(_("MRR"))],
        rows=[[p.day, p.tier_name, p.currency.upper(), p.mrr_cents] for p in points],
    )


def churn_panel(*, period: Period) -> Panel:
    summaries = selectors.subscription_summary(period=period)
    svg = bar_chart(
        chart_id="chart-churn",
        title=_("Churn by tier"),
        desc=_(
            "For each tier, the share of the subscribers at the start of the period who "
            "left during it."
        ),
        labels=[_tier_label(s.tier_name, s.currency) for s in summaries],
        series=[Series(_("Churn rate"), [s.churn_rate or 0 for s in summaries])],
        value_label=_("Churned / subscribers at the start"),
        category_label=_("Tier"),
        value_max=max([1.0, *[s.churn_rate or 0 for s in summaries]]),
        value_format=percent,
    )
    return Panel(
        key="churn",
        title=_("Churn"),
        note=_(
            "Churn rate: subscriptions that ended in the period over the subscribers at its start."
        ),
        svg=svg,
        columns=[
            Column(_("Tier")),
            Column(_("Currency")),
            count_column(_("Subscribers at start")),
            count_column(_("Subscribers at end")),
            count_column(_("Started")),
            count_column(_("Churned")),
            share_column(_("Churn rate")),
            money_column(_("MRR at end")),
        ],
        rows=[
            [
                s.tier_name,
                s.currency.upper(),
                s.subscribers_start,
                s.subscribers_end,
                s.started,
                s.churned,
                s.churn_rate,
                s.mrr_cents_end,
            ]
            for s in summaries
        ],
    )


COURSE_PANELS = ("activity", "funnel", "retention", "segments", "quiz")
SCHOOL_PANELS = ("school-activity", "subscribers", "mrr", "churn")


@dataclass(frozen=True)
class CourseChoices:
    """The lessons the per-lesson panels may show, and the cohorts the charts may be
    restricted to."""

    videos: list[selectors.VideoLessonRef]
    quizzes: list[selectors.QuizLessonRef]
    cohorts: list[Cohort] = field(default_factory=list)

    @classmethod
    def of(cls, course_id: UUID) -> CourseChoices:
        return cls(
            videos=selectors.video_lessons(course_id=course_id),
            quizzes=selectors.quiz_lessons(course_id=course_id),
            cohorts=course_cohorts(course_id=course_id),
        )

    def cohort(self, cohort_id: int | None) -> Cohort | None:
        return next((c for c in self.cohorts if c.pk == cohort_id), None)

    def video(self, lesson_id: UUID | None) -> selectors.VideoLessonRef | None:
        return next((v for v in self.videos if v.lesson_id == lesson_id), None)

    def quiz(self, lesson_id: UUID | None) -> selectors.QuizLessonRef | None:
        return next((q for q in self.quizzes if q.lesson_id == lesson_id), None)


def course_panel(
    key: str,
    *,
    course_id: UUID,
    period: Period,
    choices: CourseChoices,
    video_id: UUID | None,
    quiz_id: UUID | None,
    cohort_id: int | None = None,
) -> Panel | None:
    """One panel of a course dashboard; None when it has nothing to be about (no video
    lesson, no quiz) or `key` names none. With `cohort_id` (one of `choices.cohorts`),
    every figure counts that cohort's members only."""
    video, quiz = choices.video(video_id), choices.quiz(quiz_id)
    cohort = {"cohort_id": cohort_id}
    builders: dict[str, Callable[[], Panel | None]] = {
        "activity": lambda: activity_panel(course_id=course_id, period=period, **cohort),
        "funnel": lambda: funnel_panel(course_id=course_id, period=period, **cohort),
        "retention": lambda: video and retention_panel(video=video, period=period, **cohort),
        "segments": lambda: video and segments_panel(video=video, period=period, **cohort),
        "quiz": lambda: quiz and quiz_panel(quiz=quiz, period=period, **cohort),
    }
    builder = builders.get(key)
    return builder() if builder else None


def school_panel(key: str, *, period: Period, tiers: list | None = None) -> Panel | None:
    """One panel of the school dashboard (`tiers`: the subscription series, when the caller
    already has it for another panel)."""
    if key in {"subscribers", "mrr"}:
        points = tiers if tiers is not None else selectors.subscription_series(period=period)
        build = subscribers_panel if key == "subscribers" else mrr_panel
        return build(period=period, points=points)
    if key == "school-activity":
        return school_activity_panel(period=period)
    if key == "churn":
        return churn_panel(period=period)
    return None
