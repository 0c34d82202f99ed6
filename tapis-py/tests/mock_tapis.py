"""A mock Tapis tenant on 127.0.0.1, built to the wire format the real services speak.

It issues real RS256 JWTs (so tapipy, which checks signatures against the tenant's
``public_key``, accepts them), serves ``/v3/tenants`` and ``/v3/sites`` for tapipy, the
password and refresh grants, OAuth client creation, a jobs list and the systems service's
TMS credential calls (what DesignSafe's dapi makes when it is given a client), and counts
the requests per endpoint so that tests can assert "no request was made". It records which
user each password grant was for and through which OAuth client (``grants``), knows several
users (``add_user``), and serves HTTPS with a certificate of a private CA when given one
(``tls``, see ``private_ca``).
"""

import base64
import collections
import datetime as _datetime
import ipaddress
import json
import ssl
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT_ID = "designsafe"
WRONG_PASSWORD = "Invalid username/password combination."

_KEY = None


def _signing_key():
    """One RSA key per test session: generating one is the slow part."""
    global _KEY
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def _isoformat(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


class MockTapis:
    """The server's state: users, clients, issued refresh tokens and request counts."""

    def __init__(self, username="jdoe", password="s3cret", access_ttl=14400, tls=None):
        self.username = username
        self.password = password
        self.users = {username: password}
        self.grants = []  # (username, client_id or None) of each successful password grant
        self.access_ttl = access_ttl
        self.clients = {}  # client_id -> client_key
        self.client_owners = {}  # client_id -> the user who made it
        self.refresh_tokens = set()
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        key = _signing_key()
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            cert_file, key_file = tls
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def add_user(self, username, password):
        with self.lock:
            self.users[username] = password

    def count(self, method, path):
        with self.lock:
            return self.counts[(method, path)]

    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def token(self, token_type, ttl, client_id=None, username=None):
        """A signed JWT with the claims the real tokens service puts in."""
        exp = int(time.time()) + ttl
        claims = {
            "jti": str(uuid.uuid4()),
            "iss": f"{self.base_url}/v3/tokens",
            "sub": f"{username or self.username}@{TENANT_ID}",
            "tapis/tenant_id": TENANT_ID,
            "tapis/token_type": token_type,
            "tapis/delegation": False,
            "tapis/delegation_sub": None,
            "tapis/username": username or self.username,
            "tapis/account_type": "user",
            "exp": exp,
            "tapis/client_id": client_id,
            "tapis/grant_type": "password",
        }
        return jwt.encode(claims, self.private_pem, algorithm="RS256"), exp

    def token_result(self, client_id, username=None):
        access, access_exp = self.token("access", self.access_ttl, client_id, username)
        result = {
            "access_token": {
                "access_token": access,
                "expires_at": _isoformat(access_exp),
                "expires_in": self.access_ttl,
                "jti": str(uuid.uuid4()),
            }
        }
        if client_id:
            refresh, refresh_exp = self.token("refresh", 31536000, client_id, username)
            with self.lock:
                self.refresh_tokens.add(refresh)
            result["refresh_token"] = {
                "refresh_token": refresh,
                "expires_at": _isoformat(refresh_exp),
                "expires_in": 31536000,
                "jti": str(uuid.uuid4()),
            }
        return result

    def valid_access_token(self, token):
        try:
            claims = jwt.decode(token, self.public_pem, algorithms=["RS256"])
        except jwt.PyJWTError:
            return None
        return claims if claims.get("tapis/token_type") == "access" else None


def _envelope(result, message="success", status="success"):
    return {"message": message, "metadata": {}, "result": result, "status": status, "version": "mock"}


def _handler(mock):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code, body, content_type="application/json"):
            data = json.dumps(body).encode() if content_type == "application/json" else body.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, message, code=400):
            self._send(code, _envelope(None, message, "error"))

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _basic_client(self):
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None, None
            client_id, _, client_key = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, client_key

        def _count(self, method):
            path = self.path.split("?", 1)[0]
            with mock.lock:
                mock.counts[(method, path)] += 1
            return path

        def do_GET(self):
            path = self._count("GET")
            if path == "/v3/tenants":
                self._send(200, _envelope([self._tenant()]))
            elif path == f"/v3/tenants/{TENANT_ID}":
                self._send(200, _envelope(self._tenant()))
            elif path == "/v3/sites":
                site = {"site_id": "tacc", "primary": True, "base_url": mock.base_url, "tenant_base_url_template": ""}
                self._send(200, _envelope([site]))
            elif path == "/v3/jobs/list":
                if mock.valid_access_token(self.headers.get("X-Tapis-Token", "")) is None:
                    self._send(401, "TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired", "text/plain")
                    return
                job = {"uuid": "job-1", "name": "mock-job", "status": "FINISHED", "appId": "app"}
                self._send(200, _envelope([job], "Jobs retrieved"))
            elif path.startswith("/v3/systems/") and path.count("/") == 3:
                if self._user() is None:
                    return
                system = {"id": path.rsplit("/", 1)[1], "defaultAuthnMethod": "TMS_KEYS", "canExec": True}
                self._send(200, _envelope(system, "System retrieved"))
            else:
                self._error(f"no such path {path}", 404)

        def _user(self):
            """The claims of a valid X-Tapis-Token, else None after answering as the Java services do."""
            claims = mock.valid_access_token(self.headers.get("X-Tapis-Token", ""))
            if claims is None:
                self._send(401, "TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired", "text/plain")
            return claims

        def do_POST(self):
            path = self._count("POST")
            body = self._body()
            if path == "/v3/oauth2/tokens":
                self._tokens(body)
            elif path.startswith("/v3/systems/credential/") and path.endswith("/check"):
                # No credential yet: the systems service answers 404.
                if self._user() is not None:
                    self._error("TAPIS_NOT_FOUND credential not found", 404)
            elif path.startswith("/v3/systems/credential/"):
                if self._user() is not None:
                    self._send(200, _envelope(None, "Credential created"))
            elif path == "/v3/oauth2/clients":
                claims = mock.valid_access_token(self.headers.get("X-Tapis-Token", ""))
                if claims is None:
                    self._error("Invalid Tapis token.")
                    return
                client_id = body.get("client_id") or f"client-{uuid.uuid4().hex[:8]}"
                client_key = uuid.uuid4().hex
                with mock.lock:
                    mock.clients[client_id] = client_key
                    mock.client_owners[client_id] = claims["tapis/username"]
                result = {
                    "client_id": client_id,
                    "client_key": client_key,
                    "callback_url": "",
                    "description": body.get("description", ""),
                    "display_name": body.get("display_name", ""),
                    "owner": claims["tapis/username"],
                    "tenant_id": TENANT_ID,
                    "active": True,
                }
                self._send(200, _envelope(result, "Client created successfully."))
            else:
                self._error(f"no such path {path}", 404)

        def do_DELETE(self):
            path = self._count("DELETE")
            client_id = path.rsplit("/", 1)[1]
            claims = mock.valid_access_token(self.headers.get("X-Tapis-Token", ""))
            if not path.startswith("/v3/oauth2/clients/") or claims is None:
                self._error(f"no such path {path}", 404)
                return
            with mock.lock:
                owner = mock.client_owners.get(client_id)
                if owner == claims["tapis/username"]:
                    del mock.clients[client_id]
                    del mock.client_owners[client_id]
            if owner != claims["tapis/username"]:
                self._error(f"client {client_id} not found", 404)
                return
            self._send(200, _envelope(None, "Client deleted."))

        def _tenant(self):
            return {
                "tenant_id": TENANT_ID,
                "base_url": mock.base_url,
                "token_service": f"{mock.base_url}/v3/tokens",
                "security_kernel": f"{mock.base_url}/v3/security",
                "authenticator": f"{mock.base_url}/v3/oauth2",
                "public_key": mock.public_pem,
                "site_id": "tacc",
                "status": "active",
                "description": "mock",
            }

        def _tokens(self, body):
            client_id, client_key = self._basic_client()
            if client_id is not None and mock.clients.get(client_id) != client_key:
                self._error(f"Invalid client credentials: {client_id}, [key]. session: mock")
                return
            grant = body.get("grant_type")
            if grant == "password":
                username = body.get("username")
                if username not in mock.users or body.get("password") != mock.users[username]:
                    self._error(WRONG_PASSWORD)
                    return
                with mock.lock:
                    mock.grants.append((username, client_id))
                self._send(200, _envelope(mock.token_result(client_id, username), "Token created successfully."))
            elif grant == "refresh_token":
                if client_id is None:
                    self._error("Invalid client credentials: missing. session: mock")
                    return
                refresh = body.get("refresh_token")
                with mock.lock:
                    known = refresh in mock.refresh_tokens
                    mock.refresh_tokens.discard(refresh)
                if not known:
                    self._error("Invalid refresh_token.")
                    return
                self._send(200, _envelope(mock.token_result(client_id), "Token created successfully."))
            elif grant is None:
                self._error("Missing the required grant_type parameter.")
            else:
                self._error(f"Invalid grant_type ({grant}); this grant type is not allowed for this tenant.")

    return Handler


def private_ca(folder):
    """A private certificate authority and a certificate it signed for 127.0.0.1, written to
    ``folder``: returns ``(ca_file, cert_file, key_file)``, all PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = _datetime.datetime.now(_datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tapis-connect test campus CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _datetime.timedelta(days=1))
        .not_valid_after(now + _datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _datetime.timedelta(days=1))
        .not_valid_after(now + _datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = [folder / "ca.pem", folder / "server.pem", folder / "server.key"]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tuple(str(path) for path in paths)
