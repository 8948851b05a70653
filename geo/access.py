"""Who is looking: the three roles, and the local credentials file.

Roles (what each may see is enforced in geo, by the selection's ``role``,
see :mod:`geo.disclosure`):

* ``analyst``: everything: incident points of every category, the rejects
  ledger with its raw rows, uploads, exports of incident-level data;
* ``officer``: maps, briefings and plans, with incident points of the
  categories that are not sensitive, aggregates of those that are;
* ``public``: aggregates only, with disclosure control always on: no
  points, no partner logs marked internal, no count below the threshold.

The credentials file is the embedded login that needs nothing external: a
TOML file of users, each with a role and an Argon2id password hash (the
OWASP-recommended password hash; ``argon2-cffi``'s defaults), written only
by :func:`add_user` (``python -m geo users add NAME --role officer``).
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Final, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo.errors import GeoInputError

__all__ = [
    "ROLES",
    "USERS_ENV",
    "USERS_FILE",
    "Role",
    "add_user",
    "check_role",
    "read_users",
    "verify_user",
]

Role = Literal["analyst", "officer", "public"]
#: The roles, most to least trusted.
ROLES: Final[tuple[Role, ...]] = ("analyst", "officer", "public")
#: The credentials file's default name, and the variable that moves it.
USERS_FILE: Final = "hotspot-users.toml"
USERS_ENV: Final = "HOTSPOT_USERS"
_HEADER: Final = (
    "# Hotspot Atlas users, written by `python -m geo users add`: edit with that command.\n"
    "# Each password is an Argon2id hash; the passwords themselves are not kept.\n"
)
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_HASHER = PasswordHasher()
#: Verified against when the name is unknown, so that a wrong name takes as
#: long as a wrong password (no telling which names exist by timing).
_DUMMY: Final = _HASHER.hash("not a password anyone has")


def check_role(role: str) -> Role:
    """Return ``role`` if it is one of :data:`ROLES`.

    Parameters
    ----------
    role
        ``analyst``, ``officer`` or ``public``.

    Returns
    -------
    str
        The role.

    Raises
    ------
    GeoInputError
        For anything else, naming the roles.

    Examples
    --------
    >>> check_role("officer")
    'officer'
    """
    if role not in ROLES:
        msg = f"`role` was {role!r}; allowed: {', '.join(ROLES)}."
        raise GeoInputError(msg)
    return role


def read_users(path: str | Path) -> dict[str, dict[str, str]]:
    """Return the users of a credentials file: name → ``{"role", "password"}``.

    Parameters
    ----------
    path
        The file (``hotspot-users.toml``).

    Returns
    -------
    dict
        Empty when the file does not exist.

    Raises
    ------
    GeoInputError
        If the file is not a credentials file this tool wrote.
    """
    path = Path(path)
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.startswith(_HEADER.splitlines()[0]):
        msg = (
            f"{path} is not a Hotspot Atlas users file (it lacks the first line "
            "`python -m geo users add` writes). Point HOTSPOT_USERS at another file."
        )
        raise GeoInputError(msg)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc}); recreate it with `python -m geo users add`."
        raise GeoInputError(msg) from exc
    users = doc.get("users", {})
    return {
        str(name): {
            "role": str(entry.get("role", "")),
            "password": str(entry.get("password", "")),
        }
        for name, entry in users.items()
        if isinstance(entry, dict)
    }


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_user(path: str | Path, name: str, password: str, role: str) -> None:
    """Add a user to the credentials file, or give an existing one a new password and role.

    The file is written whole to a temporary name beside it and renamed over
    it (never half-written), readable by its owner only.

    Parameters
    ----------
    path
        The credentials file; created when missing.
    name
        Letters, digits and ``. _ @ -``, at most 64.
    password
        At least 12 characters.
    role
        One of :data:`ROLES`.

    Raises
    ------
    GeoInputError
        For a bad name, a short password, an unknown role, or a file that
        is not a credentials file this tool wrote (it is never overwritten).
    """
    path = Path(path)
    role = check_role(role)
    if not _NAME.match(name):
        msg = f"`name` {name!r}: use letters, digits and . _ @ - (at most 64)."
        raise GeoInputError(msg)
    if len(password) < 12:
        msg = "The password must be at least 12 characters (a passphrase of three or four words is best)."
        raise GeoInputError(msg)
    users = read_users(path)
    users[name] = {"role": role, "password": _HASHER.hash(password)}
    body = "".join(
        f"\n[users.{_toml_string(n)}]\nrole = {_toml_string(u['role'])}\n"
        f"password = {_toml_string(u['password'])}\n"
        for n, u in sorted(users.items())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_HEADER + body)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify_user(path: str | Path, name: str, password: str) -> Role | None:
    """Return the user's role when the name and password match, else ``None``.

    Parameters
    ----------
    path
        The credentials file.
    name, password
        As typed.

    Returns
    -------
    str or None
        The role, or ``None`` for an unknown name or a wrong password (the
        two take the same time and give the same answer).
    """
    user = read_users(path).get(name)
    stored = user["password"] if user else _DUMMY
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or user["role"] not in ROLES:
        return None
    return user["role"]
