"""Reading the addresses staff paste into a cohort's "Add learners" box.

People paste from spreadsheets, mail clients and chat: addresses come separated by commas,
semicolons, spaces or new lines, wrapped in names and brackets (`Ana Lopez <ana@x.org>`),
quotes or `mailto:` links. Everything that is not an address is stray text and ignored, so
a pasted "To:" line just works; but a token that was clearly meant as an address (it has an
"@", or it looks like a domain whose "@" was lost) and is not a valid one is handed back,
so a typo is never silently dropped.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from lms.errors import ApplicationError, ErrorCode

# Commas, semicolons and any whitespace (new lines, tabs, no-break spaces) separate tokens.
_SEPARATORS = re.compile(r"[,;\s]+")
# What wraps an address in pasted text: brackets, quotes, and punctuation that ends a sentence.
_WRAPPING = "<>()[]{}\"'`“”‘’«»:.!?"
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
# A word without "@" that looks like a host name ("ana.example.org"): an address that lost
# its "@", reported rather than ignored like the words of a name.
_HOST_LIKE = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)


def _unwrap(token: str) -> str:
    """The token without what surrounds an address: a `mailto:` prefix (and its query),
    brackets, quotes, trailing punctuation."""
    token = token.strip(_WRAPPING)
    if _MAILTO.match(token):
        token = _MAILTO.sub("", token).split("?", 1)[0].strip(_WRAPPING)
    # "Ana <ana@x.org>" split on spaces leaves "<ana@x.org>"; "name<ana@x.org>" keeps the
    # name glued on: the part in angle brackets is the address.
    if "<" in token:
        token = token.rsplit("<", 1)[1].strip(_WRAPPING)
    return token


def _is_address(candidate: str) -> bool:
    try:
        validate_email(candidate)
    except ValidationError:
        return False
    return True


def addresses_parse(text: str, *, limit: int | None = None) -> tuple[list[str], list[str]]:
    """The distinct addresses in `text`, in the order first seen, lower-cased (accounts and
    invites compare addresses without regard to case), and the tokens that look meant as
    addresses but are not valid ones (as typed, each once).

    More than `limit` addresses (default `LMS_COHORT_BULK_MAX`) is refused with
    COHORT_ADD_TOO_MANY, before anything is written: a paste that large is more likely a
    wrong file than a class.
    """
    limit = settings.LMS_COHORT_BULK_MAX if limit is None else limit
    emails: dict[str, None] = {}
    rejected: dict[str, None] = {}
    for raw in _SEPARATORS.split(text or ""):
        token = _unwrap(raw)
        if not token:
            continue
        if "@" in token:
            if _is_address(token):
                emails.setdefault(token.lower(), None)
            else:
                rejected.setdefault(token, None)
        elif _HOST_LIKE.match(token):
            rejected.setdefault(token, None)
        # Anything else is a word of a name or a label ("To", "Ana"): stray text.
    if len(emails) > limit:
        raise ApplicationError(
            ErrorCode.COHORT_ADD_TOO_MANY,
            _(
                "This paste has %(count)d addresses; add at most %(limit)d at a time "
                "(split the list and add the rest in a second paste)."
            )
            % {"count": len(emails), "limit": limit},
        )
    return list(emails), list(rejected)
