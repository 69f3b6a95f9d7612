"""`sendguard console` (serve the review console) and `sendguard console hash-password`."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys

from sendguard.errors import SendguardError

DEFAULT_LISTEN = "127.0.0.1:8025"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `console` (and its `hash-password`) to the `sendguard` command line."""
    console = subparsers.add_parser("console", help="serve the review console for held and queued mail")
    console.add_argument(
        "--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT", help=f"default {DEFAULT_LISTEN}"
    )
    console.add_argument(
        "--config", metavar="PATH", help="sendguard.toml (default: $SENDGUARD_CONFIG or ./sendguard.toml)"
    )
    console.set_defaults(run=cmd_console)
    sub = console.add_subparsers(dest="console_command", required=False, parser_class=type(console))
    hasher = sub.add_parser(
        "hash-password",
        help="print a password hash for [console] users (reads the password from the terminal or stdin)",
    )
    hasher.set_defaults(run=cmd_hash_password)


def parse_listen(value: str) -> tuple[str, int]:
    """'127.0.0.1:8025' or '[::1]:8025' -> (host, port); InputError for anything else."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SendguardError(f"--listen expects HOST:PORT, like {DEFAULT_LISTEN} (not {value!r})")
    return host, int(port)


def cmd_console(args: argparse.Namespace) -> int:
    # Imported here so `sendguard check` does not pay for FastAPI and uvicorn.
    import uvicorn

    from sendguard.config import Config
    from sendguard.console.app import create_app
    from sendguard.console.settings import console_settings
    from sendguard.guard import Guard
    from sendguard.org.loaders import load_org
    from sendguard.relay.store import Store

    host, port = parse_listen(args.listen)
    config = Config.load(args.config)
    settings = console_settings(config)
    if settings.tls_cert is None and not _is_loopback(host):
        # Passwords would cross the network in clear text, and browsers drop the Secure session
        # cookie on plain http anywhere but loopback, so logins could not work anyway.
        raise SendguardError(
            f"refusing to serve the console on {host} over plain http: set [console] tls_cert and "
            "tls_key, or listen on 127.0.0.1 behind an HTTPS reverse proxy"
        )
    guard = Guard(config, load_org(config))
    store = Store.from_config(config)
    app = create_app(guard, store, settings)
    print(
        f"sendguard console: http{'s' if settings.tls_cert else ''}://{host}:{port}/ (store {store.display_url})",
        flush=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
    )
    store.close()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_hash_password(args: argparse.Namespace) -> int:
    from sendguard.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("sendguard: the passwords differ", file=sys.stderr)
            return 2
    else:
        # Piped (`printf %s "$PW" | sendguard console hash-password`): one line, newline stripped.
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("sendguard: empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0
