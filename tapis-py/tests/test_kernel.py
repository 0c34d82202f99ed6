"""connect_tapis() in a real IPython kernel, driven as Jupyter drives it: the prompts arrive
as `input_request` messages, a plain one for the username and a masked one for the password."""

import os
import sys

import jupyter_client.manager
import pytest


@pytest.fixture
def kernel(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TAPIS_") and key != "JPY_PARENT_PID"
    }
    environment["HOME"] = str(tmp_path)
    manager, client = jupyter_client.manager.start_new_kernel(
        kernel_name="python3", env=environment, cwd=str(tmp_path), startup_timeout=120
    )
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_cell(client, code, allow_stdin, stdin_hook=None):
    """Executes a cell; returns (reply content, text it printed)."""
    printed = []

    def output_hook(message):
        content = message["content"]
        if message["msg_type"] == "stream":
            printed.append(content["text"])
        elif message["msg_type"] == "error":
            printed.append(f"{content['ename']}: {content['evalue']}")

    reply = client.execute_interactive(
        code,
        allow_stdin=allow_stdin,
        stdin_hook=stdin_hook,
        output_hook=output_hook,
        timeout=120,
    )
    return reply["content"], "".join(printed)


def test_a_notebook_cell_asks_in_the_notebook_and_gets_a_tapipy_client(kernel, mock, token_file):
    asked = []

    def stdin_hook(message):
        content = message["content"]
        asked.append((content["prompt"], content["password"]))
        kernel.input(mock.password if content["password"] else mock.username)

    code = (
        "from tapis_connect import connect_tapis\n"
        f"t = connect_tapis(token_filePath={token_file!r}, base_url={mock.base_url!r})\n"
        "print(type(t).__module__, [job.uuid for job in t.jobs.getJobList()])\n"
    )
    reply, printed = run_cell(kernel, code, allow_stdin=True, stdin_hook=stdin_hook)

    assert reply["status"] == "ok", printed
    assert asked == [(f"Username for {mock.base_url}: ", False), ("Password for jdoe: ", True)]
    assert f"Logged in to {mock.base_url} as jdoe. Token saved to {token_file}" in printed
    assert "tapipy.tapis ['job-1']" in printed
    assert os.path.exists(token_file)

    # The next cell, or the next notebook, reuses the saved token: no prompt, no token request.
    tokens_before = mock.count("POST", "/v3/oauth2/tokens")
    reply, printed = run_cell(kernel, code, allow_stdin=True, stdin_hook=stdin_hook)
    assert reply["status"] == "ok", printed
    assert len(asked) == 2
    assert "Already logged in to" in printed
    assert mock.count("POST", "/v3/oauth2/tokens") == tokens_before


def test_a_kernel_without_input_raises_not_logged_in(kernel, mock, token_file):
    code = (
        "from tapis_connect import connect_tapis\n"
        f"connect_tapis(token_filePath={token_file!r}, base_url={mock.base_url!r})\n"
    )
    reply, printed = run_cell(kernel, code, allow_stdin=False)

    assert reply["status"] == "error"
    assert reply["ename"] == "NotLoggedIn", printed
    # The command's words, with the package's ways out.
    assert "nobody can be asked for a password here" in reply["evalue"], reply["evalue"]
    assert "log in once from a notebook or with `tapis login`" in reply["evalue"], reply["evalue"]
    assert mock.total() == 0
    assert not os.path.exists(token_file)


def test_the_kernel_runs_this_python(kernel):
    reply, printed = run_cell(kernel, "import sys; print(sys.prefix)", allow_stdin=False)

    assert printed.strip() == sys.prefix
