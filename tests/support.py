"""Helpers for tests: build real RFC 5322 messages and guards over the shipped example org."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path

import sendguard
from sendguard.guard import Guard

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org"
EXAMPLE_CONFIG = EXAMPLE_ORG / "sendguard.toml"
EXAMPLE_MESSAGES = ROOT / "examples" / "messages"
CORPORA = ROOT.parent / "shared" / "corpora"


def build_message(
    *,
    to: str | Iterable[str] = "Peter Jones <peter.jones@acme.com>",
    cc: str | Iterable[str] = (),
    bcc: str | Iterable[str] = (),
    sender: str = "Sam Carter <sam.carter@revcalc.io>",
    subject: str = "Your account",
    body: str = "Hi Peter,\n\nAll good on our side.\n\nBest,\nSam\n",
    html: str | None = None,
    attachments: Iterable[tuple[str, bytes, str]] = (),
    headers: dict[str, str] | None = None,
) -> bytes:
    """A real MIME message as bytes. attachments: (filename, content, "type/subtype")."""
    msg = EmailMessage()
    msg["From"] = sender
    for field, value in (("To", to), ("Cc", cc), ("Bcc", bcc)):
        values = [value] if isinstance(value, str) else list(value)
        if values:
            msg[field] = ", ".join(values)
    msg["Subject"] = subject
    msg["Message-ID"] = "<test@revcalc.io>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def example_guard(tmp_path: Path | None = None, extra_toml: str = "", **rule_overrides: dict) -> Guard:
    """A Guard over the example org. `rule_overrides` (rule_id with '-' or '_') become [rules.<id>] tables.

    With overrides or extra TOML, the org is copied to `tmp_path` so the shipped example stays untouched.
    """
    if not rule_overrides and not extra_toml:
        return sendguard.load(EXAMPLE_CONFIG)
    if tmp_path is None:
        raise ValueError("pass tmp_path when overriding rules")
    target = tmp_path / "org"
    shutil.copytree(EXAMPLE_ORG, target, dirs_exist_ok=True)
    text = EXAMPLE_CONFIG.read_text()
    for rule_id, options in rule_overrides.items():
        rid = rule_id.replace("_", "-")
        text = _drop_table(text, f"rules.{rid}")
        text += f"\n[rules.{rid}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in options.items())
    (target / "sendguard.toml").write_text(text + "\n" + extra_toml)
    return sendguard.load(target / "sendguard.toml")


def rule_ids(report: sendguard.Report) -> list[str]:
    return [f.rule for f in report.findings]


def _drop_table(text: str, name: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if line.strip().startswith("["):
            skipping = line.strip() == f"[{name}]"
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)
