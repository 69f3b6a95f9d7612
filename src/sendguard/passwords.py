"""Password hashes for the relay's SMTP AUTH users and the console's logins.

A hash is one string, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (salt and hash in unpadded
URL-safe base64), so it fits in `users = { name = "scrypt$..." }` and carries its own cost
parameters: raising the cost later does not invalidate existing hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: N = 2**15, r = 8 uses 32 MiB and ~50-100 ms per check on the machines we have,
# which keeps a stolen config file expensive to attack without making a login slow.
_LOG2_N, _R, _P = 15, 8, 1
_MAXMEM = 128 * 1024 * 1024  # hashlib's default (32 MiB) is exactly N*r*128, one byte too little


def encode_b64(data: bytes) -> str:
    """Unpadded URL-safe base64, as in the hash strings and session cookies."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, log2_n: int = _LOG2_N, r: int = _R, p: int = _P) -> str:
    """A self-describing scrypt hash of `password` for `[console] users`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )
    return f"scrypt${log2_n}${r}${p}${encode_b64(salt)}${encode_b64(digest)}"


def check_hash_format(stored: str) -> str | None:
    """Why `stored` is not a usable hash, or None when it is (for config errors at start-up)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return 'expected "scrypt$<log2 N>$<r>$<p>$<salt>$<hash>" (make one with `sendguard console hash-password`)'
    try:
        log2_n, r, p = (int(x) for x in parts[1:4])
        decode_b64(parts[4])
        decode_b64(parts[5])
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
    expected = decode_b64(digest)
    actual = hashlib.scrypt(
        password.encode("utf-8"),
        salt=decode_b64(salt),
        n=2 ** int(log2_n),
        r=int(r),
        p=int(p),
        maxmem=_MAXMEM,
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)
