"""Database URLs in messages: masked, and refused when their credentials are ambiguous."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# What to do about a URL whose user or password holds a character the URL syntax uses.
ENCODE_ADVICE = (
    "percent-encode special characters in the user name and password "
    "(@ as %40, : as %3A, / as %2F, # as %23)"
)


def ambiguous_credentials(url: str) -> bool:
    """Whether the URL has more than one '@' outside a SQLite file path: then no parser can
    tell where the password ends, and any reading of it may put part of the password in the
    host (and so in messages). Such a URL is refused, never guessed at."""
    scheme, sep, rest = url.partition("://")
    return bool(sep) and not scheme.startswith("sqlite") and rest.count("@") > 1


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs; nothing of a URL whose
    credentials cannot be told apart from its host."""
    if ambiguous_credentials(url):
        return "<database URL not shown: its user or password has an unencoded @>"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"
