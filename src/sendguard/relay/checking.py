"""Raw bytes (+ envelope) → what the relay decides on: verdict, findings, subject.

The guard reads recipients from the To/Cc/Bcc header fields, but a relay delivers to the
envelope (RCPT TO), and the two differ whenever a client sends Bcc or an application addresses
only the envelope. Envelope recipients missing from the headers are shown to the guard as one
extra `Bcc:` field, for the check only (the message is stored and sent unchanged), so a
cross-customer recipient cannot slip past the rules by being left out of the headers.

The guard raises InputError for a message it cannot read. The relay must hold such a message,
never drop it, so the error becomes a blocking finding of its own (`unreadable-message`); any
other exception from the guard is treated the same way (`guard-error`): a bug holds mail, it
never passes it.

For a large message the relay waits only for the rules that can change its reply
(`split_rules`): block-severity rules, and warn-severity ones when `[relay] on_warn = "hold"`.
The others cannot turn a forwarded message into a held one, so they run after the reply
(`finish_raw`) and their findings are added to the stored record (`completed`); see
checkpool.py for which messages and why.
"""

from __future__ import annotations

import email
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from sendguard.errors import InputError
from sendguard.guard import Guard
from sendguard.relay.recipients import split_message
from sendguard.report import Finding, Location, Report, Severity
from sendguard.rules.base import Rule

log = logging.getLogger("sendguard.relay")

UNREADABLE = "unreadable-message"
GUARD_ERROR = "guard-error"


@dataclass(frozen=True)
class Checked:
    verdict: str  # pass | warn | block
    findings: tuple[Finding, ...]
    subject: str | None
    readable: bool  # False: the guard could not check it, so it is held whatever [relay] on_block says

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.findings})


def check_raw(
    guard: Guard, raw: bytes, envelope_rcpts: Sequence[str] = (), rules: Sequence[Rule] | None = None
) -> Checked:
    """Parse and run `rules` (default: every rule of `guard`)."""
    try:
        msg = guard.parse(with_envelope_recipients(raw, envelope_rcpts))
        report = guard.check_message(msg, rules)
    except InputError as exc:
        return unchecked(raw, UNREADABLE, f"sendguard could not read this message: {exc.reason}")
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the message is held, not lost
        log.exception("guard failed on a message; holding it")
        return unchecked(raw, GUARD_ERROR, f"the guard failed on this message ({type(exc).__name__}: {exc})")
    return Checked(report.verdict, tuple(report.findings), report.subject, True)


def finish_raw(
    guard: Guard, raw: bytes, envelope_rcpts: Sequence[str], rules: Sequence[Rule]
) -> list[Finding]:
    """The findings of `rules` that ran after the decision on this message. They cannot hold it
    any more, so a rule that fails gives a finding at its own severity."""
    try:
        msg = guard.parse(with_envelope_recipients(raw, envelope_rcpts))
    except Exception:  # noqa: BLE001 - the decision already held a message the guard cannot read
        return []
    return guard.check_message(msg, rules, hold_on_failure=False).findings


def split_rules(rules: Sequence[Rule], on_warn: str) -> tuple[list[Rule], list[Rule]]:
    """(the rules that can change the relay's reply, the rest), for `[relay] on_warn`."""
    decides_at = Severity.WARN if on_warn == "hold" else Severity.BLOCK
    return [r for r in rules if r.severity >= decides_at], [r for r in rules if r.severity < decides_at]


def completed(guard: Guard, checked: Checked, more: Sequence[Finding]) -> Checked:
    """`checked` with the findings of the rules that ran after the reply, in the guard's order."""
    findings = [*checked.findings, *more]
    guard.sort_findings(findings)
    return Checked(Report(findings=findings).verdict, tuple(findings), checked.subject, checked.readable)


def with_envelope_recipients(raw: bytes, envelope_rcpts: Sequence[str]) -> bytes:
    """`raw` with a `Bcc:` field naming the envelope recipients its headers do not (unchanged if none)."""
    if not envelope_rcpts:
        return raw
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])]
    present = {addr.lower() for _, addr in getaddresses(fields)}
    missing = [r for r in dict.fromkeys(envelope_rcpts) if r.lower() not in present]
    if not missing:
        return raw
    head, sep, body, eol = split_message(raw)
    if not head:
        return raw  # no header block at all: let the guard say the message is unreadable
    # At the end of the header block, so the guard's "does this start like a message?" test
    # still sees the message's own first line.
    return head + eol + b"Bcc: " + ", ".join(missing).encode("utf-8") + sep + body


def unchecked(raw: bytes, rule: str, message: str) -> Checked:
    """A blocking finding of the relay's own: the guard could not give a verdict, so the message is held."""
    finding = Finding(
        rule,
        Severity.BLOCK,
        message,
        Location("message"),
        "",
        "Read the message by hand before releasing it; if it looks normal, report this as a sendguard bug.",
    )
    return Checked("block", (finding,), _best_effort_subject(raw), False)


def _best_effort_subject(raw: bytes) -> str | None:
    """The Subject of a message the guard could not read, for the review list (None when hopeless)."""
    try:
        subject = email.message_from_bytes(raw[:65536], policy=policy.default)["Subject"]
    except Exception:  # noqa: BLE001 - only a label for the list; the message itself is kept whole
        return None
    return str(subject) if subject is not None else None
