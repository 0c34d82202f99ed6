"""The table of where and as whom to sign in (tapis-auth/tests/fixtures/settings_cases.json),
through this package: the library's and the ``tapis`` command's tests run the same cases."""

import json
import os
import re

import pytest

from tapis_connect import TapisConnectError, _native

CASES_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "tapis-auth", "tests", "fixtures", "settings_cases.json")
with open(CASES_FILE) as file:
    TABLE = json.load(file)


def _write_profiles(home):
    lines = []
    for name, fields in TABLE["profiles"].items():
        lines.append(f"[profiles.{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in fields.items())
    folder = home / ".config" / "tapis"
    folder.mkdir(parents=True)
    (folder / "profiles.toml").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("case", TABLE["cases"], ids=[case["name"] for case in TABLE["cases"]])
def test_every_case_of_the_table_resolves_as_in_the_library(case, tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    _write_profiles(tmp_path)
    for name, value in case.get("environment", {}).items():
        monkeypatch.setenv(name, value)
    caller = case.get("caller", {})
    arguments = {
        "token_file_path": caller.get("token_file"),
        "base_url": caller.get("base_url"),
        "username": caller.get("username", ""),
        "profile": caller.get("profile"),
    }
    if "expect_error" in case:
        with pytest.raises(TapisConnectError, match=re.escape(case["expect_error"])):
            _native.target(**arguments)
        return
    target = _native.target(**arguments)
    home = str(tmp_path)
    if target["token_file"].startswith(home):
        target["token_file"] = "~" + target["token_file"][len(home):]
    assert target == case["expect"]
