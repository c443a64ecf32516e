"""Submission tokens for forms: ``<issued>.<nonce>.<signature>``, the signature an HMAC-SHA256 over the form's
type, the issue time and the nonce under the desk's secret. No table holds them: any web process can check a
token another one issued. The token is also the submission's external id, so the same token submitted twice
finds the first submission.

The desk's secret: from the environment variable TESSERA_SECRET when set (every process of a desk spread over
machines must share it), else a random key created once in ``var/form-token.key`` beside the desk (the same
place the attachments live by default, which several processes on one machine already share).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

SECRET_ENV = "TESSERA_SECRET"
KEY_FILE = Path("var") / "form-token.key"
KEY_BYTES = 32
CLOCK_SKEW = 60  # seconds a token may seem to come from the future: processes' clocks differ a little
TOKEN_MAX = 200


class TokenRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def desk_key(root: Path, environ: Mapping[str, str] = os.environ) -> bytes:
    """The key tokens are signed with: derived from TESSERA_SECRET, else read from (or first written to) the
    key file under ``root``."""
    secret = environ.get(SECRET_ENV, "")
    if secret:
        # Derived, not used as it is: the same secret may sign other things, which must not pass for tokens.
        return hmac.new(secret.encode(), b"tessera form submission tokens", hashlib.sha256).digest()
    path = root / KEY_FILE
    if not path.exists():
        _create_key(path)
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        msg = f"{path} does not hold a key ({KEY_BYTES} bytes in hex): delete it to have a new one made"
        raise RuntimeError(msg)
    return key


def _create_key(path: Path) -> None:
    """Write a new key so that it appears whole or not at all, and the first of two racing processes wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".form-token-", dir=path.parent)  # readable by the owner only
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs counts
            os.link(temp, path)
    finally:
        os.unlink(temp)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FormTokens:
    def __init__(self, key: Callable[[], bytes], max_age: int, clock: Callable[[], float] = time.time) -> None:
        self._load_key = key
        self._key: bytes | None = None
        self.max_age = max_age
        self.clock = clock

    def issue(self, type_name: str) -> tuple[str, int]:
        """A new token for the form of ``type_name`` and the unix time it expires."""
        issued = int(self.clock())
        nonce = secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{self._sign(type_name, issued, nonce)}", issued + self.max_age

    def check(self, type_name: str, token: str) -> None:
        """Nothing when ``token`` was issued for this form and has not expired; else TokenRefused (403)."""
        parts = token.split(".") if len(token) <= TOKEN_MAX else []
        if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()) or not parts[1]:
            raise TokenRefused(403, "not a submission token of this desk: get one from GET "
                                    f"/api/v1/intake/forms/{type_name}/token")
        issued, nonce, signature = int(parts[0]), parts[1], parts[2]
        if not hmac.compare_digest(self._sign(type_name, issued, nonce).encode(), signature.encode()):
            raise TokenRefused(403, f"the token was not issued for the form '{type_name}' by this desk")
        now = self.clock()
        if issued > now + CLOCK_SKEW:
            raise TokenRefused(403, "the token's issue time is in the future")
        if now - issued > self.max_age:
            raise TokenRefused(403, f"the token has expired (tokens are valid for {self.max_age} s): get a new one "
                                    f"from GET /api/v1/intake/forms/{type_name}/token and submit again")

    def _sign(self, type_name: str, issued: int, nonce: str) -> str:
        if self._key is None:
            self._key = self._load_key()
        message = f"form-token\x00{type_name}\x00{issued}\x00{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())
