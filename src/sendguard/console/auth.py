"""Console logins: scrypt password hashes, signed session cookies and their CSRF tokens.

A password hash is one string, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (salt and hash in
unpadded URL-safe base64), so it fits in `[console] users = { name = "scrypt$..." }` and carries
its own cost parameters: raising the cost later does not invalidate existing hashes.

A session is a signed cookie holding the user name, a CSRF token and the time it was issued. It
is signed, not encrypted: it holds nothing secret, and the server keeps no session table, so
several console processes behind one address work if they share `[console] secret_key`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

# scrypt cost: N = 2**15, r = 8 uses 32 MiB and ~50-100 ms per check on the machines we have,
# which keeps a stolen config file expensive to attack without making a login slow.
_LOG2_N, _R, _P = 15, 8, 1
_MAXMEM = 128 * 1024 * 1024  # hashlib's default (32 MiB) is exactly N*r*128, one byte too little


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, log2_n: int = _LOG2_N, r: int = _R, p: int = _P) -> str:
    """A self-describing scrypt hash of `password` for `[console] users`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )
    return f"scrypt${log2_n}${r}${p}${_b64(salt)}${_b64(digest)}"


def check_hash_format(stored: str) -> str | None:
    """Why `stored` is not a usable hash, or None when it is (for config errors at start-up)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return 'expected "scrypt$<log2 N>$<r>$<p>$<salt>$<hash>" (make one with `sendguard console hash-password`)'
    try:
        log2_n, r, p = (int(x) for x in parts[1:4])
        _unb64(parts[4])
        _unb64(parts[5])
    except ValueError:
        return "the cost parameters must be integers and the salt and hash base64"
    if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        return f"cost parameters out of range (log2 N {log2_n}, r {r}, p {p})"
    return None


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the hash `stored` (constant-time comparison)."""
    if check_hash_format(stored) is not None:
        return False
    _, log2_n, r, p, salt, digest = stored.split("$")
    expected = _unb64(digest)
    actual = hashlib.scrypt(
        password.encode("utf-8"),
        salt=_unb64(salt),
        n=2 ** int(log2_n),
        r=int(r),
        p=int(p),
        maxmem=_MAXMEM,
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)


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
        payload = _b64(
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
            data = json.loads(_unb64(payload))
            session = Session(user=data["u"], csrf=str(data["c"]), issued=float(data["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        if not (0 <= time.time() - session.issued <= self.max_age):
            return None
        return session

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())


def csrf_ok(session: Session | None, submitted: str | None) -> bool:
    """The form's token matches the one in this browser's signed session cookie."""
    return session is not None and bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")
