"""Fixtures: a mock Tapis per test, a private token file, an environment without TAPIS_*
variables, and scripted prompts."""

import io
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mock_tapis import MockTapis  # noqa: E402


@pytest.fixture
def mock():
    with MockTapis() as server:
        yield server


@pytest.fixture
def token_file(tmp_path):
    return str(tmp_path / "tokens.json")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No TAPIS_* variable from the caller, and a HOME of the test's own."""
    for name in list(os.environ):
        if name.startswith("TAPIS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal (pytest's own says it is not)."""

    def isatty(self):
        return True


class Prompts:
    """Scripted answers for `input()` and `getpass.getpass()`, and the prompts that were asked."""

    def __init__(self, username, passwords):
        self.username = username
        self.passwords = list(passwords)
        self.asked = []

    def input(self, prompt=""):
        self.asked.append(("input", prompt))
        return self.username

    def getpass(self, prompt="Password: ", stream=None):
        self.asked.append(("getpass", prompt))
        answer = self.passwords.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def count(self, kind):
        return sum(1 for asked, _ in self.asked if asked == kind)


@pytest.fixture
def prompts(monkeypatch):
    """Installs scripted prompts on an interactive stdin; set `.username` and `.passwords`."""
    import builtins
    import getpass

    scripted = Prompts("jdoe", ["s3cret"])
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(builtins, "input", scripted.input)
    monkeypatch.setattr(getpass, "getpass", scripted.getpass)
    return scripted


@pytest.fixture
def no_tapipy(monkeypatch):
    """Makes `import tapipy` fail, as where tapipy is not installed."""
    monkeypatch.setitem(sys.modules, "tapipy", None)
    monkeypatch.setitem(sys.modules, "tapipy.tapis", None)


def tapis_binary():
    """The `tapis` the wheel installed next to this Python."""
    path = os.path.join(os.path.dirname(sys.executable), "tapis")
    assert os.path.exists(path), f"the wheel did not install {path}"
    with open(path, "rb") as binary:
        assert binary.read(4) == b"\x7fELF", f"{path} is not the native binary"
    return path
