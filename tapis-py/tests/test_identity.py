"""The user asked for is part of the target: another user's saved tokens or client are not
used, and a forced login as another user never goes through their client. The mock records
which user each password grant was for and through which client (``mock.grants``). And the
tapipy client trusts the CA the sign-in trusted."""

import json

import pytest

from mock_tapis import MockTapis, private_ca
from tapis_connect import TapisConnectError, connect_tapis


def read(path):
    with open(path) as file:
        return json.load(file)


def test_another_users_saved_token_is_refused_before_any_request(mock, token_file, no_tapipy):
    mock.add_user("alice", "wonder")
    jdoe = connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret")
    with open(token_file, "rb") as file:
        before = file.read()
    requests_before = mock.total()

    with pytest.raises(TapisConnectError) as raised:
        connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="alice", password="wonder")

    message = str(raised.value)
    for part in ("holds the tokens of jdoe", "not of alice", "token_filePath=", "profile=", "force_connect=True"):
        assert part in message, message
    assert mock.total() == requests_before, "no request"
    with open(token_file, "rb") as file:
        assert file.read() == before, "the file is unchanged"
    # The user it belongs to still gets it, with no request.
    again = connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe")
    assert again.access_token == jdoe.access_token
    assert mock.total() == requests_before


def test_a_forced_login_as_another_user_never_uses_their_client_and_deletes_it(mock, token_file, no_tapipy, capsys):
    mock.add_user("alice", "wonder")
    connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret")
    jdoes_client = read(token_file)["client_id"]
    assert mock.grants == [("jdoe", None), ("jdoe", jdoes_client)]

    alice = connect_tapis(
        token_filePath=token_file, base_url=mock.base_url, username="alice", password="wonder", force_connect=True
    )

    assert alice.username == "alice"
    alices_client = read(token_file)["client_id"]
    assert alices_client != jdoes_client
    assert mock.grants[2:] == [("alice", None), ("alice", alices_client)], "never through jdoe's client"
    assert jdoes_client not in mock.clients, "jdoe's client was deleted with jdoe's token"
    assert f"deleted the OAuth client {jdoes_client}" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_the_tapipy_client_trusts_the_private_ca(tmp_path, token_file, monkeypatch, how):
    from tapipy.tapis import Tapis

    ca_file, cert_file, key_file = private_ca(tmp_path)
    # The sign-in (Rust, rustls) trusts SSL_CERT_FILE, as the command does.
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    if how == "environment":
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    with MockTapis(tls=(cert_file, key_file)) as mock:
        assert mock.base_url.startswith("https://")
        verify = ca_file if how == "argument" else None
        t = connect_tapis(
            token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret", verify=verify
        )
        assert isinstance(t, Tapis)

        jobs = t.jobs.getJobList()

        assert [job.uuid for job in jobs] == ["job-1"]
        assert t.verify == ca_file


def test_a_password_without_a_username_is_for_the_saved_user(mock, token_file, no_tapipy):
    # As for the command: the user of the token saved for this server.
    connect_tapis(token_filePath=token_file, base_url=mock.base_url, username="jdoe", password="s3cret")
    grants_before = len(mock.grants)

    token = connect_tapis(token_filePath=token_file, base_url=mock.base_url, password="s3cret", force_connect=True)

    assert token.username == "jdoe"
    assert [user for user, _ in mock.grants[grants_before:]] == ["jdoe"]
