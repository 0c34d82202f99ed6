"""The environment, in the `tapis` command's order: an argument the caller gave wins, else
TAPIS_BASE_URL / TAPIS_TOKEN_FILE / TAPIS_PROFILE / TAPIS_USERNAME / TAPIS_PASSWORD, else the
named profile's settings, else the defaults; a valid TAPIS_TOKEN is used as it is."""

import os
import socket
import subprocess
import sys

import pytest

import tapis_connect
from conftest import tapis_binary
from tapis_connect import NotLoggedIn, TapisConnectError, connect_tapis, get_token

# Loopback, with nothing listening: a request there fails at once.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """A test that reached past loopback (say, DesignSafe's default) fails instead."""
    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"a connection to {address} left loopback")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(autouse=True)
def platform_folders(monkeypatch, tmp_path):
    """profiles.toml and the profiles' token files under the test's HOME."""
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return tmp_path


@pytest.fixture
def no_prompt(monkeypatch):
    """Nobody to ask: a login that needs a prompt raises NotLoggedIn at once."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def log_in(mock, token_file):
    return tapis_connect._native.connect(token_file, mock.base_url, mock.username, mock.password, False, 60)


def write_profiles(home, text):
    folder = home / ".config" / "tapis"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.toml").write_text(text)


def test_tapis_base_url_and_tapis_token_file_are_used_for_arguments_left_at_their_defaults(
    mock, token_file, monkeypatch, no_tapipy, no_prompt
):
    saved = log_in(mock, token_file)
    before = mock.total()
    monkeypatch.setenv("TAPIS_BASE_URL", mock.base_url)
    monkeypatch.setenv("TAPIS_TOKEN_FILE", token_file)

    token = connect_tapis()

    assert token.base_url == mock.base_url
    assert str(token.token_file) == token_file
    assert token.access_token == saved.access_token
    assert get_token() == saved.access_token
    assert mock.total() == before


def test_an_explicit_argument_beats_every_variable(mock, token_file, tmp_path, monkeypatch, no_tapipy, no_prompt):
    saved = log_in(mock, token_file)
    before = mock.total()
    write_profiles(tmp_path, f'[profiles.elsewhere]\nbase_url = "{NOWHERE}"\n')
    monkeypatch.setenv("TAPIS_BASE_URL", NOWHERE)
    monkeypatch.setenv("TAPIS_TOKEN_FILE", str(tmp_path / "other.json"))
    monkeypatch.setenv("TAPIS_PROFILE", "elsewhere")

    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert token.access_token == saved.access_token
    assert mock.total() == before
    assert not (tmp_path / "other.json").exists()


def test_the_default_url_given_explicitly_beats_tapis_base_url(token_file, monkeypatch, no_tapipy, no_prompt):
    monkeypatch.setenv("TAPIS_BASE_URL", NOWHERE)

    # Nothing saved and nobody to ask: it fails before any request, naming the server chosen.
    with pytest.raises(NotLoggedIn, match="designsafe.tapis.io"):
        connect_tapis(token_filePath=token_file, base_url="https://designsafe.tapis.io")


def test_a_valid_tapis_token_is_used_as_it_is_with_nothing_on_disk(mock, token_file, monkeypatch, no_tapipy, capsys):
    access, _ = mock.token("access", 3600)
    monkeypatch.setenv("TAPIS_TOKEN", access)
    monkeypatch.setenv("TAPIS_BASE_URL", mock.base_url)

    token = connect_tapis(token_filePath=token_file)

    assert token.access_token == access
    assert token.username == "jdoe" and token.tenant_id == "designsafe"
    assert get_token(token_filePath=token_file) == access
    assert not os.path.exists(token_file)
    assert mock.total() == 0
    assert f"Using the given token for {mock.base_url} as jdoe" in capsys.readouterr().out


def test_a_tapis_token_short_of_min_valid_is_passed_over_for_the_token_file(
    mock, token_file, monkeypatch, no_tapipy, capsys
):
    saved = log_in(mock, token_file)
    before = mock.total()
    short, _ = mock.token("access", 30)
    monkeypatch.setenv("TAPIS_TOKEN", short)
    monkeypatch.setenv("TAPIS_BASE_URL", mock.base_url)

    token = get_token(token_filePath=token_file, min_valid=60)

    assert token == saved.access_token
    assert mock.total() == before
    assert "note: TAPIS_TOKEN is valid only until" in capsys.readouterr().err


def test_force_connect_does_not_take_tapis_token(mock, token_file, monkeypatch, no_tapipy):
    access, _ = mock.token("access", 3600)
    monkeypatch.setenv("TAPIS_TOKEN", access)

    token = connect_tapis(
        token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret", force_connect=True
    )

    assert token.access_token != access
    assert mock.count("POST", "/v3/oauth2/tokens") >= 1


def test_a_tapis_token_from_another_server_is_passed_over_with_a_note(
    mock, token_file, monkeypatch, no_tapipy, capsys
):
    # The same rule as the command's: never sent elsewhere, the token file is used instead.
    access, _ = mock.token("access", 3600)
    monkeypatch.setenv("TAPIS_TOKEN", access)

    with pytest.raises(NotLoggedIn):
        connect_tapis(token_filePath=token_file, base_url=NOWHERE)
    assert f"note: TAPIS_TOKEN cannot be used: it was issued by {mock.base_url}" in capsys.readouterr().err


def test_a_bad_tapis_base_url_is_an_error_naming_the_variable(token_file, monkeypatch):
    monkeypatch.setenv("TAPIS_BASE_URL", "http://example.org")

    with pytest.raises(TapisConnectError, match="TAPIS_BASE_URL `http://example.org` cannot be used"):
        connect_tapis(token_filePath=token_file)


def test_tapis_profile_and_the_profile_argument_choose_the_server_file_and_username(
    mock, token_file, tmp_path, monkeypatch, no_tapipy, no_prompt
):
    write_profiles(
        tmp_path, f'[profiles.mock]\nbase_url = "{mock.base_url}"\nusername = "jdoe"\ntoken_file = "{token_file}"\n'
    )
    # The profile's username is used: only the password comes from the environment.
    monkeypatch.setenv("TAPIS_PASSWORD", "s3cret")

    first = connect_tapis(profile="mock")

    assert first.base_url == mock.base_url and first.username == "jdoe"
    assert str(first.token_file) == token_file
    before = mock.total()
    monkeypatch.setenv("TAPIS_PROFILE", "mock")
    assert connect_tapis().access_token == first.access_token
    assert mock.total() == before


def test_a_profile_without_a_token_file_uses_its_own_in_the_data_folder(mock, tmp_path, monkeypatch, no_tapipy):
    write_profiles(tmp_path, f'[profiles.mock]\nbase_url = "{mock.base_url}"\n')
    monkeypatch.setenv("TAPIS_PROFILE", "mock")

    token = connect_tapis(username="jdoe", password="s3cret")

    expected = tmp_path / ".local" / "share" / "tapis" / "tokens" / "mock.json"
    assert token.token_file == expected and expected.exists()


def test_a_profile_keeps_its_server_against_an_inherited_tapis_base_url(
    mock, token_file, tmp_path, monkeypatch, no_tapipy, no_prompt
):
    saved = log_in(mock, token_file)
    write_profiles(tmp_path, f'[profiles.mock]\nbase_url = "{mock.base_url}"\ntoken_file = "{token_file}"\n')
    monkeypatch.setenv("TAPIS_PROFILE", "mock")
    monkeypatch.setenv("TAPIS_BASE_URL", NOWHERE)

    with pytest.raises(TapisConnectError, match=f"the profile `mock` is for {mock.base_url}, but TAPIS_BASE_URL"):
        connect_tapis()
    # The base_url argument is the caller's word, as --base-url is on the command line.
    monkeypatch.setenv("TAPIS_BASE_URL", mock.base_url)
    assert connect_tapis().access_token == saved.access_token


def test_an_unknown_profile_is_an_error_naming_the_known_ones(tmp_path, monkeypatch, no_tapipy):
    write_profiles(tmp_path, '[profiles.tacc]\nbase_url = "https://tacc.tapis.io"\n')

    with pytest.raises(TapisConnectError, match="there is no profile `nope`; the profiles are `default` and, in .*, `tacc`"):
        connect_tapis(profile="nope")
    with pytest.raises(TapisConnectError, match="not a profile name"):
        connect_tapis(profile="../etc")


def test_a_script_run_by_tapis_exec_goes_to_the_server_exec_prepared(mock, token_file, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        "from tapis_connect import connect_tapis\n"
        "t = connect_tapis()\n"
        "print('RESULT', t.base_url, t.tenant_id, t.username, t.get_access_jwt() is not None)\n"
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ["HOME"],
        "TAPIS_BASE_URL": mock.base_url,
        "TAPIS_TOKEN_FILE": token_file,
        "TAPIS_USERNAME": "jdoe",
        "TAPIS_PASSWORD": "s3cret",
        "NO_COLOR": "1",
    }
    login = subprocess.run(
        [tapis_binary(), "login"], capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=120
    )
    assert login.returncode == 0, login.stderr
    before = mock.total()
    del environment["TAPIS_PASSWORD"], environment["TAPIS_USERNAME"]

    result = subprocess.run(
        [tapis_binary(), "exec", "--", sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert f"RESULT {mock.base_url} designsafe jdoe True" in result.stdout
    assert "Using the given token for" in result.stdout
    assert mock.total() == before


def test_the_cli_and_connect_tapis_read_a_profile_alike(mock, tmp_path, monkeypatch, no_tapipy):
    write_profiles(tmp_path, f'[profiles.mock]\nbase_url = "{mock.base_url}"\nusername = "jdoe"\n')
    token = connect_tapis(profile="mock", password="s3cret")
    before = mock.total()

    result = subprocess.run(
        [tapis_binary(), "--profile", "mock", "token"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ["HOME"], "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == token.access_token
    assert mock.total() == before
