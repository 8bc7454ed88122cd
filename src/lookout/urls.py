"""Database URLs shown to people, and the secrets a URL holds.

A URL's password can sit in its user part (`user:pass@host`) or in its query
(`?password=...`, Snowflake's `private_key_file_pwd=...`, a token). SQLAlchemy's
`render_as_string(hide_password=True)` masks only the first: every URL Lookout prints goes
through `display_url`, and `url_secrets` gives every secret a URL holds, so error texts
(which a driver may fill with its own copy of them) are redacted of each.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

__all__ = ["ambiguous_url", "display_url", "url_secrets"]

# query keys whose value is a secret, by how they end: password, sslpassword, *_pwd, passcode,
# client_secret, access_token, api_key, an inline private_key (not `sslkey` or
# `private_key_file`: paths)
_WORDS = r"(pass(word|wd|code)?|pwd|secret|token|credentials?|api_?key|private_key)"
_SECRET_KEY = re.compile(rf"(?i){_WORDS}$")
_HIDDEN = "***"
_PLACEHOLDER = "LOOKOUTHIDDENVALUE"  # URL-safe, replaced by _HIDDEN once rendered


def _parsed(url: str | URL) -> URL:
    return make_url(url) if isinstance(url, str) else url


def _secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def display_url(url: str | URL) -> str:
    """`url` to print: the password and every secret query value masked."""
    parsed = _parsed(url)
    query = {
        key: (_PLACEHOLDER if _secret_key(key) else value) for key, value in parsed.query.items()
    }
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return shown.replace(_PLACEHOLDER, _HIDDEN)


def url_secrets(url: str | URL) -> list[str]:
    """Every secret `url` holds (its password, secret query values), as written and decoded:
    what to redact from a text a driver wrote."""
    parsed = _parsed(url)
    found: list[str] = []
    if parsed.password:
        found.append(str(parsed.password))
    for key, value in parsed.query.items():
        if _secret_key(key):
            found += [value] if isinstance(value, str) else list(value)
    written = [quote(secret, safe="") for secret in found]
    return [secret for secret in dict.fromkeys([*found, *written]) if secret]


def ambiguous_url(url: str) -> str | None:
    """Why `url` cannot be read as its writer meant, without quoting any of it; None when it
    can. A password holding an `@` that is not URL-encoded ends at the first `@`: the rest
    becomes the host, and every message about that host prints the rest of the password."""
    parsed = _parsed(url)
    if parsed.host and "@" in parsed.host:
        return (
            "its user or password holds an '@' that is not URL-encoded (the host would be read "
            "from the middle of the password): write @ as %40 there, e.g. with Python's "
            "urllib.parse.quote(password, safe='')"
        )
    return None
