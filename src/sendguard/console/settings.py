"""`[console]` in sendguard.toml: who may log in, the session key, TLS.

[console]
users = { alice = "scrypt$15$8$1$...", bob = "scrypt$..." }   # sendguard console hash-password
secret_key = "..."      # optional: signs session cookies; random per start when absent
session_hours = 12      # optional: a login lasts this long
tls_cert = "console.pem"  # optional, with tls_key: serve HTTPS directly
tls_key = "console.key"
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sendguard.config import Config
from sendguard.passwords import check_hash_format

KEYS = {"users", "secret_key", "session_hours", "tls_cert", "tls_key"}
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class ConsoleSettings:
    users: dict[str, str]  # name -> scrypt hash
    secret_key: bytes
    session_seconds: float
    tls_cert: Path | None
    tls_key: Path | None


def console_settings(config: Config) -> ConsoleSettings:
    """Read and check `[console]`; every problem is a ConfigError naming the file and line."""
    config.section("console", KEYS)
    users = config.get("console", "users", dict, {})
    if not users:
        raise config.error(
            '[console] users is empty: add users = { name = "scrypt$..." } '
            "(make a hash with `sendguard console hash-password`)",
            section="console",
            key="users",
        )
    for name, stored in users.items():
        problem = "must be a string" if not isinstance(stored, str) else check_hash_format(stored)
        if problem:
            raise config.error(f"[console] users.{name}: {problem}", section="console", key="users")
    secret = config.get("console", "secret_key", str)
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise config.error(
            f"[console] secret_key must be at least {MIN_SECRET_LENGTH} characters "
            '(python3 -c "import secrets; print(secrets.token_urlsafe(32))")',
            section="console",
            key="secret_key",
        )
    hours = config.get("console", "session_hours", (int, float), 12)
    if hours <= 0:
        raise config.error("[console] session_hours must be positive", section="console", key="session_hours")
    cert = config.get("console", "tls_cert", str)
    key = config.get("console", "tls_key", str)
    if (cert is None) != (key is None):
        raise config.error("[console] tls_cert and tls_key go together", section="console", key="tls_cert")
    for name, value in (("tls_cert", cert), ("tls_key", key)):
        if value is not None and not config.resolve_path(value).is_file():
            raise config.error(
                f"[console] {name}: file not found: {config.resolve_path(value)}", section="console", key=name
            )
    return ConsoleSettings(
        users=dict(users),
        # Without a configured key, sessions end when the console restarts: safe by default,
        # and a shared key is only needed when several console processes serve one address.
        secret_key=secret.encode("utf-8") if secret else secrets.token_bytes(32),
        session_seconds=float(hours) * 3600,
        tls_cert=config.resolve_path(cert) if cert else None,
        tls_key=config.resolve_path(key) if key else None,
    )
