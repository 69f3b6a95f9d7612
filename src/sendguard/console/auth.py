"""Console sessions: signed session cookies and their CSRF tokens (password hashes are in
`sendguard.passwords`).

A session is a signed cookie holding the user name, a CSRF token and the time it was issued. It
is signed, not encrypted: it holds nothing secret, and the server keeps no session table, so
several console processes behind one address work if they share `[console] secret_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sendguard.passwords import decode_b64, encode_b64


@dataclass(frozen=True)
class Session:
    """What the session cookie says: who (None before login), the CSRF token, when it was issued."""

    user: str | None
    csrf: str
    issued: float


class SessionSigner:
    """Signs and checks session cookies with HMAC-SHA256; a cookie older than `max_age` is refused."""

    def __init__(self, secret: bytes, max_age: float) -> None:
        self._secret = secret
        self.max_age = max_age

    def new(self, user: str | None) -> Session:
        # A fresh CSRF token with every new session, so a token seen before login (or by a
        # previous user of the browser) is useless after it.
        return Session(user=user, csrf=secrets.token_urlsafe(32), issued=time.time())

    def dump(self, session: Session) -> str:
        payload = encode_b64(
            json.dumps({"u": session.user, "c": session.csrf, "t": session.issued}).encode("utf-8")
        )
        return payload + "." + self._sign(payload)

    def load(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(decode_b64(payload))
            session = Session(user=data["u"], csrf=str(data["c"]), issued=float(data["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        if not (0 <= time.time() - session.issued <= self.max_age):
            return None
        return session

    def _sign(self, payload: str) -> str:
        return encode_b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())


def csrf_ok(session: Session | None, submitted: str | None) -> bool:
    """The form's token matches the one in this browser's signed session cookie."""
    return session is not None and bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")
