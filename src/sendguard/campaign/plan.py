"""The campaign plan: the template checked once by every rule, then per recipient only what differs.

The template is parsed once with a sentinel (one private-use character) standing for each merge
tag. Sentinels are inert to every rule, so the full guard run on that message gives the
*template findings*, and a recipient's message differs from it only at the sentinels. Per
recipient the plan then checks:

* the merge values in place: each line, subject or HTML line holding a tag (a *site*) is
  re-checked by the text rules with the recipient's values filled in, and only findings the
  values cause are kept (findings of the sentinel version are the template's). Results are cached
  by the values, with digits folded to `1` (same length, so spans and windows do not move): a
  million recipients with a few thousand distinct first names cost a few thousand checks;
* the recipient: internal, a customer account (by contact or domain) or unknown, and every rule
  that judges recipients alone (cross-account, lookalike domains), cached by domain and account;
* balance claims against the recipient account's ledger balance, mentions of other customers and
  the greeting against the recipient's name, through the rules themselves on a small message
  holding only the lines concerned (cached by account and values);
* the campaign checks: missing merge fields, segment, test list, suppression, role addresses.

A recipient whose values would change the shape of the message (a value with a line break, or an
empty line before the greeting) is checked in full: rendered by Jinja and run through
`Guard.check_message`. `Plan.full_findings` does that for any recipient; the test suite holds the
fast path equal to it.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sendguard.campaign.audience import Condition, segment_mask
from sendguard.campaign.settings import (
    INVALID_ADDRESS,
    MISSING_MERGE_FIELD,
    NOT_ON_TEST_LIST,
    ROLE_ADDRESS,
    ROLE_LOCAL_PARTS,
    SEGMENT_MISMATCH,
    SUPPRESSED,
    CampaignSettings,
    read_suppression,
)
from sendguard.campaign.template import SENTINEL_BASE, SENTINEL_RE, Template
from sendguard.errors import InputError
from sendguard.guard import Guard
from sendguard.message.model import Address, Amount, BodyLine, Link, Message, Party
from sendguard.message.money import find_amounts
from sendguard.message.parse import URL_RE, _host, _unicode_domain
from sendguard.org.mentions import MentionIndex
from sendguard.report import Finding, Severity
from sendguard.rules.balance_mismatch import balance_claims
from sendguard.rules.greeting_mismatch import GREETING, GROUP_WORDS, SPLIT, TITLES, canonical, fold

# Rules whose verdict depends on who the recipient is: left out of the template findings and of the
# per-site text checks, and evaluated per recipient instead.
CROSS_ACCOUNT, FOREIGN, BALANCE, GREETING_RULE = (
    "cross-account-recipients",
    "foreign-account-content",
    "balance-mismatch",
    "greeting-mismatch",
)
RECIPIENT_AWARE = frozenset({CROSS_ACCOUNT, FOREIGN, BALANCE, GREETING_RULE})
PROBE_DOMAIN = "sendguard-campaign.invalid"
CACHE_LIMIT = 1 << 16  # entries per cache, per process: memory stays flat however large the audience
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DIGIT = re.compile(r"\d")
SUBJECT_SPACE = re.compile(r"\s+")
HTML_SPACE = re.compile(r"[ \t\u00a0]+")
DISPLAY_SPLIT = re.compile(r"[\s,.()\"']+")
GREETING_SPLIT = re.compile(r"[\s.]+")


@dataclass(frozen=True)
class CampaignOptions:
    """Everything a worker needs to rebuild the plan: picklable, and the key of the per-process cache."""

    config_path: str
    template_path: str
    mode: str  # "test" or "live"
    segment: tuple[Condition, ...]
    settings: CampaignSettings


@dataclass
class Site:
    """A place in the template holding merge tags: the subject, a body line, an HTML line or attribute."""

    id: int
    kind: str  # "subject", "body", "html" or "attr"
    text: str  # with sentinels
    line: BodyLine | None
    exprs: tuple[int, ...]
    exact: bool  # a tag inside a link's host: values are not folded for the cache
    links: list[Link] = field(default_factory=list)  # HTML links with tags, for "html"/"attr" sites
    blank: bool = False  # the line is nothing but tags: it may render empty


@dataclass
class ChunkResult:
    """What one chunk of the audience contributes: counts, the first samples, and what dedup needs."""

    index: int
    rows: int
    reasons: dict[str, int]
    samples: dict[str, list[str]]
    examples: dict[str, Finding]
    notes: dict[str, int]
    missing_tags: dict[str, int]  # merge tag as written -> rows where it renders empty
    emails: list[str | None]  # normalised addresses; None where invalid (not deduplicated)
    held: np.ndarray  # bool per row: held for some reason other than being a duplicate
    checked_in_full: int


class _Cache(dict):
    """A dict that forgets everything when full: bounded memory, and hits stay cheap."""

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= CACHE_LIMIT:
            self.clear()
        self[key] = value
        return value


class Plan:
    def __init__(self, guard: Guard, template: Template, options: CampaignOptions) -> None:
        self.guard = guard
        self.template = template
        self.options = options
        self.settings = options.settings
        self.org = guard.org
        self.rules = {r.id: r for r in guard.rules}
        self.exprs = template.expressions
        self.test_mode = options.mode == "test"

        self.probe_external = f"recipient@{PROBE_DOMAIN}"
        self.base = guard.parse(template.sentinel_message(self.probe_external))
        self.fixed = [a for a in self.base.recipients if a.address != self.probe_external]
        self.fixed_external = any(a.is_external for a in self.fixed)
        self.fixed_accounts = [a.account_id for a in self.fixed if a.party is Party.ACCOUNT and a.account_id]
        self.fixed_balance_accounts = [
            a.account_id for a in self.fixed if a.party is Party.ACCOUNT and a.account_id and a.field != "Bcc"
        ]
        internal = self.org.internal_domains[0] if self.org.internal_domains else PROBE_DOMAIN
        self.probes = {
            True: next(a for a in self.base.recipients if a.address == self.probe_external),
            False: Address(f"recipient@{internal}", "", "To", internal, Party.INTERNAL),
        }

        self.template_findings = self._template_findings()
        self.sites = self._sites()
        self.display = template.parts["to_display"].with_sentinels() if "to_display" in template.parts else ""
        self.display_exprs = tuple(e.index for e in self.exprs if e.part == "to_display")
        self._plan_greeting()
        self._plan_balance()
        self._plan_mentions()

        addresses, domains = (
            read_suppression(self.settings.suppression_list) if self.settings.suppression_list else ([], [])
        )
        self.suppressed = frozenset(addresses)
        self.suppressed_domains = frozenset(domains)
        self.test_list = self.settings.test_recipients

        self._site_cache = _Cache()
        self._baselines: dict[tuple[int, bool], set[tuple]] = {}
        self._recipient_cache = _Cache()
        self._domain_cache = _Cache()
        self._greeting_cache = _Cache()
        self._claim_cache = _Cache()
        self._balance_cache = _Cache()
        self._mention_cache = _Cache()
        self._foreign_cache = _Cache()
        self._expr_cache = _Cache()

    # -- the template, once -------------------------------------------------------------------------

    def _template_findings(self) -> list[Finding]:
        """Every rule on the template; the recipient-aware ones are judged per recipient instead."""
        findings = []
        for f in self.guard.check_message(self.base).findings:
            if f.rule in RECIPIENT_AWARE:
                continue
            findings.append(f)
        return findings

    def display_template_findings(self) -> list[Finding]:
        """Template findings as the author wrote the template: tags shown as `{{ tag }}`; test markers
        are expected in a test send, so they are advice there."""
        out = []
        for f in self.template_findings:
            loc = f.location
            if loc.text is not None:
                # Sentinels are one character each; a tag as written is longer, so spans move.
                shown = self.template.unsentinel
                loc = replace(
                    loc,
                    text=shown(loc.text),
                    start=None if loc.start is None else len(shown(loc.text[: loc.start])),
                    end=None if loc.end is None else len(shown(loc.text[: loc.end])),
                )
            severity = Severity.INFO if self.test_mode and f.rule == "test-marker" else f.severity
            message = self.template.unsentinel(f.message)
            if severity != f.severity:
                message += " (expected in a test send; it blocks in --mode live)"
            out.append(
                replace(
                    f,
                    location=loc,
                    severity=severity,
                    message=message,
                    evidence=self.template.unsentinel(f.evidence),
                )
            )
        return out

    def _sites(self) -> list[Site]:
        base = self.base
        sites: list[Site] = []
        hosts_with_tags = {lk.line for lk in base.links if SENTINEL_RE.search(lk.host)}

        def exprs_in(text: str) -> tuple[int, ...]:
            return tuple(dict.fromkeys(ord(c) - SENTINEL_BASE for c in SENTINEL_RE.findall(text)))

        if SENTINEL_RE.search(base.subject):
            sites.append(Site(len(sites), "subject", base.subject, None, exprs_in(base.subject), False))
        for line in base.lines:
            if SENTINEL_RE.search(line.text):
                sites.append(
                    Site(
                        len(sites),
                        "body",
                        line.text,
                        line,
                        exprs_in(line.text),
                        line.number in hosts_with_tags,
                        blank=not SENTINEL_RE.sub("", line.text).strip(),
                    )
                )
        if base.html_source:
            from sendguard.message.html import html_to_lines

            _, html_links = html_to_lines(base.html_source)
            by_line: dict[int, Site] = {}
            for line in base.html_lines:
                if SENTINEL_RE.search(line.text):
                    site = Site(len(sites), "html", line.text, line, exprs_in(line.text), False)
                    sites.append(site)
                    by_line[line.number] = site
            for href, anchor, idx in html_links:
                if not SENTINEL_RE.search(href + anchor) or not base.html_lines:
                    continue
                line = base.html_lines[min(idx, len(base.html_lines) - 1)]
                site = by_line.get(line.number)
                if site is None:
                    site = Site(len(sites), "html", line.text, line, (), False)
                    sites.append(site)
                    by_line[line.number] = site
                host = _host(href) or ""
                site.links.append(Link(href, host, anchor, line.number, line.quoted))
                site.exprs = tuple(dict.fromkeys(site.exprs + exprs_in(href + anchor)))
                site.exact = site.exact or bool(SENTINEL_RE.search(host))
            covered = {i for s in sites if s.kind == "html" for i in s.exprs}
            rest = [i for i in exprs_in(base.html_source) if i not in covered]
            if rest:
                sites.append(Site(len(sites), "attr", "", None, tuple(rest), False))
        return sites

    def _plan_greeting(self) -> None:
        """The greeting is the first non-empty line of new text: its names must be the recipient's."""
        self.greeting_rule = self.rules.get(GREETING_RULE)
        first = next((ln for ln in self.base.new_lines if ln.text.strip()), None)
        self.greeting_line = first
        self.greeting_site = next(
            (s for s in self.sites if s.kind == "body" and first is not None and s.line == first), None
        )
        # A line before the greeting that holds only tags may render empty, and move the greeting.
        self.blank_before_greeting = [
            s
            for s in self.sites
            if s.kind == "body"
            and s.blank
            and first is not None
            and s.line is not None
            and s.line.number <= first.number
        ]

    def _plan_balance(self) -> None:
        self.balance_rule = self.rules.get(BALANCE)
        self.static_claims: list[tuple[BodyLine, list[Amount]]] = []
        site_lines = {s.line.number for s in self.sites if s.kind == "body" and s.line is not None}
        by_line: dict[int, list[Amount]] = {}
        for amount in self.base.amounts:
            if not amount.quoted:
                by_line.setdefault(amount.line, []).append(amount)
        for line in self.base.new_lines:
            if line.number in site_lines:
                continue
            if balance_claims(line.text, by_line.get(line.number, [])):
                self.static_claims.append((line, by_line[line.number]))
        self.claim_sites = [
            s for s in self.sites if s.kind == "body" and s.line is not None and not s.line.quoted
        ]

    def _plan_mentions(self) -> None:
        self.foreign_rule = self.rules.get(FOREIGN)
        self.mentions = MentionIndex(self.org.directory)
        site_lines = {s.line.number for s in self.sites if s.kind == "body" and s.line is not None}
        self.static_accounts: set[str] = set()
        self.static_subject_mentions = False
        if not any(s.kind == "subject" for s in self.sites):
            found = self.mentions.find(self.base.subject)
            self.static_accounts |= {m.account_id for m in found}
            self.static_subject_mentions = bool(found)
        self.static_mention_lines: list[BodyLine] = []
        for line in self.base.lines:
            if line.number in site_lines:
                continue
            found = self.mentions.find(line.text)
            if found:
                self.static_accounts |= {m.account_id for m in found}
                self.static_mention_lines.append(line)
        self.mention_sites = [s for s in self.sites if s.kind in ("subject", "body")]
        # Digits may be folded for the mention cache only if no account is named by digits alone.
        self.fold_mentions = all(re.search(r"[^\W\d_]", term) for term in self.mentions.terms)

    # -- per chunk ------------------------------------------------------------------------------------

    def check_batch(self, batch: pa.RecordBatch, index: int = 0) -> ChunkResult:
        """Check one chunk of the audience (any size; results do not depend on how it is cut)."""
        n = batch.num_rows
        settings = self.settings
        limit = settings.samples
        columns = set(batch.schema.names)
        email_col = self.template.email_column
        if email_col not in columns:
            raise InputError(f"the audience has no {email_col!r} column (the recipient's address)")
        emails_arr = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(batch.column(email_col))))
        valid = pc.fill_null(pc.match_substring_regex(emails_arr, EMAIL_RE), False).to_numpy(
            zero_copy_only=False
        )
        emails: list[str | None] = emails_arr.to_pylist()

        outputs, missing_by_expr, multiline = self._outputs(batch, columns)
        missing = np.zeros(n, dtype=bool)
        missing_tags: dict[str, int] = {}
        for expr, rows in zip(self.exprs, missing_by_expr, strict=True):
            missing |= rows
            if rows.any():
                missing_tags[expr.tag] = missing_tags.get(expr.tag, 0) + int(rows.sum())
        reasons: dict[str, list[int]] = {}
        examples: dict[str, Finding] = {}
        notes: dict[str, int] = {}

        def mark(reason: str, mask: np.ndarray) -> None:
            rows = np.flatnonzero(mask)
            if len(rows):
                reasons.setdefault(reason, []).extend(rows.tolist())

        mark(INVALID_ADDRESS, ~valid)
        mark(MISSING_MERGE_FIELD, missing)
        if self.options.segment:
            mark(SEGMENT_MISMATCH, ~segment_mask(batch, self.options.segment))

        rendered = [
            [htmllib.unescape(o) for o in out] if self.exprs[i].escape else out
            for i, out in enumerate(outputs)
        ]
        slow = multiline.copy()
        for site in self.blank_before_greeting:
            slow |= np.array(
                [
                    not "".join(values).strip()
                    for values in zip(*(rendered[i] for i in site.exprs), strict=True)
                ],
                dtype=bool,
            )

        checked_in_full = 0
        for row in np.flatnonzero(valid).tolist():
            email = emails[row]
            assert email is not None
            local, _, domain = email.rpartition("@")
            if email in self.suppressed or domain in self.suppressed_domains:
                reasons.setdefault(SUPPRESSED, []).append(row)
            if settings.hold_role_addresses and local in ROLE_LOCAL_PARTS:
                reasons.setdefault(ROLE_ADDRESS, []).append(row)
            recipient = self.resolve(email, domain, rendered, row)
            if self.test_mode and email not in self.test_list and recipient.party is not Party.INTERNAL:
                reasons.setdefault(NOT_ON_TEST_LIST, []).append(row)
            if slow[row]:
                checked_in_full += 1
                found = self._full_recipient_findings(batch, row, recipient)
            else:
                found = self.recipient_findings(recipient, outputs, rendered, row)
            for f in found:
                if f.severity <= Severity.INFO or (self.test_mode and f.rule == "test-marker"):
                    notes[f.rule] = notes.get(f.rule, 0) + 1
                    continue
                rows = reasons.setdefault(f.rule, [])
                if not rows or rows[-1] != row:
                    rows.append(row)
                if f.rule not in examples:
                    examples[f.rule] = f

        held = np.zeros(n, dtype=bool)
        for rows in reasons.values():
            held[rows] = True
        samples = {}
        for reason, rows in reasons.items():
            rows.sort()
            samples[reason] = [emails[r] or _shown(batch, email_col, r) for r in rows[:limit]]
        return ChunkResult(
            index=index,
            rows=n,
            reasons={r: len(rows) for r, rows in reasons.items()},
            samples=samples,
            examples=examples,
            notes=notes,
            missing_tags=missing_tags,
            emails=[e if ok else None for e, ok in zip(emails, valid.tolist(), strict=True)],
            held=held,
            checked_in_full=checked_in_full,
        )

    def _outputs(
        self, batch: pa.RecordBatch, columns: set[str]
    ) -> tuple[list[list[str]], list[np.ndarray], np.ndarray]:
        """Per merge tag: what it renders to for each row, and the rows where it is empty; and the rows
        with a line break in some value."""
        n = batch.num_rows
        multiline = np.zeros(n, dtype=bool)
        outputs: list[list[str]] = []
        missing_by_expr: list[np.ndarray] = []
        for expr in self.exprs:
            if expr.column is not None:
                if expr.column not in columns:
                    out = [""] * n
                    missing = np.ones(n, dtype=bool)
                else:
                    column = batch.column(expr.column)
                    values = column.to_pylist()
                    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                        text = ["" if v is None else v for v in values]
                    else:
                        text = ["" if v is None else str(v) for v in values]
                    arr = pa.array(text, pa.string())
                    missing = pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False)
                    multiline |= pc.match_substring_regex(arr, "[\r\n]").to_numpy(zero_copy_only=False)
                    out = _escape(arr).to_pylist() if expr.escape else text
            else:
                out = self._render_expression(expr, batch, columns)
                raw = [htmllib.unescape(o) for o in out] if expr.escape else out
                missing = np.array([not o.strip() for o in raw], dtype=bool)
                multiline |= np.array(["\n" in o or "\r" in o for o in raw], dtype=bool)
            outputs.append(out)
            missing_by_expr.append(missing)
        return outputs, missing_by_expr, multiline

    def _render_expression(self, expr: Any, batch: pa.RecordBatch, columns: set[str]) -> list[str]:
        names = sorted(n for n in expr.names if n in columns)
        lists = [batch.column(name).to_pylist() for name in names]
        out = []
        cache = self._expr_cache
        for values in zip(*lists, strict=True) if lists else [()] * batch.num_rows:
            key = (expr.index, values)
            hit = cache.get(key)
            if hit is None:
                hit = cache.put(key, expr.render(dict(zip(names, values, strict=True))))
            out.append(hit)
        return out

    # -- per recipient --------------------------------------------------------------------------------

    def resolve(self, email: str, domain: str, rendered: list[list[str]], row: int) -> Address:
        """The recipient as the parser would resolve it (internal, account by contact or domain, unknown)."""
        known = self._domain_cache.get(domain)
        if known is None:
            udomain = _unicode_domain(domain)
            internal = self.org.is_internal_domain(udomain)
            account = None if internal else self.org.directory.resolve("", udomain)[0]
            known = self._domain_cache.put(domain, (udomain, internal, account))
        udomain, internal, account = known
        display = self.display.translate(
            {SENTINEL_BASE + i: rendered[i][row] for i in self.display_exprs}
        ).strip()
        if internal:
            return Address(email, display, "To", udomain, Party.INTERNAL)
        contact = self.org.directory.contacts.get(email)
        if contact is not None:
            return Address(email, display, "To", udomain, Party.ACCOUNT, contact.account_id, "contact")
        if account is not None:
            return Address(email, display, "To", udomain, Party.ACCOUNT, account, "domain")
        return Address(email, display, "To", udomain, Party.UNKNOWN)

    def recipient_findings(
        self, recipient: Address, outputs: list[list[str]], rendered: list[list[str]], row: int
    ) -> list[Finding]:
        """Findings on this recipient's message that the template findings do not already cover."""
        external = recipient.is_external or self.fixed_external
        found: list[Finding] = []
        key = (recipient.party, recipient.account_id, recipient.domain, recipient.via)
        hit = self._recipient_cache.get(key)
        if hit is None:
            hit = self._recipient_cache.put(key, self._recipient_only(recipient))
        found.extend(hit)
        for site in self.sites:
            values = tuple(outputs[i][row] for i in site.exprs)
            folded = values if site.exact else tuple(DIGIT.sub("1", v) for v in values)
            skey = (site.id, external, folded)
            hit = self._site_cache.get(skey)
            if hit is None:
                hit = self._site_cache.put(skey, self._site_findings(site, folded, external))
            found.extend(hit)
        accounts = [recipient.account_id] if recipient.party is Party.ACCOUNT else []
        if self.balance_rule is not None and (self.static_claims or self.claim_sites):
            balance_accounts = list(dict.fromkeys(accounts + self.fixed_balance_accounts))
            if balance_accounts:
                found.extend(self._balance(balance_accounts, recipient, outputs, rendered, row))
        if self.foreign_rule is not None:
            recipient_accounts = frozenset(accounts + self.fixed_accounts)
            if recipient_accounts:
                found.extend(self._foreign(recipient_accounts, recipient, rendered, row))
        if self.greeting_rule is not None and self.greeting_line is not None:
            found.extend(self._greeting(recipient, rendered, row))
        return found

    def _recipient_only(self, recipient: Address) -> tuple[Finding, ...]:
        """Rules that judge the recipients alone (cross-account, lookalike domains), on an empty message."""
        stub = self._message(recipients=[recipient, *self.fixed])
        template = {(f.rule, f.evidence) for f in self.template_findings}
        return tuple(
            f
            for f in self.guard.check_message(stub).findings
            if f.rule not in (FOREIGN, BALANCE, GREETING_RULE) and (f.rule, f.evidence) not in template
        )

    def _site_findings(self, site: Site, values: tuple[str, ...], external: bool) -> tuple[Finding, ...]:
        baseline = self._baselines.get((site.id, external))
        if baseline is None:
            baseline = {_key(f) for f in self._site_check(site, {}, external)}
            self._baselines[(site.id, external)] = baseline
        fills = {SENTINEL_BASE + i: v for i, v in zip(site.exprs, values, strict=True)}
        return tuple(f for f in self._site_check(site, fills, external) if _key(f) not in baseline)

    def _site_check(self, site: Site, fills: Mapping[int, str], external: bool) -> list[Finding]:
        raw = {
            k: htmllib.unescape(v) if self.exprs[k - SENTINEL_BASE].escape else v for k, v in fills.items()
        }
        fields: dict[str, Any] = {}
        if site.kind == "subject":
            fields["subject"] = SUBJECT_SPACE.sub(" ", site.text.translate(raw)).strip()
        elif site.kind == "body":
            assert site.line is not None
            line = BodyLine(site.line.number, site.text.translate(raw), site.line.quoted)
            fields["lines"] = [line]
            fields["links"] = _text_links(line)
            fields["amounts"] = [
                Amount(value, currency, line.number, start, end, written, line.quoted)
                for start, end, value, currency, written in find_amounts(
                    line.text, self.guard.dollar_currency
                )
            ]
        else:
            fields["html_source"] = (self.base.html_source or "").translate(fills)
            if site.kind == "html":
                assert site.line is not None
                text = HTML_SPACE.sub(" ", site.text.translate(raw)).strip()
                fields["html_lines"] = [BodyLine(site.line.number, text, site.line.quoted)]
            fields["links"] = [
                Link(
                    lk.url.translate(raw),
                    _host(lk.url.translate(raw)) or "",
                    lk.anchor.translate(raw),
                    lk.line,
                    lk.quoted,
                )
                for lk in site.links
            ]
        stub = self._message(recipients=[self.probes[external], *self.fixed], **fields)
        return [f for f in self.guard.check_message(stub).findings if f.rule not in RECIPIENT_AWARE]

    def _balance(
        self,
        accounts: list[str],
        recipient: Address,
        outputs: list[list[str]],
        rendered: list[list[str]],
        row: int,
    ) -> tuple[Finding, ...]:
        texts: list[tuple[Site, str]] = []
        for site in self.claim_sites:
            values = tuple(outputs[i][row] for i in site.exprs)
            folded = tuple(DIGIT.sub("1", v) for v in values)
            key = (site.id, folded)
            claims = self._claim_cache.get(key)
            if claims is None:
                # Digits folded to 1 keep every span and window where it was: a line that makes a
                # balance claim with the folded values makes one with the real values.
                text = site.text.translate(
                    {SENTINEL_BASE + i: v for i, v in zip(site.exprs, folded, strict=True)}
                )
                claims = self._claim_cache.put(
                    key, bool(balance_claims(text, self._amounts(text, site.line)))
                )
            if claims:
                texts.append(
                    (site, site.text.translate({SENTINEL_BASE + i: rendered[i][row] for i in site.exprs}))
                )
        if not texts and not self.static_claims:
            return ()
        key = (tuple(accounts), tuple(text for _, text in texts))
        hit = self._balance_cache.get(key)
        if hit is None:
            lines = [line for line, _ in self.static_claims]
            amounts = [a for _, found in self.static_claims for a in found]
            for site, text in texts:
                assert site.line is not None
                lines.append(BodyLine(site.line.number, text, False))
                amounts += self._amounts(text, site.line)
            stub = self._message(recipients=[recipient, *self.fixed], lines=lines, amounts=amounts)
            assert self.balance_rule is not None
            hit = self._balance_cache.put(key, tuple(self.balance_rule.check(stub)))
        return hit

    def _amounts(self, text: str, line: BodyLine | None) -> list[Amount]:
        number = line.number if line is not None else 0
        return [
            Amount(value, currency, number, start, end, written, False)
            for start, end, value, currency, written in find_amounts(text, self.guard.dollar_currency)
        ]

    def _foreign(
        self, recipient_accounts: frozenset[str], recipient: Address, rendered: list[list[str]], row: int
    ) -> tuple[Finding, ...]:
        mentioned = set(self.static_accounts)
        places: list[tuple[Site, str]] = []
        for site in self.mention_sites:
            values = tuple(rendered[i][row] for i in site.exprs)
            key = (site.id, tuple(DIGIT.sub("1", v) for v in values) if self.fold_mentions else values)
            accounts = self._mention_cache.get(key)
            if accounts is None:
                accounts = self._mention_cache.put(
                    key, frozenset(m.account_id for m in self.mentions.find(self._fill_text(site, values)))
                )
            if accounts:
                mentioned |= accounts
                places.append((site, self._fill_text(site, values)))
        if not mentioned - recipient_accounts:
            return ()
        key = (recipient_accounts, tuple(text for _, text in places))
        hit = self._foreign_cache.get(key)
        if hit is None:
            subject = self.base.subject if self.static_subject_mentions else ""
            lines = list(self.static_mention_lines)
            for site, text in places:
                if site.kind == "subject":
                    subject = text
                else:
                    assert site.line is not None
                    lines.append(BodyLine(site.line.number, text, site.line.quoted))
            lines.sort(key=lambda ln: ln.number)
            stub = self._message(recipients=[recipient, *self.fixed], subject=subject, lines=lines)
            assert self.foreign_rule is not None
            hit = self._foreign_cache.put(key, tuple(self.foreign_rule.check(stub)))
        return hit

    def _fill_text(self, site: Site, values: tuple[str, ...]) -> str:
        text = site.text.translate({SENTINEL_BASE + i: v for i, v in zip(site.exprs, values, strict=True)})
        return SUBJECT_SPACE.sub(" ", text).strip() if site.kind == "subject" else text

    def _greeting(self, recipient: Address, rendered: list[list[str]], row: int) -> tuple[Finding, ...]:
        line = self.greeting_line
        assert line is not None and self.greeting_rule is not None
        site = self.greeting_site
        text = (
            line.text
            if site is None
            else site.text.translate({SENTINEL_BASE + i: rendered[i][row] for i in site.exprs})
        )
        parts = self._greeting_cache.get(text)
        if parts is None:
            parts = self._greeting_cache.put(text, _greeting_names(text))
        if not parts:
            return ()
        # The rule knows at least the display name's words: when they cover every greeted name, it
        # cannot fire, and the rule itself need not run.
        display = {t for t in DISPLAY_SPLIT.split(fold(recipient.display_name)) if t}
        display |= {canonical(t) for t in display}
        if all(any(canonical(t) in display or t in display for t in tokens) for tokens in parts):
            return ()
        stub = self._message(recipients=[recipient, *self.fixed], lines=[BodyLine(line.number, text, False)])
        return tuple(self.greeting_rule.check(stub))

    def _message(self, **fields: Any) -> Message:
        """A message holding only the given parts of the template (rules see nothing else)."""
        base = self.base
        values: dict[str, Any] = {
            "source": base.source,
            "subject": "",
            "sender": base.sender,
            "recipients": [],
            "reply_to": base.reply_to,
            "message_id": base.message_id,
            "in_reply_to": None,
            "references": [],
            "lines": [],
            "html_lines": [],
            "html_source": None,
            "links": [],
            "attachments": base.attachments,
            "amounts": [],
            "size": base.size,
        }
        values.update(fields)
        return Message(**values)

    # -- the reference: a recipient checked in full --------------------------------------------------

    def render_row(self, batch: pa.RecordBatch, row: int) -> dict[str, Any]:
        return {name: batch.column(name)[row].as_py() for name in batch.schema.names}

    def full_findings(self, values: Mapping[str, Any]) -> list[Finding]:
        """Every finding of the core guard on this recipient's message, rendered by Jinja."""
        return self.guard.check_message(self.guard.parse(self.template.render_message(values))).findings

    def _full_recipient_findings(self, batch: pa.RecordBatch, row: int, recipient: Address) -> list[Finding]:
        template = {(f.rule, f.evidence) for f in self.template_findings}
        return [
            f for f in self.full_findings(self.render_row(batch, row)) if (f.rule, f.evidence) not in template
        ]

    def template_rule_ids(self, recipient_external: bool) -> set[str]:
        """Template rules that a full check of one recipient's message would report."""
        return {
            f.rule
            for f in self.template_findings
            if recipient_external or self.fixed_external or f.rule != "test-marker"
        }


def _key(f: Finding) -> tuple:
    """What makes two findings the same place in the message, whatever the merged values."""
    loc = f.location
    return (f.rule, loc.field, loc.line) if loc.line is not None else (f.rule, loc.field, f.evidence)


def _text_links(line: BodyLine) -> list[Link]:
    """Links on a body line, found as the parser finds them."""
    links = []
    for m in URL_RE.finditer(line.text):
        url = m.group(0).rstrip(".,;:!?")
        host = _host(url if "://" in url else "http://" + url)
        if host is not None:
            links.append(Link(url, host, "", line.number, line.quoted))
    return links


def _greeting_names(text: str) -> tuple[tuple[str, ...], ...]:
    """The greeted names' word lists that the greeting rule would check, as it splits them."""
    m = GREETING.match(text)
    if not m:
        return ()
    parts = []
    for part in SPLIT.split(m.group("names")):
        tokens = [t for t in GREETING_SPLIT.split(fold(part)) if t]
        names = [t for t in tokens if t not in TITLES]
        if not names or any(t in GROUP_WORDS for t in names) or any(t.endswith("team") for t in names):
            continue
        parts.append(tuple(names))
    return tuple(parts)


def _as_text(array: pa.Array) -> pa.Array:
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def _escape(array: pa.Array) -> pa.Array:
    """HTML-escape as Jinja's autoescape (markupsafe) does."""
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        array = pc.replace_substring(array, old, new)
    return array


def _shown(batch: pa.RecordBatch, column: str, row: int) -> str:
    value = batch.column(column)[row].as_py()
    return "" if value is None else str(value)
