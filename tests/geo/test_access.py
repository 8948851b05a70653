"""The local credentials file: Argon2id hashes, roles, and never overwriting a foreign file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from geo.access import add_user, check_role, read_users, verify_user
from geo.cli import app
from geo.errors import GeoInputError

PASSWORD = "correct horse battery staple"


def test_a_user_signs_in_with_their_password_and_gets_their_role(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "olly", PASSWORD, "officer")
    add_user(path, "pat", PASSWORD + "!", "public")
    assert verify_user(path, "olly", PASSWORD) == "officer"
    assert verify_user(path, "pat", PASSWORD + "!") == "public"
    assert verify_user(path, "olly", PASSWORD + "!") is None
    assert verify_user(path, "nobody", PASSWORD) is None
    # The file holds Argon2id hashes an independent verifier accepts, never the password.
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    stored = read_users(path)["olly"]["password"]
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_new_password_replaces_the_old(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "ana", PASSWORD, "analyst")
    add_user(path, "ana", "a quite different passphrase", "officer")
    assert verify_user(path, "ana", PASSWORD) is None
    assert verify_user(path, "ana", "a quite different passphrase") == "officer"
    assert list(read_users(path)) == ["ana"]


def test_bad_names_roles_and_short_passwords_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    with pytest.raises(GeoInputError, match="at least 12 characters"):
        add_user(path, "ana", "short", "analyst")
    with pytest.raises(GeoInputError, match="allowed: analyst, officer, public"):
        add_user(path, "ana", PASSWORD, "admin")
    with pytest.raises(GeoInputError, match="use letters, digits"):
        add_user(path, 'ana"]\n[users.x', PASSWORD, "analyst")
    assert not path.exists()
    assert check_role("public") == "public"


def test_a_file_the_tool_did_not_write_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("[tool.other]\nkey = 1\n", encoding="utf-8")
    with pytest.raises(GeoInputError, match="not a Hotspot Atlas users file"):
        add_user(path, "ana", PASSWORD, "analyst")
    assert path.read_text(encoding="utf-8") == "[tool.other]\nkey = 1\n"


def test_users_add_on_the_command_line_asks_for_the_password_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users.toml"
    result = CliRunner().invoke(
        app,
        ["users", "add", "olly", "--role", "officer", "--file", str(path)],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert verify_user(path, "olly", PASSWORD) == "officer"
    listed = CliRunner().invoke(app, ["users", "list", "--file", str(path)])
    assert listed.output.split() == ["olly", "officer"]
    assert "$argon2" not in listed.output


def test_a_password_is_never_taken_as_an_argument(tmp_path: Path) -> None:
    """A password on the command line is visible in ps and the shell history."""
    path = tmp_path / "users.toml"
    refused = CliRunner().invoke(
        app, ["users", "add", "olly", "--password", PASSWORD, "--file", str(path)]
    )
    assert refused.exit_code != 0
    assert not path.exists()
    scripted = CliRunner().invoke(
        app,
        ["users", "add", "olly", "--password-stdin", "--file", str(path)],
        input=f"{PASSWORD}\n",
    )
    assert scripted.exit_code == 0, scripted.output
    assert verify_user(path, "olly", PASSWORD) == "officer"
