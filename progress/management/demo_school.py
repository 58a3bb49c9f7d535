"""The demo school's content: tiers and their plans, people, three courses, a course that
shows every structure rule and a learning path, as plain data.

`seed_demo` turns this into rows through the owning apps' services. Keep it pleasant to
click through: every lesson kind, a free preview, a boss lesson, each visibility, and each
structure rule (sequential sections, a release days after enrolling, a hidden section, a
section prerequisite) in RULES_COURSE.
"""

from dataclasses import dataclass
from pathlib import Path

from catalog.models import Course, Lesson

VIDEO, TEXT, QUIZ, LAB = Lesson.Kind.VIDEO, Lesson.Kind.TEXT, Lesson.Kind.QUIZ, Lesson.Kind.LAB


@dataclass(frozen=True)
class DemoTier:
    slug: str
    name: str
    rank: int
    description: str


@dataclass(frozen=True)
class DemoPlan:
    slug: str
    name: str
    tier_slug: str
    description: str
    features: tuple[str, ...]
    display_price_monthly: str
    display_price_yearly: str
    order: int

    @property
    def stripe_price_monthly(self) -> str:
        return f"price_demo_{self.slug}_monthly"

    @property
    def stripe_price_yearly(self) -> str:
        return f"price_demo_{self.slug}_yearly"


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    display_name: str
    is_staff: bool = False
    bio: str = ""
    picture: str = ""  # a file in demo_assets/, set as the avatar once


@dataclass(frozen=True)
class DemoLesson:
    slug: str
    title: str
    kind: str
    minutes: int
    body: str
    free_preview: bool = False
    boss: bool = False
    xp: int = 10


@dataclass(frozen=True)
class DemoSection:
    title: str
    lessons: tuple[DemoLesson, ...]
    # Structure rules, set when the section is created (then left to staff).
    hidden: bool = False
    release_after_days: int | None = None
    prerequisites: tuple[str, ...] = ()  # titles of earlier sections of the same course


@dataclass(frozen=True)
class DemoCourse:
    slug: str
    title: str
    subtitle: str
    description: str
    course_type: str
    difficulty: str
    visibility: str
    sections: tuple[DemoSection, ...]
    tier_slug: str | None = None
    progression: str = Course.Progression.FREE


@dataclass(frozen=True)
class DemoPath:
    slug: str
    title: str
    summary: str
    description: str
    course_slugs: tuple[str, ...]


TIERS = (
    DemoTier("rookie", "Rookie", 1, "First steps: the foundations of every style."),
    DemoTier("advanced", "Advanced", 2, "Choreographies and technique for regular dancers."),
    DemoTier("performer", "Performer", 3, "Stage work, masterclasses and everything else."),
)

# One plan per tier. Their Stripe price ids are placeholders (price_demo_<slug>_monthly and
# _yearly): the demo runs with billing off, and a developer trying checkout against their own
# Stripe test account replaces them in the admin with the ids of prices made there.
PLANS = (
    DemoPlan(
        "rookie",
        "Rookie",
        "rookie",
        "Start dancing: the foundations of every style.",
        ("Every Rookie course", "New beginner lessons every month", "Cancel any time"),
        "$9",
        "$90",
        order=1,
    ),
    DemoPlan(
        "advanced",
        "Advanced",
        "advanced",
        "For regular dancers: choreographies and technique.",
        ("Everything in Rookie", "Every Advanced course and choreography", "Downloads"),
        "$19",
        "$190",
        order=2,
    ),
    DemoPlan(
        "performer",
        "Performer",
        "performer",
        "Stage work, masterclasses and everything else.",
        ("Everything in Advanced", "Performer masterclasses", "Stage and costume sessions"),
        "$39",
        "$390",
        order=3,
    ),
)


# Fixed, printed passwords: this is a demo school on a developer's machine.
STAFF = DemoUser(
    "staff@example.com",
    "demo-staff-2024",
    "Sam Rivera",
    is_staff=True,
    bio=(
        "Dancer, choreographer and self-taught programmer. Sam has taught salsa and "
        "contemporary classes for ten years and writes the little tools the school runs on."
    ),
    picture="instructor-sam-rivera.webp",
)
LEARNER = DemoUser("learner@example.com", "demo-learner-2024", "Lee Park")
# An instructor without staff rights: in /admin/ they see only the courses they teach (and
# those courses' analytics dashboards).
INSTRUCTOR = DemoUser("instructor@example.com", "demo-instructor-2024", "Noor Haddad")
INSTRUCTOR_COURSES = ("salsa-foundations",)


SALSA = DemoCourse(
    slug="salsa-foundations",
    title="Salsa Foundations",
    subtitle="From your first basic step to a short social-dance routine",
    description="""\
Salsa is a conversation between two dancers and a band. This course gives you the
vocabulary: timing, the basic step, turns and how to lead and follow them.

**You will learn to**

- hear the *one* in salsa music and stay on it;
- dance the basic step forwards, backwards and to the side;
- lead or follow a right turn and a cross-body lead;
- string everything into a 32-count routine.

No partner needed: every drill works solo first.
""",
    course_type=Course.CourseType.COURSE,
    difficulty=Course.Difficulty.BEGINNER,
    visibility=Course.Visibility.PUBLIC,
    sections=(
        DemoSection(
            "Timing and the basic step",
            (
                DemoLesson(
                    "finding-the-beat",
                    "Finding the beat",
                    VIDEO,
                    6,
                    """\
## Listen before you move

Salsa is counted in **eights**: `1 2 3 (4) 5 6 7 (8)`. You step on 1-2-3 and 5-6-7
and *pause* on 4 and 8.

1. Put on a slow track (around 160 BPM).
2. Clap on every beat for one minute.
3. Now clap only on **1** and **5**.

> Tip: the cowbell and the conga usually mark the beat more clearly than the melody.
""",
                ),
                DemoLesson(
                    "the-basic-step",
                    "The basic step",
                    VIDEO,
                    8,
                    """\
## Forward and back

| Count | Leader (left foot starts) | Follower (right foot starts) |
|-------|---------------------------|------------------------------|
| 1     | Left forward              | Right back                   |
| 2     | Weight onto the right     | Weight onto the left         |
| 3     | Left closes               | Right closes                 |
| 5     | Right back                | Left forward                 |
| 6     | Weight onto the left      | Weight onto the right        |
| 7     | Right closes              | Left closes                  |

Keep the steps small: your feet should never travel wider than your shoulders.
""",
                ),
                DemoLesson(
                    "why-counting-matters",
                    "Why counting matters",
                    TEXT,
                    4,
                    """\
Counting feels mechanical at first, but it is what lets two strangers dance together
on a crowded floor. Once the count lives in your body you will stop saying it aloud and
start *hearing* it in the music instead.

- Count out loud for the first week.
- Whisper it the second week.
- After that, only count when you get lost.
""",
                ),
                DemoLesson(
                    "timing-check",
                    "Timing check",
                    QUIZ,
                    3,
                    """\
Test yourself before moving on: three quick questions on the basic step.
You need 70% to pass, and you have three attempts; once you pass (or have used them all)
the explanations tell you why each answer is right.
""",
                ),
            ),
        ),
        DemoSection(
            "Turns and your first routine",
            (
                DemoLesson(
                    "right-turn",
                    "The right turn",
                    VIDEO,
                    9,
                    """\
## Spotting

Pick a point at eye level and keep looking at it for as long as you can while you turn;
then whip your head round and find it again. This is what keeps dancers from getting dizzy.

The turn starts on **5**, the body turns on **6** and you face your partner again on **7**.
""",
                ),
                DemoLesson(
                    "cross-body-lead",
                    "Cross-body lead",
                    VIDEO,
                    10,
                    """\
The cross-body lead is the move most salsa figures grow from. The leader opens a lane on
1-2-3; the follower walks through it on 5-6-7 and turns to face the leader again.

*Common mistake:* leaders who step back instead of to the side close the lane.
""",
                ),
                DemoLesson(
                    "practice-lab",
                    "Practice lab: eight minutes a day",
                    LAB,
                    8,
                    """\
Set a timer and work through this every day for a week:

- [2 min] basic step on the spot, eyes closed;
- [2 min] basic step travelling forward and back;
- [2 min] right turns, alternating speed;
- [2 min] free dancing: just have fun.

Film yourself on day 1 and day 7 and compare.
""",
                ),
                DemoLesson(
                    "boss-first-routine",
                    "Boss: your first 32-count routine",
                    VIDEO,
                    12,
                    """\
## Put it all together

Four eights, no breaks:

1. Basic step (one eight).
2. Right turn (one eight).
3. Cross-body lead (one eight).
4. Basic step to finish, with a smile.

Record yourself dancing the routine to a full song. Congratulations: you can dance salsa!
""",
                    boss=True,
                    xp=50,
                ),
            ),
        ),
    ),
)


PYTHON = DemoCourse(
    slug="python-for-beginners",
    title="Python for Beginners",
    subtitle="Write your first programs, one small idea at a time",
    description="""\
A gentle introduction to programming with Python for people who have never written
code. Every lesson ends with something you can run.

You need Python 3.11 or newer. Type `python3 --version` in a terminal to check.
""",
    course_type=Course.CourseType.TOPIC,
    difficulty=Course.Difficulty.BEGINNER,
    visibility=Course.Visibility.MEMBERS,
    sections=(
        DemoSection(
            "First steps",
            (
                DemoLesson(
                    "hello-python",
                    "Hello, Python",
                    VIDEO,
                    7,
                    """\
## Your first program

Open a terminal, start Python with `python3` and type:

```python
print("Hello, dancer!")
```

`print` is a **function**: it takes what is between the brackets and shows it.
""",
                    free_preview=True,
                ),
                DemoLesson(
                    "variables-and-types",
                    "Variables and types",
                    TEXT,
                    10,
                    """\
A variable is a name for a value:

```python
name = "Ada"
age = 36
height = 1.65
```

| Value     | Type    |
|-----------|---------|
| `"Ada"`   | `str`   |
| `36`      | `int`   |
| `1.65`    | `float` |
| `True`    | `bool`  |

Use `type(age)` to ask Python what a value is.
""",
                ),
                DemoLesson(
                    "quiz-basics",
                    "Quiz: the basics",
                    QUIZ,
                    4,
                    """\
Three questions on printing, types and names. You have three attempts to pass;
once you pass (or have used them all) the explanations tell you why each answer is right.
""",
                ),
            ),
        ),
        DemoSection(
            "Making decisions",
            (
                DemoLesson(
                    "if-and-else",
                    "if and else",
                    VIDEO,
                    9,
                    """\
```python
temperature = 31
if temperature > 30:
    print("Too hot to dance outside.")
else:
    print("Let's go!")
```

The indented lines belong to the `if`. Python uses indentation where other languages
use braces.
""",
                ),
                DemoLesson(
                    "loops",
                    "Repeating with loops",
                    TEXT,
                    8,
                    """\
```python
for count in range(1, 9):
    print(count)
```

`range(1, 9)` gives the numbers 1 to 8: exactly one salsa phrase.
""",
                ),
                DemoLesson(
                    "boss-guessing-game",
                    "Boss lab: a number-guessing game",
                    LAB,
                    25,
                    """\
## Build it

Write `guess.py`:

```python
import random

secret = random.randint(1, 20)
while True:
    guess = int(input("Your guess: "))
    if guess == secret:
        print("You got it!")
        break
    print("Higher!" if guess < secret else "Lower!")
```

**Stretch goals:** count the guesses; refuse input that is not a number.
""",
                    boss=True,
                    xp=50,
                ),
            ),
        ),
    ),
)


NIGHT_SKY = DemoCourse(
    slug="contemporary-choreo-night-sky",
    title="Contemporary Choreo: Night Sky",
    subtitle="A floor-work choreography in four parts, taught count by count",
    description="""\
*Night Sky* is a slow, grounded contemporary piece set to a piano track. It builds
strength in floor transitions and control in suspension.

Open the first lesson for free; the full choreography is part of the **Advanced** tier.
""",
    course_type=Course.CourseType.CHOREO,
    difficulty=Course.Difficulty.INTERMEDIATE,
    visibility=Course.Visibility.PAID,
    tier_slug="advanced",
    sections=(
        DemoSection(
            "Warm-up",
            (
                DemoLesson(
                    "warm-up-and-breath",
                    "Warm-up and breath",
                    VIDEO,
                    11,
                    """\
Floor work asks a lot of wrists, knees and the lower back. Spend these eleven minutes
waking them up: roll through the spine, circle the wrists, and match every movement to
a slow breath in or out.
""",
                    free_preview=True,
                ),
                DemoLesson(
                    "floor-safety",
                    "Floor-work safety",
                    TEXT,
                    5,
                    """\
- Land on **soft** surfaces of the body: the side of the thigh, the back of the shoulder.
- Never land on a kneecap or an elbow point.
- Dance on a sprung floor or a mat, never on concrete.
""",
                ),
            ),
        ),
        DemoSection(
            "The choreography",
            (
                DemoLesson(
                    "part-1-falling-stars",
                    "Part 1: Falling stars",
                    VIDEO,
                    14,
                    """\
Counts 1-16. Start standing, spiral down to the floor on 5-8 and roll through on 9-12.
Rise on 13-16 with the arms leading the way up.
""",
                ),
                DemoLesson(
                    "part-2-orbit",
                    "Part 2: Orbit",
                    VIDEO,
                    13,
                    """\
Counts 17-32: a sitting pivot (an *orbit*) driven by the hips, not the hands.
Keep the gaze soft and let the arms trail the body.
""",
                ),
                DemoLesson(
                    "counts-quiz",
                    "Counts quiz",
                    QUIZ,
                    3,
                    """\
Check that the counts of the first eight have settled before the full run.
""",
                ),
                DemoLesson(
                    "boss-full-run",
                    "Boss: the full run-through",
                    LAB,
                    20,
                    """\
Dance the whole piece to the music three times in a row. Film the third run and watch
it back without sound: does the movement still tell the story?
""",
                    boss=True,
                    xp=60,
                ),
            ),
        ),
    ),
)


COURSES = (SALSA, PYTHON, NIGHT_SKY)


# Every structure rule in one course: sequential sections (each needs the one before), a
# section that opens 3 days after the learner enrolls, a hidden section (staff and the
# instructors only), and a section that names an earlier one as its prerequisite.
RULES_COURSE = DemoCourse(
    slug="bachata-step-by-step",
    title="Bachata Step by Step",
    subtitle="One step at a time: each part opens when you finish the one before",
    description="""\
Bachata is danced in a box of eight counts with a tap on 4 and 8. This course is
**sequential**: each part opens once you complete the part before it, and the practice
week opens **three days after you enroll**, so the steps have time to settle.

The routine also asks for the basic step, named as its prerequisite.
""",
    course_type=Course.CourseType.COURSE,
    difficulty=Course.Difficulty.BEGINNER,
    visibility=Course.Visibility.PUBLIC,
    progression=Course.Progression.SECTIONS,
    sections=(
        DemoSection(
            "Part 1: The basic step",
            (
                DemoLesson(
                    "bachata-basic-step",
                    "The basic step and the tap",
                    VIDEO,
                    7,
                    """\
Step side, together, side, **tap** on 4; then the same the other way, tapping on 8.
Keep the knees soft: the hips move because the knees do.
""",
                ),
                DemoLesson(
                    "bachata-counting",
                    "Counting bachata",
                    TEXT,
                    4,
                    """\
The guitar's *requinto* plays the melody; the bass and the güira keep the count.
Count `1 2 3 tap 5 6 7 tap` along with a slow track until the tap lands by itself.
""",
                ),
            ),
        ),
        DemoSection(
            "Part 2: Turns",
            (
                DemoLesson(
                    "bachata-right-turn",
                    "The right turn",
                    VIDEO,
                    8,
                    """\
The leader raises the left hand on 1; the follower turns on 2-3 and taps on 4 facing
the leader again. Spot, as in salsa, to keep your balance.
""",
                ),
            ),
        ),
        DemoSection(
            "Part 3: Practice week",
            (
                DemoLesson(
                    "bachata-practice-week",
                    "Practice lab: a week of short sessions",
                    LAB,
                    10,
                    """\
This part opens three days after you enroll. Each day:

- [3 min] the basic step, eyes closed;
- [3 min] right turns, both directions;
- [4 min] free dancing to one full song.
""",
                ),
            ),
            release_after_days=3,
        ),
        DemoSection(
            "Teacher's notes",
            (
                DemoLesson(
                    "bachata-teaching-notes",
                    "Notes for teaching this course",
                    TEXT,
                    3,
                    """\
Hidden from learners: staff and the course's instructors see it. Remind the class that
the practice week opens three days after each learner enrolled, not on a fixed date.
""",
                ),
            ),
            hidden=True,
        ),
        DemoSection(
            "Part 4: Your first bachata routine",
            (
                DemoLesson(
                    "bachata-boss-routine",
                    "Boss: a 32-count bachata routine",
                    VIDEO,
                    12,
                    """\
Two eights of basic steps, one right turn, one more basic to finish. Dance it to a whole
song and film the last run.
""",
                    boss=True,
                    xp=50,
                ),
            ),
            prerequisites=("Part 1: The basic step",),
        ),
    ),
)

# One published learning path of demo courses, in the order to take them.
PATH = DemoPath(
    slug="social-dance-starter",
    title="Social Dance Starter",
    summary="Salsa, then bachata: the two dances of every Latin social night",
    description="""\
Start with **Salsa Foundations** for timing and turns, then take **Bachata Step by Step**.
Complete both to earn the path's certificate.
""",
    course_slugs=("salsa-foundations", RULES_COURSE.slug),
)

# Sample clips for every demo video lesson, so each course can be finished by watching with
# nothing configured (no Mux). Made once with ffmpeg and committed: media/demo_clips/README.md.
DEMO_CLIPS_DIR = Path(__file__).resolve().parents[2] / "media" / "demo_clips"
DEMO_CLIPS = (
    ("clip-1-colour-bars.webm", "Demo clip 1: colour bars"),
    ("clip-2-test-pattern.webm", "Demo clip 2: test pattern"),
    ("clip-3-mandelbrot.webm", "Demo clip 3: Mandelbrot zoom"),
    ("clip-4-gradients.webm", "Demo clip 4: gradients"),
)

LARGE_COURSE_SLUG = "demo-large"
LARGE_COURSE_LESSONS_PER_SECTION = 20
LARGE_COURSE_KINDS = (VIDEO, TEXT, QUIZ, LAB)


def large_lesson_slug(number: int) -> str:
    """The slug of the large course's lesson `number` (1-based), e.g. `drill-001`."""
    return f"drill-{number:03d}"
