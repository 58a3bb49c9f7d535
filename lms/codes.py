"""Human-friendly random codes (invites, join codes, certificates).

Upper-case letters and digits without the look-alikes (0/O, 1/I/L, U/V): safe in a URL, easy
to read aloud or type from a printed card. Ten characters give 29**10, about 4e14, codes.
"""

import secrets
from collections.abc import Callable

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"


def readable_code_generate(*, length: int, taken: Callable[[str], bool]) -> str:
    """A random code of `length` characters that `taken` says is free.

    A clash is astronomically rare; the unique index behind `taken` would catch one anyway.
    """
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
        if not taken(code):
            return code
