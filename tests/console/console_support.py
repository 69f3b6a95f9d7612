"""Shared by the console tests: an org with a [console] section, and messages held by the relay's store."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from sendguard.guard import Guard
from sendguard.passwords import hash_password
from sendguard.relay.checking import check_raw
from sendguard.relay.store import NewMessage, Store
from support import EXAMPLE_ORG

PASSWORD = "correct horse battery staple"


@cache
def password_hash() -> str:
    # One scrypt hash per test run: each costs ~0.1 s on purpose.
    return hash_password(PASSWORD)


def console_config(tmp_path: Path, extra: str = "") -> Path:
    """A copy of the example org whose sendguard.toml lets `alice` log in; returns the config path."""
    target = tmp_path / "org"
    shutil.copytree(EXAMPLE_ORG, target, dirs_exist_ok=True)
    config = target / "sendguard.toml"
    config.write_text(
        config.read_text()
        + f'\n[console]\nusers = {{ alice = "{password_hash()}" }}\nsecret_key = "{"k" * 40}"\n'
        + extra
    )
    return config


def store_message(
    store: Store,
    guard: Guard,
    raw: bytes,
    rcpt_tos: Sequence[str],
    *,
    state: str = "held",
    mail_from: str = "dana.whitfield@revcalc.io",
    undo_seconds: float = 0.0,
) -> str:
    """Put `raw` in the store the way the relay does: checked by the guard, then held or queued."""
    checked = check_raw(guard, raw)
    return store.add(
        NewMessage(
            raw=raw,
            mail_from=mail_from,
            rcpt_tos=list(rcpt_tos),
            state=state,
            verdict=checked.verdict,
            findings=checked.findings,
            subject=checked.subject,
            undo_seconds=undo_seconds,
        )
    )
