"""Learning paths: an ordered list of courses with its own page, progress across its courses
and a path certificate once every course is completed."""
