"""Sign in to a Tapis v3 platform from Python and Jupyter.

``connect_tapis()`` is the DesignSafe notebooks' function of the same name, done by the Rust
library behind the ``tapis`` command: it reuses a saved token with no request, renews it
without a password, else asks (``input()`` / ``getpass``, at most 3 times), and saves the
token file 0600 and atomically under a lock shared with ``tapis``. This module only converts
its result into a tapipy client; the native module does the rest.

Every argument left at its default (``None`` or empty) is taken as the ``tapis`` command takes
it: from ``TAPIS_BASE_URL``, ``TAPIS_TOKEN_FILE``, ``TAPIS_PROFILE``, ``TAPIS_USERNAME`` and
``TAPIS_PASSWORD``, else from the named profile, else the defaults (DesignSafe and
``~/.tapis_tokens.json``); a valid ``TAPIS_TOKEN`` is used as it is. So a script run under
``tapis exec`` works where ``exec`` prepared it.
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
    token_filePath=None,
    base_url=None,
    username="",
    password="",
    force_connect=False,
    profile=None,
    verify=None,
):
    """Return a tapipy ``Tapis`` client signed in to ``base_url`` (a ``Token`` without tapipy).

    ``token_filePath`` defaults to ``TAPIS_TOKEN_FILE``, else the profile's, else
    ``~/.tapis_tokens.json``; ``base_url`` to ``TAPIS_BASE_URL``, else the profile's, else
    ``https://designsafe.tapis.io``; ``profile`` to ``TAPIS_PROFILE``. Building the client
    makes no request: it is given the tenant and the username from the token.

    A ``username`` (or ``TAPIS_USERNAME``) is the user asked for: tokens saved for another
    user are not used (a ``TapisConnectError`` names both users and the ways out)
    unless ``force_connect=True`` replaces them.

    The client trusts what the sign-in trusted: ``verify`` when given (a CA bundle's path, or
    ``False``), else the bundle named by ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``, else
    ``requests``' own (tapipy passes ``verify=True`` itself, which makes ``requests`` ignore
    those variables).
    """
    token = _native.connect(token_filePath, base_url, username or "", password or "", bool(force_connect), 60, profile)
    print(token.message)
    try:
        from tapipy.tapis import Tapis
    except ImportError:
        return token
    client = Tapis(
        base_url=token.base_url,
        # With the tenant given, tapipy does not list /v3/sites and /v3/tenants on every call;
        # with the username, libraries that take a ready client (DesignSafe's dapi) know the user.
        tenant_id=token.tenant_id,
        username=token.username,
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        client_id=token.client_id,
        client_key=token.client_key,
    )
    bundle = _ca_bundle(verify)
    if bundle is not None:
        client.verify = bundle
    return client


def _ca_bundle(verify):
    """The CA bundle (or ``False``) the tapipy client is to verify with; ``None`` for its default."""
    if verify is not None:
        return verify
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.environ.get(name)
        if path:
            return path
    return None


def get_token(base_url=None, token_filePath=None, min_valid=60, profile=None):
    """Return an access token string valid for at least ``min_valid`` seconds."""
    return _native.connect(token_filePath, base_url, "", "", False, int(min_valid), profile).access_token
