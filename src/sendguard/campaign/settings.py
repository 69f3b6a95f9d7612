"""The `[campaign]` section of sendguard.toml, and the reason ids a campaign check reports.

    [campaign]
    test_recipients = ["seed@revcalc.io", "qa.inbox@gmail.com"]   # plus every internal address
    suppression_list = "suppressed.csv"  # one address (or @domain) per line, or a CSV with an email column
    max_size_factor = 1.1                # block when the audience exceeds expected_size by more than 10%
    max_held_share = 0.05                # block when more than 5% of the audience is held
    severity = { duplicate = "warn", suppressed = "info" }
    hold_role_addresses = true           # hold info@, sales@, noreply@, ...
    email_column = "email"               # when the template has no To header
    audience_url = "postgresql+psycopg://crm@db/crm"   # for AUDIENCE = "sql:SELECT email, ... FROM ..."

    [campaign.segments]                  # named segments: --segment NAME[:ARG], or segment = in the template
    leads = ["kind=lead"]
    customers-with-product = ["kind=customer", "products~{}"]

Every reason holds the recipient (it is left out of the send). What the campaign's verdict makes of
it is the reason's severity: `segment-mismatch` and `not-on-test-list` block (the audience itself is
wrong), `suppressed` is info (ordinary list hygiene), everything else warns; `severity` overrides.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sendguard.config import Config
from sendguard.errors import ConfigError
from sendguard.report import Severity

# Reasons a recipient is held, besides the ids of the core rules.
SEGMENT_MISMATCH = "segment-mismatch"
NOT_ON_TEST_LIST = "not-on-test-list"
MISSING_MERGE_FIELD = "missing-merge-field"
DUPLICATE = "duplicate"
SUPPRESSED = "suppressed"
ROLE_ADDRESS = "role-address"
INVALID_ADDRESS = "invalid-address"
# Campaign-wide findings.
VOLUME_EXCEEDED = "volume-exceeded"
TOO_MANY_HELD = "too-many-held"
MISSING_COLUMN = "missing-column"
EMPTY_AUDIENCE = "empty-audience"

RECIPIENT_REASONS = {
    SEGMENT_MISMATCH: "outside the declared segment",
    NOT_ON_TEST_LIST: "a live address in a test send (not on the test list, not internal)",
    MISSING_MERGE_FIELD: "a merge field is empty or missing",
    DUPLICATE: "the same address appears earlier in the audience",
    SUPPRESSED: "on the suppression list",
    ROLE_ADDRESS: "a role address (info@, sales@, noreply@, ...), not a person",
    INVALID_ADDRESS: "not a valid email address",
}
# Any recipient held for these blocks the whole campaign: they mean the audience itself is wrong.
DEFAULT_SEVERITY = {
    SEGMENT_MISMATCH: Severity.BLOCK,
    NOT_ON_TEST_LIST: Severity.BLOCK,
    SUPPRESSED: Severity.INFO,
}
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "admin", "administrator", "billing", "careers", "contact", "enquiries", "feedback", "hello",
        "help", "hostmaster", "hr", "info", "inquiries", "jobs", "mail", "mailer-daemon", "marketing", "news",
        "newsletter", "no-reply", "noreply", "office", "orders", "postmaster", "privacy", "sales", "security",
        "service", "support", "team", "webmaster",
    }
)  # fmt: skip
KEYS = {
    "audience_url",
    "test_recipients",
    "suppression_list",
    "segments",
    "max_size_factor",
    "max_held_share",
    "severity",
    "hold_role_addresses",
    "email_column",
    "samples",
    "chunk_rows",
}


@dataclass(frozen=True)
class CampaignSettings:
    test_recipients: frozenset[str] = frozenset()
    suppression_list: str | None = None  # absolute path
    segments: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_size_factor: float = 1.1
    max_held_share: float = 0.05
    severity: tuple[tuple[str, Severity], ...] = ()
    hold_role_addresses: bool = True
    email_column: str = "email"
    audience_url: str | None = None  # SQLAlchemy URL for `sql:` audiences
    samples: int = 5
    chunk_rows: int = 20_000
    source: str = field(default="", compare=False)

    def severity_of(self, reason: str) -> Severity:
        configured = dict(self.severity)
        if reason in configured:
            return configured[reason]
        return DEFAULT_SEVERITY.get(reason, Severity.WARN)

    @property
    def named_segments(self) -> dict[str, tuple[str, ...]]:
        return dict(self.segments)


def load_settings(config: Config, rule_ids: set[str]) -> CampaignSettings:
    section = config.section("campaign", allowed=KEYS)
    recipients = config.get("campaign", "test_recipients", list, [])
    if not all(isinstance(r, str) and "@" in r for r in recipients):
        raise config.error(
            "test_recipients must be a list of email addresses", section="campaign", key="test_recipients"
        )
    suppression = config.get("campaign", "suppression_list", str)
    if suppression is not None:
        path = config.resolve_path(suppression)
        if not path.is_file():
            raise config.error(
                f"suppression_list {str(path)!r} not found", section="campaign", key="suppression_list"
            )
        suppression = str(path.resolve())
    segments = section.get("segments", {})
    if not isinstance(segments, dict):
        raise config.error("[campaign.segments] must be a table of name = [conditions]", section="campaign")
    named: list[tuple[str, tuple[str, ...]]] = []
    for name, conditions in segments.items():
        if isinstance(conditions, str):
            conditions = [conditions]
        if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
            raise config.error(
                f'segment {name!r} must be a list of conditions like "kind=customer"',
                section="campaign.segments",
            )
        named.append((name, tuple(conditions)))
    factor = float(config.get("campaign", "max_size_factor", (int, float), 1.1))
    share = float(config.get("campaign", "max_held_share", (int, float), 0.05))
    if factor < 1 or not 0 <= share <= 1:
        raise config.error(
            "max_size_factor must be >= 1 and max_held_share between 0 and 1",
            section="campaign",
            key="max_size_factor",
        )
    severity = config.get("campaign", "severity", dict, {})
    known = set(RECIPIENT_REASONS) | rule_ids
    levels: list[tuple[str, Severity]] = []
    for reason, level in severity.items():
        if reason not in known:
            raise config.error(
                f"severity: unknown reason {reason!r} (known: {', '.join(sorted(known))})",
                section="campaign",
                key="severity",
            )
        try:
            levels.append((reason, Severity.parse(str(level))))
        except ValueError as exc:
            raise config.error(f"severity.{reason}: {exc}", section="campaign", key="severity") from None
    samples = config.get("campaign", "samples", int, 5)
    chunk_rows = config.get("campaign", "chunk_rows", int, 20_000)
    if samples < 0 or chunk_rows < 1:
        raise config.error("samples must be >= 0 and chunk_rows >= 1", section="campaign")
    return CampaignSettings(
        test_recipients=frozenset(r.strip().lower() for r in recipients),
        suppression_list=suppression,
        segments=tuple(named),
        max_size_factor=factor,
        max_held_share=share,
        severity=tuple(levels),
        hold_role_addresses=config.get("campaign", "hold_role_addresses", bool, True),
        email_column=config.get("campaign", "email_column", str, "email"),
        audience_url=config.get("campaign", "audience_url", str),
        samples=samples,
        chunk_rows=chunk_rows,
        source=str(config.path),
    )


def read_suppression(path: str) -> tuple[list[str], list[str]]:
    """(addresses, domains) from a suppression file: a CSV with an `email` column, or one entry per line.

    An entry `@example.com` (or a bare domain) suppresses the whole domain.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read suppression list: {exc}", path=path) from None
    lines = text.splitlines()
    entries: list[str]
    header = [h.strip().lower() for h in next(csv.reader(lines[:1]), [])]
    if "email" in header:
        column = header.index("email")
        entries = [row[column] for row in csv.reader(lines[1:]) if len(row) > column]
    else:
        entries = [ln.split("#", 1)[0] for ln in lines]
    addresses: list[str] = []
    domains: list[str] = []
    for entry in entries:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith("@"):
            domains.append(entry[1:])
        elif "@" in entry:
            addresses.append(entry)
        else:
            domains.append(entry)
    return addresses, domains
