"""Structure rules: prerequisites, sequential progression, scheduled release and hidden items.

`catalog.access` applies them after the tier check, so every surface that asks the access
policy (pages, API, playback, downloads, completion, sync, bundles) obeys the same answer.
The rules are authored on the course and its sections (`Course.progression`,
`Course.prerequisite_courses`, `Section.prerequisites`, `Section.release_*`, `is_hidden` on
sections and lessons); what the learner has done comes from `progress`, which sits above the
catalog, through the loader it registers at start-up (`learner_facts_loader_register`).

The semantics, in the order they are decided for a section:

1. Staff and the course's instructors bypass every rule (hidden items included).
2. A hidden section or lesson does not exist for learners (404), and hidden lessons never
   count towards completing a section or course.
3. A section staff unlocked early for this learner (`SectionUnlock`), or one they have
   already started (any progress on one of its lessons), is open: a rule added later never
   locks again what a learner has begun.
4. A prerequisite (another section, the previous section of a sequential course, or a
   prerequisite course) is met when the learner completed every published, visible,
   required lesson of it; one with no such lessons counts as met. An unmet one locks with
   `LOCKED_PREREQUISITE`, naming what to complete.
5. A scheduled section opens at its fixed instant, or `release_after_days` after the
   learner's enrollment (or their cohort's start day, midnight in the learner's time zone,
   when the section counts from the cohort and they are in one); both set, the later wins.
   Before that it locks with `LOCKED_UNTIL` and the instant (none yet for a learner who has
   not enrolled: the count has not started).

Sequential lessons (`progression = "lessons"`) add, within open sections, that each
required lesson needs the required lesson before it (in course order) completed; started
lessons stay open. Free-preview lessons skip the tier check only, not these rules.

The package: `facts` (what a learner has done, from `progress`), `rules` (a course's rules,
cached) and `decide` (one learner's locks).
"""

from catalog.structure.decide import (
    LOCK_PREREQUISITE,
    LOCK_UNTIL,
    Lock,
    Structure,
    course_structure_get,
    course_structure_plain,
    learner_facts_get,
    section_release_instant,
    structure_evaluate,
)
from catalog.structure.facts import (
    NO_FACTS,
    FactsLoader,
    LearnerFacts,
    learner_facts_loader_register,
)
from catalog.structure.rules import (
    CourseRules,
    SectionRules,
    course_rule_flags,
    course_rules_forget,
    course_rules_get,
    course_rules_invalidate,
    course_rules_prefetch,
    lesson_rule_flags,
    section_rule_flags,
)

__all__ = [
    "LOCK_PREREQUISITE",
    "LOCK_UNTIL",
    "NO_FACTS",
    "CourseRules",
    "FactsLoader",
    "LearnerFacts",
    "Lock",
    "SectionRules",
    "Structure",
    "course_rule_flags",
    "course_rules_forget",
    "course_rules_get",
    "course_rules_invalidate",
    "course_rules_prefetch",
    "course_structure_get",
    "course_structure_plain",
    "learner_facts_get",
    "learner_facts_loader_register",
    "lesson_rule_flags",
    "section_release_instant",
    "section_rule_flags",
    "structure_evaluate",
]
