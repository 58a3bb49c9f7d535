"""Cohorts: named groups of a course's learners with a start date that drip release can
count from, filled in bulk by staff; and the notices sent when a scheduled section opens."""
