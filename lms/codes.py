"""Human-friendly random codes (invites, join codes, certificates).

Upper-case letters and digits without the look-alikes (0/O, 1/I/L, U/V): safe in a URL, easy
to read aloud or type from a printed card. Ten characters give 29**10, about 4e14, codes.
"""

import secrets
from collections.abc import Callable

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"


def readable_codes_generate(
    *, count: int, length: int, taken: Callable[[set[str]], set[str]]
) -> list[str]:
    """`count` distinct random codes of `length` characters, none of them in use.

    `taken` gets a set of candidates and returns those already in use: one query per round,
    and a second round is astronomically rare.
    """
    codes: set[str] = set()
    while len(codes) < count:
        candidates = {
            "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
            for _ in range(count - len(codes))
        } - codes
        codes |= candidates - taken(candidates)
    return sorted(codes)


def readable_code_generate(*, length: int, taken: Callable[[set[str]], set[str]]) -> str:
    """One random code of `length` characters that is not in use."""
    return readable_codes_generate(count=1, length=length, taken=taken)[0]
