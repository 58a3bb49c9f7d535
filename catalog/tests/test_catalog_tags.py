import pytest

from catalog.templatetags.catalog_tags import duration, icon, iso_duration, lesson_count


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "0 sec"),
        (0, "0 sec"),
        (45, "45 sec"),
        (60, "1 min"),
        (90, "1 min 30 sec"),
        (600, "10 min"),
        (629, "10 min"),
        (630, "11 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (3929, "1 h 5 min"),
        (3930, "1 h 6 min"),
        (7170, "2 h"),
        (36000, "10 h"),
    ],
)
def test_durations_read_like_people_say_them(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "value"),
    [(0, "PT0S"), (45, "PT45S"), (90, "PT1M30S"), (3600, "PT1H"), (3905, "PT1H5M5S")],
)
def test_iso_durations_are_machine_readable(seconds, value):
    assert iso_duration(seconds) == value


def test_lesson_counts_are_pluralised():
    assert [lesson_count(n) for n in (0, 1, 2)] == ["0 lessons", "1 lesson", "2 lessons"]


def test_icons_are_decorative_svg():
    svg = icon("lock")
    assert svg.startswith('<svg class="icon"')
    assert 'aria-hidden="true"' in svg
