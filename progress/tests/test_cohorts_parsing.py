"""Reading pasted addresses: separators, stray text, duplicates, what is not an address."""

import pytest

from lms.errors import ApplicationError, ErrorCode
from progress.cohorts.parsing import addresses_parse


def test_commas_semicolons_spaces_tabs_and_new_lines_all_separate_addresses():
    text = "ana@x.org,bo@x.org; cy@x.org  di@x.org\tev@x.org\nfa@x.org\r\ngil@x.org,,;\n\n"

    emails, rejected = addresses_parse(text)

    assert emails == [
        "ana@x.org",
        "bo@x.org",
        "cy@x.org",
        "di@x.org",
        "ev@x.org",
        "fa@x.org",
        "gil@x.org",
    ]
    assert rejected == []


def test_names_brackets_quotes_and_mailto_links_around_addresses_are_ignored():
    text = (
        'To: Ana Lopez <ana@x.org>, "Bo, the drummer" <bo@x.org>; '
        "'cy@x.org' (Cy) mailto:di@x.org?subject=Welcome [ev@x.org]. "
        "Fa<fa@x.org> “gil@x.org”"
    )

    emails, rejected = addresses_parse(text)

    assert emails == [
        "ana@x.org",
        "bo@x.org",
        "cy@x.org",
        "di@x.org",
        "ev@x.org",
        "fa@x.org",
        "gil@x.org",
    ]
    assert rejected == []


def test_duplicates_are_folded_without_regard_to_case_keeping_the_first_order():
    emails, rejected = addresses_parse("Ana@X.org\nbo@x.org\nana@x.ORG, <ANA@x.org>\nbo@x.org")

    assert emails == ["ana@x.org", "bo@x.org"]
    assert rejected == []


def test_tokens_meant_as_addresses_that_are_not_valid_are_reported_once_each():
    text = "ana@x.org, bo@, @x.org, cy@@x.org, di@x, ev.x.org, fa@x.org, bo@, Mr Smith"

    emails, rejected = addresses_parse(text)

    assert emails == ["ana@x.org", "fa@x.org"]
    # Words of a name ("Mr", "Smith") are stray text; a host without its "@" is a typo.
    assert rejected == ["bo@", "@x.org", "cy@@x.org", "di@x", "ev.x.org"]


def test_an_empty_or_blank_paste_has_no_addresses():
    assert addresses_parse("") == ([], [])
    assert addresses_parse(" \n ,; \t") == ([], [])


def test_a_paste_over_the_maximum_is_refused_whole(settings):
    settings.LMS_COHORT_BULK_MAX = 3
    three = "a@x.org b@x.org c@x.org A@x.org"  # four tokens, three addresses
    assert addresses_parse(three)[0] == ["a@x.org", "b@x.org", "c@x.org"]

    with pytest.raises(ApplicationError) as raised:
        addresses_parse(three + " d@x.org")

    assert raised.value.code == ErrorCode.COHORT_ADD_TOO_MANY
    assert raised.value.message == (
        "This paste has 4 addresses; add at most 3 at a time "
        "(split the list and add the rest in a second paste)."
    )
