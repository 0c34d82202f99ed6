"""Ctrl-C stops connect_tapis() while it waits, with KeyboardInterrupt, and leaves nothing behind."""

import fcntl
import os
import signal
import subprocess
import sys

# A script that signs in, with a password, while the test holds the token file's lock, and
# says how it ended.
SCRIPT = r"""
import sys
import tapis_connect._native as native
try:
    native.connect(sys.argv[1], sys.argv[2], "jdoe", "s3cret", False, 60)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(0)
print("no KeyboardInterrupt", flush=True)
sys.exit(1)
"""

# How long the child may take to answer the SIGINT: far below the lock wait (2 minutes).
BOUND_SECONDS = 20


def test_ctrl_c_during_a_lock_wait_raises_keyboard_interrupt(mock, token_file):
    lock_file = os.open(token_file + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        environment = dict(os.environ, TAPIS_DEBUG="1")
        child = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, token_file, mock.base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        try:
            # The debug log says when the child starts waiting for the lock: only then is the
            # signal sent, so that it arrives during the wait, not before it.
            seen = []
            for line in child.stderr:
                seen.append(line)
                if "is held by another process; waiting" in line:
                    break
            assert seen and "waiting" in seen[-1], "".join(seen)
            child.send_signal(signal.SIGINT)
            printed, errors = child.communicate(timeout=BOUND_SECONDS)
        finally:
            child.kill()
            child.wait()
    finally:
        os.close(lock_file)

    assert child.returncode == 0, (printed, errors)
    assert printed.strip() == "KeyboardInterrupt"
    assert mock.total() == 0
    assert not os.path.exists(token_file), "nothing is written"
