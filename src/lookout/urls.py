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
_WORDS = (
    r"(pass(word|wd|code)?|pwd|secret|token|credentials?|credentials_(base64|info|json)|"
    r"api_?key|private_key|odbc_connect)"
)
_SECRET_KEY = re.compile(rf"(?i){_WORDS}$")
# a password inside an ODBC connection string (`odbc_connect=...;PWD=...;`)
_ODBC_PASSWORD = re.compile(r"(?i)\b(?:pwd|password)=([^;]*)")
# values of secret-named keys that are flags, not secrets (Snowflake's
# `client_store_temporary_credential=true`): redacting `true` would blank every `true`
_NOT_SECRETS = frozenset({"true", "false", "True", "False", "yes", "no", "on", "off", "0", "1"})
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
            values = [value] if isinstance(value, str) else list(value)
            found += values
            if key.lower() == "odbc_connect":
                found += [m.group(1) for v in values for m in _ODBC_PASSWORD.finditer(v)]
    found = [s for s in found if s not in _NOT_SECRETS and (s == parsed.password or len(s) >= 3)]
    written = [quote(secret, safe="") for secret in found]
    return [secret for secret in dict.fromkeys([*found, *written]) if secret]


def ambiguous_url(url: str) -> str | None:
    """Why `url` cannot be read as its writer meant, without quoting any of it; None when it
    can. A password holding an `@` that is not URL-encoded ends at the first `@`: the rest
    becomes the host, and every message about that host prints the rest of the password."""
    parsed = _parsed(url)
    # an encoded user and password hold no raw `@`: one more than the `@` that ends them is
    # part of a password (`u:sec@ret/part@h` reads as host `ret`, database `part@h/db`)
    if parsed.password is not None and url.partition("://")[2].count("@") > 1:
        return (
            "its user or password holds an '@' that is not URL-encoded (the host would be read "
            "from the middle of the password): write @ as %40 there (and / ? # as %2F %3F %23), "
            "e.g. with Python's urllib.parse.quote(password, safe='')"
        )
    return None
