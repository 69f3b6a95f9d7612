"""`[relay]` in sendguard.toml (and the `relay` command's options) → RelaySettings.

Every key is validated at start-up and a mistake names the file and line, so a relay never
starts half-configured (for example with AUTH users but no certificate to protect them).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from sendguard.config import Config
from sendguard.errors import SendguardError
from sendguard.passwords import check_hash_format
from sendguard.relay.store import store_url

RELAY_KEYS = {
    "listen", "upstream", "store", "on_block", "on_warn", "undo_seconds", "hostname",
    "tls_cert", "tls_key", "users", "require_auth",
    "upstream_security", "upstream_ca", "upstream_user", "upstream_password_env",
    "upstream_connections", "upstream_timeout",
    "retry_base_seconds", "retry_max_seconds", "lease_seconds", "poll_seconds", "check_workers",
}  # fmt: skip
DEFAULT_LISTEN = "127.0.0.1:2525"
NUMBER = (int, float)


@dataclass(frozen=True)
class Upstream:
    """Where accepted mail goes, and how to talk to it."""

    host: str
    port: int
    security: str = "none"  # none | starttls | tls (implicit TLS, e.g. port 465)
    ca_file: Path | None = None  # verify the upstream's certificate against this CA (default: system CAs)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    connections: int = 4  # parallel sessions, each reused for several messages
    timeout: float = 60.0  # per SMTP command

    def tls_context(self) -> ssl.SSLContext | None:
        if self.security == "none":
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


@dataclass(frozen=True)
class RelaySettings:
    listen_host: str
    listen_port: int
    upstream: Upstream
    store_url: str
    on_block: str = "hold"  # hold | reject
    on_warn: str = "forward"  # forward | hold
    undo_seconds: float = 0.0
    hostname: str = field(default_factory=socket.getfqdn)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    users: dict[str, str] = field(default_factory=dict, repr=False)
    require_auth: bool = False
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 300.0
    lease_seconds: float = 300.0
    poll_seconds: float = 1.0
    check_workers: int = 2  # guard worker processes

    def tls_context(self) -> ssl.SSLContext | None:
        """Server-side context for STARTTLS offered to clients, when a certificate is configured."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.tls_cert, self.tls_key)
        return ctx


def load_settings(config: Config, listen: str | None = None, upstream: str | None = None) -> RelaySettings:
    """Settings from `[relay]`; `listen`/`upstream` (the command's options) override the file."""
    config.section("relay", allowed=RELAY_KEYS)

    def get(key: str, expected: type | tuple[type, ...], default: object = None) -> object:
        return config.get("relay", key, expected, default)

    def choice(key: str, allowed: tuple[str, ...], default: str) -> str:
        value = get(key, str, default)
        if value not in allowed:
            expected = ", ".join(f'"{a}"' for a in allowed)
            raise config.error(
                f"[relay] {key}: expected {expected} (not {value!r})", section="relay", key=key
            )
        return str(value)

    def positive(key: str, default: float, *, zero_ok: bool = False) -> float:
        value = get(key, NUMBER, default)
        if isinstance(value, bool) or value < 0 or (value == 0 and not zero_ok):
            raise config.error(
                f"[relay] {key} must be a positive number (not {value!r})", section="relay", key=key
            )
        return float(value)

    def path(key: str) -> Path | None:
        value = get(key, str)
        if value is None:
            return None
        resolved = config.resolve_path(str(value))
        if not resolved.is_file():
            raise config.error(f"[relay] {key}: file not found: {resolved}", section="relay", key=key)
        return resolved

    if listen is not None:
        listen_host, listen_port = parse_hostport(listen, "--listen")
    else:
        listen_host, listen_port = _config_hostport(config, "listen", DEFAULT_LISTEN)
    if upstream is not None:
        up_host, up_port = parse_hostport(upstream, "--upstream")
    elif get("upstream", str) is not None:
        up_host, up_port = _config_hostport(config, "upstream", "")
    else:
        raise SendguardError("no upstream server: pass --upstream HOST:PORT or set [relay] upstream")

    tls_cert, tls_key = path("tls_cert"), path("tls_key")
    if (tls_cert is None) != (tls_key is None):
        raise config.error("[relay] tls_cert and tls_key go together", section="relay")
    users = _users(config)
    if users and tls_cert is None:
        raise config.error(
            "[relay] users need tls_cert and tls_key: AUTH is only offered inside STARTTLS",
            section="relay",
            key="users",
        )
    require_auth = bool(get("require_auth", bool, False))
    if require_auth and not users:
        raise config.error(
            "[relay] require_auth = true but no [relay] users", section="relay", key="require_auth"
        )
    if not _is_loopback(listen_host) and not require_auth:
        # The internal-sender rule alone is forgeable by anyone who can connect: off loopback,
        # only authenticated clients may submit, or the relay is an open relay.
        raise SendguardError(
            f"refusing to listen on {listen_host}, which is not loopback, without authentication: "
            "set [relay] require_auth = true with [relay] users and a certificate, or listen on 127.0.0.1"
        )

    up_user = get("upstream_user", str)
    password_env = get("upstream_password_env", str)
    password = None
    if password_env is not None:
        password = os.environ.get(str(password_env))
        if password is None:
            raise config.error(
                f"[relay] upstream_password_env: environment variable {password_env} is not set",
                section="relay",
                key="upstream_password_env",
            )
    if (up_user is None) != (password is None):
        raise config.error(
            "[relay] upstream_user and upstream_password_env go together",
            section="relay",
            key="upstream_user",
        )
    security = choice("upstream_security", ("none", "starttls", "tls"), "none")
    if up_user is not None and security == "none":
        raise config.error(
            '[relay] upstream_user needs upstream_security = "starttls" or "tls" (no passwords in clear text)',
            section="relay",
            key="upstream_security",
        )
    connections = get("upstream_connections", int, 4)
    if isinstance(connections, bool) or not 1 <= connections <= 64:
        raise config.error(
            "[relay] upstream_connections must be 1..64", section="relay", key="upstream_connections"
        )

    # One core for the SMTP loop and the database, the rest (up to 4) for checking; but never a
    # single worker: one worker is one queue, and near its capacity (about 150 msg/s on a busy
    # 2-core machine) any pause of its process backs every message up behind it.
    default_workers = max(2, min(4, (os.cpu_count() or 2) - 1))
    workers = get("check_workers", int, default_workers)
    if isinstance(workers, bool) or not 1 <= workers <= 64:
        raise config.error("[relay] check_workers must be 1..64", section="relay", key="check_workers")

    lease = positive("lease_seconds", 300.0)
    timeout = positive("upstream_timeout", 60.0)
    if timeout * 4 > lease:
        # A delivery is abandoned after lease/2; a few commands must fit in it, or a slow but
        # alive upstream would see its message claimed again by another relay.
        raise config.error(
            f"[relay] upstream_timeout ({timeout:g}) must be at most a quarter of lease_seconds ({lease:g})",
            section="relay",
            key="upstream_timeout",
        )
    return RelaySettings(
        listen_host=listen_host,
        listen_port=listen_port,
        upstream=Upstream(
            host=up_host,
            port=up_port,
            security=security,
            ca_file=path("upstream_ca"),
            user=str(up_user) if up_user is not None else None,
            password=password,
            connections=int(connections),
            timeout=timeout,
        ),
        store_url=store_url(config),
        on_block=choice("on_block", ("hold", "reject"), "hold"),
        on_warn=choice("on_warn", ("forward", "hold"), "forward"),
        undo_seconds=positive("undo_seconds", 0.0, zero_ok=True),
        hostname=str(get("hostname", str, None) or socket.getfqdn()),
        tls_cert=tls_cert,
        tls_key=tls_key,
        users=users,
        require_auth=require_auth,
        retry_base_seconds=positive("retry_base_seconds", 5.0),
        retry_max_seconds=positive("retry_max_seconds", 300.0),
        lease_seconds=lease,
        poll_seconds=positive("poll_seconds", 1.0),
        check_workers=int(workers),
    )


def parse_hostport(value: str, what: str) -> tuple[str, int]:
    """`127.0.0.1:2525`, `[::1]:2525`, `mail.example.com:587` → (host, port)."""
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SendguardError(f"{what}: expected HOST:PORT, like 127.0.0.1:2525 (not {value!r})")
    return host, int(port)


def _config_hostport(config: Config, key: str, default: str) -> tuple[str, int]:
    value = config.get("relay", key, str, default)
    try:
        return parse_hostport(str(value), f"[relay] {key}")
    except SendguardError as exc:
        raise config.error(exc.reason, section="relay", key=key) from None


def _users(config: Config) -> dict[str, str]:
    """`[relay.users]` name = "scrypt$..." (the same hashes as the console's users)."""
    table = config.get("relay", "users", dict, {})
    for name, stored in table.items():
        problem = check_hash_format(stored) if isinstance(stored, str) else "expected a string"
        if problem is not None:
            raise config.error(f"[relay.users] {name}: {problem}", section="relay.users", key=name)
    return dict(table)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
