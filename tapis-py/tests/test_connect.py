"""connect_tapis() and get_token() against a mock Tapis, in this process."""

import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

import tapis_connect
from conftest import tapis_binary
from mock_tapis import WRONG_PASSWORD
from tapis_connect import CredentialsRejected, NotLoggedIn, TapisConnectError, connect_tapis, get_token

TOKENS = "/v3/oauth2/tokens"
CLIENTS = "/v3/oauth2/clients"


def log_in(mock, token_file):
    """A first login with arguments, without tapipy in the way."""
    return tapis_connect._native.connect(token_file, mock.base_url, mock.username, mock.password, False, 60)


def read(token_file):
    with open(token_file) as file:
        return json.load(file)


def test_login_with_arguments_saves_a_private_file_bound_to_the_server(mock, token_file, no_tapipy, capsys):
    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret")

    assert isinstance(token, tapis_connect.Token)
    # The first login on a machine makes a personal client and logs in through it.
    assert mock.count("POST", TOKENS) == 2
    assert mock.count("POST", CLIENTS) == 1
    saved = read(token_file)
    assert saved["access_token"] == token.access_token
    assert saved["base_url"] == mock.base_url
    assert saved["refresh_token"] == token.refresh_token and token.refresh_token
    assert saved["client_id"] == token.client_id and saved["client_key"] == token.client_key
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert token.username == "jdoe"
    assert token.base_url == mock.base_url
    assert token.headers == {"X-Tapis-Token": token.access_token}
    assert token.expires_at.tzinfo is not None
    assert 14300 < (token.expires_at - datetime.now(timezone.utc)).total_seconds() <= 14400
    assert token.access_token not in repr(token) and "REDACTED" in repr(token)
    printed = capsys.readouterr().out
    assert f"Logged in to {mock.base_url} as jdoe. Token saved to {token_file}" in printed
    assert "left)" in printed


def test_a_saved_token_is_reused_with_no_request(mock, token_file, no_tapipy, capsys):
    first = log_in(mock, token_file)
    before = mock.total()

    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert mock.total() == before
    assert token.access_token == first.access_token
    assert "Already logged in to" in capsys.readouterr().out
    assert get_token(base_url=mock.base_url, token_filePath=token_file) == first.access_token
    assert mock.total() == before


def test_a_file_the_old_notebook_function_wrote_is_used_with_no_request(mock, token_file, no_tapipy):
    access, exp = mock.token("access", 3600)
    expires_at = datetime.fromtimestamp(exp, timezone.utc).isoformat()
    with open(token_file, "w") as file:
        json.dump({"access_token": access, "expires_at": expires_at}, file)
    os.chmod(token_file, 0o644)

    assert get_token(base_url=mock.base_url, token_filePath=token_file) == access
    assert mock.total() == 0


def test_get_token_renews_a_token_with_less_than_min_valid_left(mock, token_file):
    log_in(mock, token_file)
    # The saved token was obtained an hour ago and has two minutes left.
    saved = read(token_file)
    short, exp = mock.token("access", 120)
    saved["access_token"] = short
    saved["expires_at"] = datetime.fromtimestamp(exp, timezone.utc).isoformat()
    saved["obtained_at"] = datetime.fromtimestamp(exp - 3600, timezone.utc).isoformat()
    with open(token_file, "w") as file:
        json.dump(saved, file)
    before = mock.count("POST", TOKENS)

    renewed = get_token(base_url=mock.base_url, token_filePath=token_file, min_valid=600)

    assert renewed != short
    assert mock.count("POST", TOKENS) == before + 1
    assert read(token_file)["access_token"] == renewed


def test_a_fresh_token_is_not_renewed_for_a_margin_longer_than_any_token(mock, token_file, capsys):
    first = log_in(mock, token_file)
    before = mock.total()

    token = get_token(base_url=mock.base_url, token_filePath=token_file, min_valid=5 * 3600)

    assert token == first.access_token
    assert mock.total() == before
    assert "less than the 5h 00m it should stay valid for" in capsys.readouterr().err


def test_prompts_go_through_input_and_getpass(mock, token_file, prompts, no_tapipy):
    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert prompts.asked == [("input", f"Username for {mock.base_url}: "), ("getpass", "Password for jdoe: ")]
    assert read(token_file)["access_token"] == token.access_token


def test_an_argument_username_is_not_asked_for(mock, token_file, prompts, no_tapipy):
    connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe")

    assert prompts.asked == [("getpass", "Password for jdoe: ")]


def test_the_environment_credentials_are_used_as_the_cli_uses_them(mock, token_file, no_tapipy, monkeypatch):
    monkeypatch.setenv("TAPIS_USERNAME", "jdoe")
    monkeypatch.setenv("TAPIS_PASSWORD", "s3cret")

    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert token.username == "jdoe"


def test_three_wrong_passwords_raise_credentials_rejected_after_exactly_three_prompts(
    mock, token_file, prompts, no_tapipy, capsys
):
    prompts.passwords = ["wrong1", "wrong2", "wrong3", "never asked"]

    with pytest.raises(CredentialsRejected) as raised:
        connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert prompts.count("getpass") == 3
    assert mock.count("POST", TOKENS) == 3
    assert WRONG_PASSWORD in str(raised.value)
    assert str(raised.value).startswith(f"cannot log in to {mock.base_url}")
    assert isinstance(raised.value, TapisConnectError)
    talk = capsys.readouterr().err
    assert f"error: {WRONG_PASSWORD} (2 tries left)" in talk
    assert f"error: {WRONG_PASSWORD} (1 try left)" in talk
    assert not os.path.exists(token_file)


def test_supplied_credentials_are_tried_once(mock, token_file, no_tapipy):
    with pytest.raises(CredentialsRejected):
        connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="wrong")

    assert mock.count("POST", TOKENS) == 1


def test_with_no_way_to_prompt_not_logged_in_is_raised_at_once(mock, token_file, monkeypatch, no_tapipy):
    import builtins
    import getpass
    import io

    def must_not_prompt(*args, **kwargs):
        raise AssertionError("prompted where nobody can answer")

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(builtins, "input", must_not_prompt)
    monkeypatch.setattr(getpass, "getpass", must_not_prompt)

    with pytest.raises(NotLoggedIn) as raised:
        connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert "no terminal to ask for a password" in str(raised.value)
    assert mock.total() == 0


def test_a_closed_stdin_cannot_prompt_either(mock, token_file, monkeypatch, no_tapipy):
    monkeypatch.setattr(sys, "stdin", None)

    with pytest.raises(NotLoggedIn):
        connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert mock.total() == 0


def test_keyboard_interrupt_at_a_prompt_leaves_the_file_untouched(mock, token_file, prompts, no_tapipy):
    access, exp = mock.token("access", -3600)
    old = json.dumps({"access_token": access, "expires_at": datetime.fromtimestamp(exp, timezone.utc).isoformat()})
    with open(token_file, "w") as file:
        file.write(old)
    os.chmod(token_file, 0o600)
    prompts.passwords = [KeyboardInterrupt()]

    with pytest.raises(KeyboardInterrupt):
        connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    with open(token_file) as file:
        assert file.read() == old
    assert mock.count("POST", TOKENS) == 0


def test_a_bad_base_url_is_a_tapis_connect_error(token_file):
    with pytest.raises(TapisConnectError, match="base_url= `http://example.org` cannot be used"):
        connect_tapis(token_filePath=token_file, base_url="http://example.org")


def test_a_token_that_cannot_be_saved_is_returned_with_a_warning(mock, tmp_path, no_tapipy, capsys):
    # A dangling symbolic link where the token file should be: tokens are never written through it.
    token_file = tmp_path / "tokens.json"
    token_file.symlink_to(tmp_path / "elsewhere.json")
    token = connect_tapis(token_filePath=str(token_file), base_url=mock.base_url, username="jdoe", password="s3cret")

    assert token.access_token
    captured = capsys.readouterr()
    assert "the token is usable for this run only" in captured.err
    assert "but the token was not saved" in captured.out


def test_a_token_file_that_cannot_be_read_is_a_token_file_error_and_left_alone(mock, tmp_path, no_tapipy):
    # Only a missing file is "no token": a folder at the path cannot be read, and stays.
    token_file = tmp_path / "tokens.json"
    token_file.mkdir()
    (token_file / "inside").write_text("kept")

    with pytest.raises(tapis_connect.TokenFileError) as raised:
        connect_tapis(token_filePath=str(token_file), base_url=mock.base_url, username="jdoe", password="s3cret")

    assert "cannot read the token file" in str(raised.value)
    assert (token_file / "inside").read_text() == "kept"
    assert mock.total() == 0


def test_a_token_file_that_cannot_be_locked_is_a_token_file_error(mock, tmp_path, no_tapipy):
    (tmp_path / "not-a-folder").write_text("")
    token_file = str(tmp_path / "not-a-folder" / "tokens.json")

    with pytest.raises(tapis_connect.TokenFileError) as raised:
        connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret")

    assert "not-a-folder" in str(raised.value)
    assert mock.total() == 0


def test_the_prompts_never_open_dev_tty(mock, token_file, tmp_path):
    """In a new session (no controlling terminal, as in a kernel) with `open("/dev/tty")`
    failing, the login still succeeds: every prompt went through Python."""
    script = tmp_path / "login.py"
    script.write_text(
        f"""
import builtins, getpass, io, os, sys
real_open, real_os_open = builtins.open, os.open
def guard(path, *args, **kwargs):
    if str(path) == "/dev/tty":
        raise AssertionError("/dev/tty was opened")
    return real_open(path, *args, **kwargs)
def guard_os(path, *args, **kwargs):
    if str(path) == "/dev/tty":
        raise AssertionError("/dev/tty was opened")
    return real_os_open(path, *args, **kwargs)
builtins.open, os.open = guard, guard_os
class Terminal(io.StringIO):
    def isatty(self):
        return True
sys.stdin = Terminal()
asked = []
builtins.input = lambda prompt="": asked.append(prompt) or "jdoe"
getpass.getpass = lambda prompt="", stream=None: asked.append(prompt) or "s3cret"
sys.modules["tapipy"] = None
from tapis_connect import connect_tapis
token = connect_tapis(token_filePath={token_file!r}, base_url={mock.base_url!r})
print(asked)
"""
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, start_new_session=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert f"['Username for {mock.base_url}: ', 'Password for jdoe: ']" in result.stdout
    assert os.path.exists(token_file)


def run_tapis(mock, token_file, *args, **env):
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ["HOME"],
        "TAPIS_BASE_URL": mock.base_url,
        "TAPIS_TOKEN_FILE": token_file,
        "NO_COLOR": "1",
        **env,
    }
    return subprocess.run(
        [tapis_binary(), *args], capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=120
    )


def test_the_wheel_installs_the_native_tapis_binary():
    result = subprocess.run([tapis_binary(), "--version"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tapis {tapis_connect.__version__}"


def test_a_token_saved_by_connect_tapis_is_used_by_the_cli_with_no_request(mock, token_file, no_tapipy):
    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret")
    before = mock.total()

    result = run_tapis(mock, token_file, "token")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == token.access_token
    assert mock.total() == before


def test_a_token_saved_by_the_cli_is_used_by_connect_tapis_with_no_request(mock, token_file, no_tapipy):
    result = run_tapis(mock, token_file, "login", TAPIS_USERNAME="jdoe", TAPIS_PASSWORD="s3cret")
    assert result.returncode == 0, result.stderr
    before = mock.total()
    saved = read(token_file)

    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert token.access_token == saved["access_token"]
    assert token.client_id == saved["client_id"]
    assert mock.total() == before


def test_tapipy_gets_the_refresh_token_and_renews_after_expiry(mock, token_file):
    from tapipy.tapis import Tapis

    log_in(mock, token_file)  # makes the personal client
    mock.access_ttl = 1
    t = connect_tapis(
        token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret", force_connect=True
    )
    mock.access_ttl = 14400
    assert isinstance(t, Tapis)
    saved = read(token_file)
    assert t.client_id == saved["client_id"] and t.client_key == saved["client_key"]
    first_exp = t.access_token.claims["exp"]
    # Wait until the access token has expired: the jobs service now refuses it.
    time.sleep(max(0.0, first_exp - time.time()) + 0.2)
    refreshes_before = mock.count("POST", TOKENS)

    jobs = t.jobs.getJobList()

    assert [job.uuid for job in jobs] == ["job-1"]
    assert mock.count("POST", TOKENS) == refreshes_before + 1
    assert t.access_token.claims["exp"] > first_exp
    assert mock.count("GET", "/v3/jobs/list") == 1


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connects to from here on (loopback or not)."""
    import socket

    seen = []
    real_connect = socket.socket.connect

    def connect(self, address):
        seen.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def test_a_cached_connect_tapis_builds_the_tapipy_client_with_no_request(mock, token_file, connections):
    from tapipy.tapis import Tapis

    log_in(mock, token_file)
    before = mock.total()
    connections.clear()

    t = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    assert isinstance(t, Tapis)
    # Neither /v3/sites nor /v3/tenants, nor an OpenAPI spec download, nor anything else.
    assert mock.total() == before
    assert connections == []
    assert t.tenant_id == "designsafe"
    assert t.username == "jdoe"
    assert t.get_access_jwt() == read(token_file)["access_token"]


def test_dapi_takes_the_client_whole_and_sets_up_tms_credentials(mock, token_file, caplog):
    from dapi import DSClient

    log_in(mock, token_file)
    t = connect_tapis(token_filePath=token_file, base_url=mock.base_url)

    with caplog.at_level("DEBUG", logger="dapi"):
        ds = DSClient(tapis_client=t)

    assert ds.tapis is t
    assert "Could not determine username" not in caplog.text
    for system in ["frontera", "stampede3", "ls6"]:
        assert mock.count("GET", f"/v3/systems/{system}") == 1
        assert mock.count("POST", f"/v3/systems/credential/{system}/user/jdoe") == 1, system
    assert mock.count("GET", "/v3/tenants") == 0
