"""Sign in to a Tapis v3 platform from Python and Jupyter.

``connect_tapis()`` is the DesignSafe notebooks' function of the same name, done by the Rust
library behind the ``tapis`` command: it reuses a saved token with no request, renews it
without a password, else asks (``input()`` / ``getpass``, at most 3 times), and saves the
token file 0600 and atomically under a lock shared with ``tapis``. This module only converts
its result into a tapipy client; the native module does the rest.
"""

import os

from tapis_connect import _native
from tapis_connect._native import (
    CredentialsRejected,
    NotLoggedIn,
    ServerUnavailable,
    TapisConnectError,
    Token,
    TokenFileError,
    __version__,
)

__all__ = [
    "connect_tapis",
    "get_token",
    "Token",
    "TapisConnectError",
    "NotLoggedIn",
    "CredentialsRejected",
    "ServerUnavailable",
    "TokenFileError",
]


def connect_tapis(
    token_filePath="~/.tapis_tokens.json",
    base_url="https://designsafe.tapis.io",
    username="",
    password="",
    force_connect=False,
):
    """Return a tapipy ``Tapis`` client signed in to ``base_url`` (a ``Token`` without tapipy)."""
    token = _native.connect(
        os.path.expanduser(token_filePath), base_url, username or "", password or "", bool(force_connect), 60
    )
    print(token.message)
    try:
        from tapipy.tapis import Tapis
    except ImportError:
        return token
    return Tapis(
        base_url=token.base_url,
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        client_id=token.client_id,
        client_key=token.client_key,
    )


def get_token(base_url="https://designsafe.tapis.io", token_filePath="~/.tapis_tokens.json", min_valid=60):
    """Return an access token string valid for at least ``min_valid`` seconds."""
    return _native.connect(os.path.expanduser(token_filePath), base_url, "", "", False, int(min_valid)).access_token
