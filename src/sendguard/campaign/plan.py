"""The campaign plan: the template checked once by every rule, then per recipient only what differs.

The template is parsed once with a sentinel (one private-use character) standing for each merge
tag. Sentinels are inert to every rule, so the full guard run on that message gives the
*template findings*, and a recipient's message differs from it only at the sentinels. A chunk of
the audience is then checked column by column (Arrow), each check once per distinct value:

* the merge values in place: each line, subject or HTML line holding a tag (a *site*) is
  re-checked by the text rules with the values filled in, and only findings the values cause are
  kept (findings of the sentinel version are the template's). Values are folded (every digit to
  `1`: same length, so spans and windows do not move) before the cache, so a million recipients
  with a few thousand distinct first names, and unique order numbers, cost a few thousand checks;
* the recipient: internal, a customer account (by contact or domain) or unknown, and every rule
  that judges recipients alone (cross-account, lookalike domains), once per domain (and account);
* balance claims against the recipient account's ledger balance, mentions of other customers and
  the greeting against the recipient's name: cheap tests find the rows where the rule could fire,
  and only those go through the rule itself, on a small message holding only the lines concerned;
* the campaign checks: missing merge fields, segment, test list, suppression, role addresses.

A recipient whose values would change the shape of the message (a value with a line break, or an
empty line before the greeting), and every recipient of a template with `{% %}` statements or with
a merge tag in quoted text or a reply's subject (see `Plan.__init__`), is checked in full: rendered
by Jinja and run through `Guard.check_message`. `Plan.full_findings` does that for any recipient;
the test suite holds the fast path equal to it.
"""

from __future__ import annotations

import html as htmllib
import itertools
import re
from collections.abc import Iterator, Mapping
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
from sendguard.org.mentions import DOMAIN_RE as MENTION_DOMAIN
from sendguard.org.mentions import WORD_RE as MENTION_WORD
from sendguard.org.mentions import MentionIndex
from sendguard.report import Finding, Severity
from sendguard.rules.balance_mismatch import balance_claims
from sendguard.rules.greeting_mismatch import GREETING, GROUP_WORDS, SPLIT, TITLES, canonical, fold
from sendguard.rules.spelling import conversation_text

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
CACHE_LIMIT = 1 << 15  # entries per cache, per process: memory stays flat however large the audience
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DIGIT = re.compile(r"\d")
SUBJECT_SPACE = re.compile(r"\s+")
HTML_SPACE = re.compile(r"[ \t\u00a0]+")
DISPLAY_SPLIT = re.compile(r"[\s,.()\"']+")
GREETING_SPLIT = re.compile(r"[\s.]+")
ROLE_ARRAY = pa.array(sorted(ROLE_LOCAL_PARTS), pa.string())
PARTIES = (Party.INTERNAL, Party.ACCOUNT, Party.UNKNOWN)
SEP = "\x1f"  # joins the values of a key; a row with it in a value is checked in full
NONE = "\x1e"  # stands for a claim line that makes no claim for this row
MULTI = "\x1d"  # stands for "several accounts" where one account id is expected
OPAQUE = "\x00"  # the mention-cache key of every value that cannot be part of a mention
JOINS_BEFORE = re.compile(r"[\w&'’@.+\-]")
JOINS_AFTER = re.compile(r"[\w&'’@]")
WORD_CHAR = re.compile(r"[\w&]")


@dataclass(frozen=True)
class CampaignOptions:
    """Everything a worker needs to rebuild the plan: picklable, and the key of the per-process cache."""

    config_path: str
    template_path: str
    stamp: tuple[float, float]  # the files' modification times: an edited file makes a new plan
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
    exact: bool  # a tag inside a link's host, or a filter's markup in HTML: values are not folded
    links: list[Link] = field(default_factory=list)  # HTML links with tags, for "html"/"attr" sites
    blank: bool = False  # the line is nothing but tags: it may render empty
    escape: bool = False  # the tags render into HTML (escaped)


@dataclass
class _Merged:
    """A chunk's merge values, per tag (index = expression index), as Arrow string arrays."""

    missing: np.ndarray  # rows where some tag renders empty
    reshaping: np.ndarray  # rows with a value that would change the message's shape: checked in full
    out: list[pa.Array] = field(default_factory=list)  # as inserted (HTML-escaped in HTML)
    raw: list[pa.Array] = field(default_factory=list)  # as read
    missing_tags: dict[str, int] = field(default_factory=dict)


@dataclass
class _Recipients:
    """A chunk's addresses, resolved; arrays over the rows."""

    local_arr: pa.Array
    domain_arr: pa.Array
    udomain: np.ndarray
    internal: np.ndarray
    party: np.ndarray  # index into PARTIES
    account: np.ndarray  # account id or None
    via: np.ndarray
    external: np.ndarray  # the message has an external recipient: the recipient or a fixed Cc/Bcc
    account_arr: pa.Array  # account id, "" for none
    key_arr: pa.Array  # what decides who the recipient is: domain, and the account of a contact

    def address(self, row: int, email: str, display: str = "") -> Address:
        return Address(
            email,
            display,
            "To",
            self.udomain[row],
            PARTIES[self.party[row]],
            self.account[row],
            self.via[row],
        )


@dataclass
class _Evaluation:
    emails: pa.Array
    valid: np.ndarray
    keys: np.ndarray  # 64-bit address hashes (0 where invalid)
    masks: dict[str, np.ndarray]  # campaign reasons: rows held for each
    hits: list[tuple[int, Finding]]  # (row, finding) of the core rules beyond the template's
    missing_tags: dict[str, int]
    checked_in_full: int


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
    emails: pa.Array  # normalised addresses; null where invalid (never a duplicate)
    keys: np.ndarray  # their 64-bit hashes, for finding duplicates across chunks
    held: np.ndarray  # bool per row: held for some reason other than being a duplicate
    checked_in_full: int


class _Cache(dict):
    """A dict bounded to CACHE_LIMIT entries: when full, the older half goes (insertion order), so
    memory stays flat and the values seen lately stay cheap."""

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= CACHE_LIMIT:
            for old in list(itertools.islice(self, CACHE_LIMIT // 2)):
                del self[old]
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

        # Statements ({% if %}, {% for %}) decide the text per recipient: every recipient of such a
        # template is checked in full, and the template has no findings of its own. So is a template
        # with a merge tag in what the spelling rule reads as others' words (quoted text, a reply's
        # subject): a value there vouches for the same word in the new text, which a check of one
        # site at a time cannot see.
        self.flat = template.flat and not SENTINEL_RE.search(conversation_text(self.base))
        self.template_findings = self._template_findings() if self.flat else []
        self.sites = self._sites()
        self.display = template.parts["to_display"].with_sentinels() if "to_display" in template.parts else ""
        self.display_exprs = tuple(e.index for e in self.exprs if e.part == "to_display")
        # When a separator stands between every tag of the display name and its neighbours, the
        # name's words are the static words plus each value's own: each value's words are cached.
        pieces = [p for p in SENTINEL_RE.split(self.display)]
        self.display_split = all(
            (i == 0 or DISPLAY_SPLIT.match(p[:1] or " "))
            and (i == len(pieces) - 1 or DISPLAY_SPLIT.match(p[-1:] or " "))
            and (p or i in (0, len(pieces) - 1))
            for i, p in enumerate(pieces)
        )
        self.display_words = frozenset(
            w for p in pieces for w in DISPLAY_SPLIT.split(fold(p)) if w
        ) | frozenset(canonical(w) for p in pieces for w in DISPLAY_SPLIT.split(fold(p)) if w)
        self._plan_greeting()
        self._plan_balance()
        self._plan_mentions()

        addresses, domains = (
            read_suppression(self.settings.suppression_list) if self.settings.suppression_list else ([], [])
        )
        self.suppressed = pa.array(sorted(set(addresses)), pa.string())
        self.suppressed_domains = pa.array(sorted(set(domains)), pa.string())
        self.test_list = pa.array(sorted(self.settings.test_recipients), pa.string())
        contacts = self.org.directory.contacts
        self.contact_emails = pa.array(list(contacts), pa.string())
        self.contact_accounts = np.array([c.account_id for c in contacts.values()] or [None], dtype=object)

        self._site_cache = _Cache()
        self._baselines: dict[tuple[int, bool], set[tuple]] = {}
        self._recipient_cache = _Cache()
        self._domain_cache = _Cache()
        self._greeting_cache = _Cache()
        self._words_cache = _Cache()
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
        for site in sites:
            site.escape = any(self.exprs[i].escape for i in site.exprs)
            # A filter's markup is not escaped text: fold nothing there.
            site.exact = site.exact or any(
                self.exprs[i].escape and self.exprs[i].column is None for i in site.exprs
            )
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
        # A value none of whose words is a word of an account name cannot be part of a mention;
        # where its tag stands apart from the text around it, every such value finds the same.
        self.mention_words = frozenset(w for term in self.mentions.terms for w in term.split(" "))
        self.apart = {s.id: _tags_stand_apart(s.text) for s in self.mention_sites}
        self._opaque_cache = _Cache()

    # -- per chunk: columns, not rows; every check runs once per distinct value ----------------------

    def check_batch(self, batch: pa.RecordBatch, index: int = 0) -> ChunkResult:
        """Check one chunk of the audience (any size; results do not depend on how it is cut)."""
        return self._result(index, batch, self._evaluate(batch))

    def row_findings(self, batch: pa.RecordBatch) -> list[list[Finding]]:
        """Per row, the findings of the core rules on that recipient's message beyond the template's
        (what `check_batch` counts; for tests and for looking into one recipient)."""
        out: list[list[Finding]] = [[] for _ in range(batch.num_rows)]
        for row, f in self._evaluate(batch).hits:
            out[row].append(f)
        return out

    def _evaluate(self, batch: pa.RecordBatch) -> _Evaluation:
        columns = set(batch.schema.names)
        email_col = self.template.email_column
        if email_col not in columns:
            raise InputError(f"the audience has no {email_col!r} column (the recipient's address)")
        emails = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(batch.column(email_col))))
        valid = _mask(pc.match_substring_regex(emails, EMAIL_RE))
        merged = self._outputs(batch, columns)
        rec = self._recipients(emails, valid)

        masks: dict[str, np.ndarray] = {INVALID_ADDRESS: ~valid, MISSING_MERGE_FIELD: merged.missing}
        if self.options.segment:
            masks[SEGMENT_MISMATCH] = ~segment_mask(batch, self.options.segment)
        masks[SUPPRESSED] = valid & (
            _mask(pc.is_in(emails, value_set=self.suppressed))
            | _mask(pc.is_in(rec.domain_arr, value_set=self.suppressed_domains))
        )
        if self.settings.hold_role_addresses:
            masks[ROLE_ADDRESS] = valid & _mask(pc.is_in(rec.local_arr, value_set=ROLE_ARRAY))
        if self.test_mode:
            masks[NOT_ON_TEST_LIST] = (
                valid & ~rec.internal & ~_mask(pc.is_in(emails, value_set=self.test_list))
            )

        full = merged.reshaping.copy() if self.flat else np.ones(batch.num_rows, dtype=bool)
        for site in self.blank_before_greeting:
            joined = _join([merged.raw[i] for i in site.exprs])
            full |= _mask(pc.equal(pc.utf8_trim_whitespace(joined), ""))
        fast = valid & ~full
        hits: list[tuple[int, Finding]] = []
        if fast.any():
            self._recipient_only_hits(rec, emails, fast, hits)
            self._site_hits(merged, rec, fast, hits)
            self._balance_hits(merged, rec, fast, hits)
            self._foreign_hits(merged, rec, fast, hits)
            self._greeting_hits(merged, rec, emails, fast, hits)
        full_rows = np.flatnonzero(valid & full).tolist()
        for row in full_rows:
            hits.extend((row, f) for f in self._full_recipient_findings(batch, row))
        keys = np.zeros(batch.num_rows, dtype=np.uint64)
        if valid.any():
            keys[valid] = address_keys(emails.filter(pa.array(valid)).to_pylist())
        return _Evaluation(emails, valid, keys, masks, hits, merged.missing_tags, len(full_rows))

    def _result(self, index: int, batch: pa.RecordBatch, ev: _Evaluation) -> ChunkResult:
        held = np.zeros(batch.num_rows, dtype=bool)
        reasons: dict[str, np.ndarray] = {}
        for reason, mask in ev.masks.items():
            if mask.any():
                reasons[reason] = np.flatnonzero(mask)
                held |= mask
        examples: dict[str, Finding] = {}
        notes: dict[str, set[int]] = {}
        by_rule: dict[str, set[int]] = {}
        for row, f in sorted(ev.hits, key=lambda h: h[0]):
            if f.severity <= Severity.INFO or (self.test_mode and f.rule == "test-marker"):
                notes.setdefault(f.rule, set()).add(row)
                continue
            by_rule.setdefault(f.rule, set()).add(row)
            examples.setdefault(f.rule, f)
        for rule, rule_rows in by_rule.items():
            reasons[rule] = np.array(sorted(rule_rows), dtype=np.int64)
            held[reasons[rule]] = True
        email_col = self.template.email_column
        samples = {
            reason: [
                ev.emails[r].as_py() or _shown(batch, email_col, r)
                for r in found[: self.settings.samples].tolist()
            ]
            for reason, found in reasons.items()
        }
        return ChunkResult(
            index=index,
            rows=batch.num_rows,
            reasons={r: len(found) for r, found in reasons.items()},
            samples=samples,
            examples=examples,
            notes={rule: len(found) for rule, found in notes.items()},
            missing_tags=ev.missing_tags,
            emails=pc.if_else(pa.array(ev.valid), ev.emails, pa.scalar(None, pa.string())),
            keys=ev.keys,
            held=held,
            checked_in_full=ev.checked_in_full,
        )

    def _outputs(self, batch: pa.RecordBatch, columns: set[str]) -> _Merged:
        """What every merge tag renders to, per row; the rows that leave a tag empty; the rows whose
        values would reshape the message (a line break) or could not be told apart in a key."""
        n = batch.num_rows
        merged = _Merged(missing=np.zeros(n, dtype=bool), reshaping=np.zeros(n, dtype=bool))
        done: dict[tuple[str | None, bool], tuple[pa.Array, pa.Array, np.ndarray]] = {}
        for expr in self.exprs:
            key = (expr.column, expr.escape)
            if expr.column is None or key not in done:
                arr, raw = self._render_column(expr, batch, columns)
                empty = _mask(pc.equal(pc.utf8_trim_whitespace(raw), ""))
                for bad in ("\n", "\r", SEP, NONE):
                    merged.reshaping |= _mask(pc.match_substring(raw, bad))
                done[key] = (arr, raw, empty)
            arr, raw, empty = done[key]
            merged.out.append(arr)
            merged.raw.append(raw)
            merged.missing |= empty
            if empty.any():
                merged.missing_tags[expr.tag] = int(empty.sum())
        return merged

    def _render_column(
        self, expr: Any, batch: pa.RecordBatch, columns: set[str]
    ) -> tuple[pa.Array, pa.Array]:
        """(as inserted, as read) for one merge tag over the chunk."""
        n = batch.num_rows
        if expr.column is not None and expr.column not in columns:
            empty = pa.array([""] * n, pa.string())
            return empty, empty
        if expr.column is not None:
            column = batch.column(expr.column)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                raw = pc.fill_null(pc.cast(column, pa.string()), "")
            else:  # Jinja renders str(value): 1.0 stays "1.0", where an Arrow cast would write "1"
                raw = pa.array(["" if v is None else str(v) for v in column.to_pylist()], pa.string())
            return (_escape(raw) if expr.escape else raw), raw
        names = sorted(name for name in expr.names if name in columns)
        lists = [batch.column(name).to_pylist() for name in names]
        out = []
        for values in zip(*lists, strict=True) if lists else [()] * n:
            cached = self._expr_cache.get((expr.index, values))
            if cached is None:
                cached = self._expr_cache.put(
                    (expr.index, values), expr.render(dict(zip(names, values, strict=True)))
                )
            out.append(cached)
        arr = pa.array(out, pa.string())
        if not expr.escape:
            return arr, arr
        # A filter may return markup: read it as the HTML parser would.
        return arr, pa.array([htmllib.unescape(v) for v in out], pa.string())

    def _recipients(self, emails: pa.Array, valid: np.ndarray) -> _Recipients:
        """Every address resolved as the parser resolves it: internal, an account (by contact, else by
        domain or a parent domain) or unknown; one look-up per distinct domain."""
        n = len(emails)
        parts = pc.split_pattern(pc.if_else(pa.array(valid), emails, "@"), "@", max_splits=1, reverse=True)
        local_arr, domain_arr = pc.list_element(parts, 0), pc.list_element(parts, 1)
        encoded = pc.dictionary_encode(domain_arr)
        known = [self._domain(d) for d in encoded.dictionary.to_pylist()] or [("", False, None)]
        codes = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)
        udomain = np.array([k[0] for k in known], dtype=object)[codes]
        internal = np.array([k[1] for k in known], dtype=bool)[codes] & valid
        by_domain = np.array([k[2] for k in known], dtype=object)[codes]
        contact = pc.fill_null(pc.index_in(emails, value_set=self.contact_emails), -1).to_numpy(
            zero_copy_only=False
        )
        has_contact = (contact >= 0) & valid & ~internal
        account = np.where(has_contact, self.contact_accounts[np.maximum(contact, 0)], by_domain)
        account[internal | ~valid] = None
        party = np.full(n, 2, dtype=np.int8)
        party[account != None] = 1  # noqa: E711 - elementwise comparison
        party[internal] = 0
        contact_account = pa.array(np.where(has_contact, account, ""), pa.string())
        return _Recipients(
            local_arr=local_arr,
            domain_arr=domain_arr,
            udomain=udomain,
            internal=internal,
            party=party,
            account=account,
            via=np.where(has_contact, "contact", np.where(party == 1, "domain", None)),
            external=~internal | self.fixed_external,
            account_arr=pa.array(np.where(party == 1, account, ""), pa.string()),
            # Who a recipient is follows from its domain and, for a directory contact, its account.
            key_arr=pc.binary_join_element_wise(domain_arr, contact_account, SEP),
        )

    def _domain(self, domain: str) -> tuple[str, bool, str | None]:
        known = self._domain_cache.get(domain)
        if known is None:
            udomain = _unicode_domain(domain)
            internal = self.org.is_internal_domain(udomain)
            account = None if internal else self.org.directory.resolve("", udomain)[0]
            known = self._domain_cache.put(domain, (udomain, internal, account))
        return known

    # -- per recipient, by distinct values -----------------------------------------------------------

    def _recipient_only_hits(
        self, rec: _Recipients, emails: pa.Array, fast: np.ndarray, hits: list[tuple[int, Finding]]
    ) -> None:
        """Rules that judge the recipients alone (cross-account, lookalike domains), once per distinct
        recipient kind (domain, and account for a contact), on a message with no text."""
        template = {(f.rule, f.evidence) for f in self.template_findings}
        firing: dict[str, tuple[Finding, ...]] = {}
        groups = _Groups(rec.key_arr, fast)
        for key, row in groups:
            found = self._recipient_cache.get(key)
            if found is None:
                stub = self._message(recipients=[rec.address(row, emails[row].as_py()), *self.fixed])
                found = self._recipient_cache.put(
                    key,
                    tuple(
                        f
                        for f in self.guard.check_message(stub).findings
                        if f.rule not in (FOREIGN, BALANCE, GREETING_RULE)
                        and (f.rule, f.evidence) not in template
                    ),
                )
            if found:
                firing[key] = found
        groups.spread(firing, hits)

    def _site_hits(
        self, merged: _Merged, rec: _Recipients, fast: np.ndarray, hits: list[tuple[int, Finding]]
    ) -> None:
        """The text rules on each place holding merge tags, once per distinct value (digits folded)."""
        for external in (True, False):
            rows = fast & (rec.external if external else ~rec.external)
            if not rows.any():
                continue
            for site in self.sites:
                keys = _join([merged.out[i] for i in site.exprs])
                groups = _Groups(keys, rows)
                # Fold the distinct values (not every row): most fold together.
                folded = groups.values if site.exact else self._fold(site, groups.values)
                firing: dict[str, tuple[Finding, ...]] = {}
                for key, value in zip(groups.values, folded, strict=True):
                    found = self._site_cache.get((site.id, external, value))
                    if found is None:
                        found = self._site_cache.put(
                            (site.id, external, value),
                            self._site_findings(site, tuple(value.split(SEP)), external),
                        )
                    if found:
                        firing[key] = found
                groups.spread(firing, hits)

    def _fold(self, site: Site, values: list[str]) -> list[str]:
        """Values with every digit made 1, for cache keys: spans and windows stay put. In HTML the
        text is folded as read and escaped again (folding "&#39;" would make another character)."""
        arr = pc.replace_substring_regex(
            _unescape(pa.array(values, pa.string())) if site.escape else pa.array(values, pa.string()),
            r"\d",
            "1",
        )
        return (_escape(arr) if site.escape else arr).to_pylist()

    def _site_findings(self, site: Site, values: tuple[str, ...], external: bool) -> tuple[Finding, ...]:
        """Findings the values cause at this site: those of the sentinel version are the template's."""
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
            fields["amounts"] = self._amounts(line.text, line)
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

    def _balance_hits(
        self, merged: _Merged, rec: _Recipients, fast: np.ndarray, hits: list[tuple[int, Finding]]
    ) -> None:
        """Balance claims against the ledger, once per distinct (account, values on the claim lines)."""
        if self.balance_rule is None or not (self.static_claims or self.claim_sites):
            return
        fixed = self.fixed_balance_accounts
        rows = fast if fixed else fast & (rec.party == 1)
        if not rows.any():
            return
        parts = [rec.account_arr]
        claiming: list[Site] = []
        for site in self.claim_sites:
            keys = _join([merged.raw[i] for i in site.exprs])
            values = _Groups(keys, rows).values
            folded = pc.replace_substring_regex(pa.array(values, pa.string()), r"\d", "1").to_pylist()
            claims = [key for key, fold in zip(values, folded, strict=True) if self._makes_claim(site, fold)]
            if claims:
                claiming.append(site)
                # A line that makes no claim for this row stands as NONE: it does not enter the key.
                none = SEP.join([NONE] * len(site.exprs))
                parts.append(pc.if_else(pc.is_in(keys, value_set=pa.array(claims, pa.string())), keys, none))
        if not claiming and not self.static_claims:
            return
        keys = _join(parts)
        firing: dict[str, tuple[Finding, ...]] = {}
        groups = _Groups(keys, rows)
        for key, _ in groups:
            found = self._balance_cache.get(key)
            if found is None:
                account, *values = key.split(SEP)
                accounts = list(dict.fromkeys(([account] if account else []) + fixed))
                lines = []
                for site in claiming:
                    site_values, values = values[: len(site.exprs)], values[len(site.exprs) :]
                    if site_values[0] != NONE:
                        fills = dict(zip(_sentinels(site.exprs), site_values, strict=True))
                        lines.append((site, site.text.translate(fills)))
                found = self._balance_cache.put(key, self._balance(accounts, lines))
            if found:
                firing[key] = found
        groups.spread(firing, hits)

    def _makes_claim(self, site: Site, folded: str) -> bool:
        """Does this line state a balance with these values, digits folded to 1 (as read)? Folding
        keeps every span and window where it was, so the answer holds for every value of that shape."""
        claims = self._claim_cache.get((site.id, folded))
        if claims is None:
            text = site.text.translate(dict(zip(_sentinels(site.exprs), folded.split(SEP), strict=True)))
            claims = self._claim_cache.put(
                (site.id, folded), bool(balance_claims(text, self._amounts(text, site.line)))
            )
        return claims

    def _balance(self, accounts: list[str], claim_lines: list[tuple[Site, str]]) -> tuple[Finding, ...]:
        lines = [line for line, _ in self.static_claims]
        amounts = [a for _, found in self.static_claims for a in found]
        for site, text in claim_lines:
            assert site.line is not None
            lines.append(BodyLine(site.line.number, text, False))
            amounts += self._amounts(text, site.line)
        recipients = [
            Address(f"recipient@{PROBE_DOMAIN}", "", "To", PROBE_DOMAIN, Party.ACCOUNT, a, "contact")
            for a in accounts
        ]
        stub = self._message(
            recipients=recipients, lines=sorted(lines, key=lambda ln: ln.number), amounts=amounts
        )
        assert self.balance_rule is not None
        return tuple(self.balance_rule.check(stub))

    def _amounts(self, text: str, line: BodyLine | None) -> list[Amount]:
        number = line.number if line is not None else 0
        return [
            Amount(value, currency, number, start, end, written, False)
            for start, end, value, currency, written in find_amounts(text, self.guard.dollar_currency)
        ]

    def _foreign_hits(
        self, merged: _Merged, rec: _Recipients, fast: np.ndarray, hits: list[tuple[int, Finding]]
    ) -> None:
        """Other customers named in the text (static or merged) when the message goes to a customer.
        Rows go through the rule only where some account named is not the recipient's own."""
        if self.foreign_rule is None:
            return
        fixed = frozenset(self.fixed_accounts)
        rows = fast if fixed else fast & (rec.party == 1)
        if not rows.any():
            return
        naming: list[tuple[Site, pa.Array, dict[str, frozenset[str]]]] = []
        for site in self.mention_sites:
            keys = _join([merged.raw[i] for i in site.exprs])
            named = {key: self._named(site, tuple(key.split(SEP))) for key, _ in _Groups(keys, rows)}
            named = {key: accounts for key, accounts in named.items() if accounts - fixed}
            if named:
                naming.append((site, keys, named))
        static = frozenset(self.static_accounts) - fixed
        candidates = np.zeros(len(rows), dtype=bool)
        if len(static) > 1:
            candidates |= rows
        elif static:
            candidates |= rows & _mask(pc.not_equal(rec.account_arr, next(iter(static))))
        for _, keys, named in naming:
            # Per row, the one other account its values name (MULTI when several): a candidate
            # unless that is the recipient's own account.
            names = [next(iter(a - fixed)) if len(a - fixed) == 1 else MULTI for a in named.values()]
            where = pc.index_in(keys, value_set=pa.array(list(named), pa.string()))
            named_account = pc.take(pa.array(names, pa.string()), where)
            candidates |= rows & _mask(pc.not_equal(named_account, rec.account_arr))
        for row in np.flatnonzero(candidates).tolist():
            recipient_accounts = fixed | ({rec.account[row]} - {None})
            places = []
            others = static - recipient_accounts
            for site, keys, named in naming:
                key = keys[row].as_py()
                if key in named:
                    others |= named[key] - recipient_accounts
                    places.append((site, self._fill_text(site, tuple(key.split(SEP)))))
            if not others:
                continue
            cache_key = (recipient_accounts, tuple(text for _, text in places))
            found = self._foreign_cache.get(cache_key)
            if found is None:
                found = self._foreign_cache.put(cache_key, self._foreign(recipient_accounts, places))
            hits.extend((row, f) for f in found)

    def _named(self, site: Site, values: tuple[str, ...]) -> frozenset[str]:
        """The accounts named on this site's line with these values."""
        key = (site.id, tuple(map(self._mention_key, values)) if self.apart[site.id] else values)
        accounts = self._mention_cache.get(key)
        if accounts is None:
            found = self.mentions.find(self._fill_text(site, values))
            accounts = self._mention_cache.put(key, frozenset(m.account_id for m in found))
        return accounts

    def _mention_key(self, value: str) -> str:
        """The value itself, or OPAQUE when it cannot take part in any mention (see `mention_words`)."""
        key = self._opaque_cache.get(value)
        if key is None:
            words = MENTION_WORD.findall(value)
            inert = (
                bool(words)
                and "@" not in value
                and not MENTION_DOMAIN.search(value)
                and not any(w.lower().replace("’", "'") in self.mention_words for w in words)
            )
            key = self._opaque_cache.put(value, OPAQUE if inert else value)
        return key

    def _foreign(self, recipient_accounts: set[str], places: list[tuple[Site, str]]) -> tuple[Finding, ...]:
        subject = self.base.subject if self.static_subject_mentions else ""
        lines = list(self.static_mention_lines)
        for site, text in places:
            if site.kind == "subject":
                subject = text
            else:
                assert site.line is not None
                lines.append(BodyLine(site.line.number, text, site.line.quoted))
        lines.sort(key=lambda ln: ln.number)
        recipients = [
            Address(f"recipient@{PROBE_DOMAIN}", "", "To", PROBE_DOMAIN, Party.ACCOUNT, a, "contact")
            for a in sorted(recipient_accounts)
        ]
        stub = self._message(recipients=recipients, subject=subject, lines=lines)
        assert self.foreign_rule is not None
        return tuple(self.foreign_rule.check(stub))

    def _fill_text(self, site: Site, values: tuple[str, ...]) -> str:
        text = site.text.translate({SENTINEL_BASE + i: v for i, v in zip(site.exprs, values, strict=True)})
        return SUBJECT_SPACE.sub(" ", text).strip() if site.kind == "subject" else text

    def _greeting_hits(
        self,
        merged: _Merged,
        rec: _Recipients,
        emails: pa.Array,
        fast: np.ndarray,
        hits: list[tuple[int, Finding]],
    ) -> None:
        """The greeted names against the recipient's: only recipients whose display name does not
        cover every name greeted go through the greeting rule itself (the rule knows those words and
        more, so it cannot fire on the others)."""
        line = self.greeting_line
        if self.greeting_rule is None or line is None:
            return
        site = self.greeting_site
        greet_exprs = site.exprs if site is not None else ()

        def greeting(values: tuple[str, ...]) -> str:
            return (
                site.text.translate(dict(zip(_sentinels(greet_exprs), values, strict=True)))
                if site
                else line.text
            )

        # First by the greeting's own values: where the display name shows the same column (Hi {{
        # first_name }} to {{ first_name }} {{ last_name }}), its words alone often cover the name,
        # and then every other word of the display name only adds to them.
        rows = fast
        if self.display_split and greet_exprs:
            greet_keys = _join([merged.raw[i] for i in greet_exprs])
            groups = _Groups(greet_keys, fast)
            open_keys = set()
            for key, _ in groups:
                values = tuple(key.split(SEP))
                names = self._greeted(greeting(values))
                by_column = {self.exprs[g].column: v for g, v in zip(greet_exprs, values, strict=True)}
                shared = [
                    by_column[self.exprs[d].column]
                    for d in self.display_exprs
                    if self.exprs[d].column in by_column
                ]
                if names and not self._covered(names, [self.display_words, *map(self._words, shared)]):
                    open_keys.add(key)
            rows = np.zeros(len(fast), dtype=bool)
            rows[groups.rows_of(open_keys)] = True
            if not rows.any():
                return
        exprs = greet_exprs + self.display_exprs
        keys = _join([merged.raw[i] for i in exprs]) if exprs else None
        groups = _Groups(keys, rows) if keys is not None else None
        doubtful: dict[str, tuple[str, str]] = {}
        for key, _ in groups if groups is not None else [("", 0)]:
            values = key.split(SEP) if exprs else []
            greet, shown = tuple(values[: len(greet_exprs)]), tuple(values[len(greet_exprs) :])
            text = greeting(greet)
            names = self._greeted(text)
            if names and not self._display_covers(names, shown):
                display = self.display.translate(
                    dict(zip(_sentinels(self.display_exprs), shown, strict=True))
                )
                doubtful[key] = (text, display.strip())
        if not doubtful:
            return
        chosen = groups.rows_of(set(doubtful)) if groups is not None else np.flatnonzero(rows)
        for row in chosen.tolist():
            text, display = doubtful[keys[row].as_py() if keys is not None else ""]
            recipient = rec.address(row, emails[row].as_py(), display)
            stub = self._message(
                recipients=[recipient, *self.fixed], lines=[BodyLine(line.number, text, False)]
            )
            hits.extend((row, f) for f in self.greeting_rule.check(stub))

    def _display_covers(
        self, parts: tuple[tuple[tuple[str, str], ...], ...], values: tuple[str, ...]
    ) -> bool:
        """Every greeted name has a word in the display name, as the greeting rule reads words."""
        if self.display_split:
            return self._covered(parts, [self.display_words, *map(self._words, values)])
        fills = dict(zip(_sentinels(self.display_exprs), values, strict=True))
        return self._covered(parts, [self._words(self.display.translate(fills).strip())])

    @staticmethod
    def _covered(parts: tuple[tuple[tuple[str, str], ...], ...], words: list[frozenset[str]]) -> bool:
        return all(any(t in w or c in w for w in words for t, c in tokens) for tokens in parts)

    def _greeted(self, text: str) -> tuple[tuple[tuple[str, str], ...], ...]:
        """The names the greeting rule would check in this line: per name, its (word, canonical) pairs."""
        parts = self._greeting_cache.get(text)
        if parts is None:
            parts = self._greeting_cache.put(
                text, tuple(tuple((t, canonical(t)) for t in tokens) for tokens in _greeting_names(text))
            )
        return parts

    def _words(self, name: str) -> frozenset[str]:
        """The words the greeting rule reads from a name: folded, split, with their canonical forms."""
        words = self._words_cache.get(name)
        if words is None:
            found = {t for t in DISPLAY_SPLIT.split(fold(name)) if t}
            words = self._words_cache.put(name, frozenset(found | {canonical(t) for t in found}))
        return words

    def _message(self, **fields: Any) -> Message:
        """The template message holding only the given parts (rules see nothing else).

        Built by `replace`, so any field the model gains keeps the template's value. Stub lines keep
        their line numbers, so "no footer" must be spelled as a footer after the last line.
        """
        base = self.base
        values: dict[str, Any] = {
            "subject": "",
            "recipients": [],
            "in_reply_to": None,
            "references": [],
            "lines": [],
            "html_lines": [],
            "html_source": None,
            "links": [],
            "amounts": [],
            "footer_line": base.footer_line if base.footer_line is not None else len(base.lines) + 1,
        }
        values.update(fields)
        return replace(base, **values)

    # -- the reference: a recipient checked in full --------------------------------------------------

    def render_row(self, batch: pa.RecordBatch, row: int) -> dict[str, Any]:
        return {name: batch.column(name)[row].as_py() for name in batch.schema.names}

    def full_findings(self, values: Mapping[str, Any]) -> list[Finding]:
        """Every finding of the core guard on this recipient's message, rendered by Jinja."""
        return self.guard.check_message(self.guard.parse(self.template.render_message(values))).findings

    def _full_recipient_findings(self, batch: pa.RecordBatch, row: int) -> list[Finding]:
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


def _mask(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _unescape(array: pa.Array) -> pa.Array:
    """Undo `_escape` (and markupsafe's escape) exactly, as the HTML parser reads the text back."""
    for entity, char in (("&#39;", "'"), ("&#34;", '"'), ("&gt;", ">"), ("&lt;", "<"), ("&amp;", "&")):
        array = pc.replace_substring(array, entity, char)
    return array


def _tags_stand_apart(text: str) -> bool:
    """No tag touches a word, address or domain character of the text around it (or another tag),
    so a value's words and the text's words stay apart."""
    for m in SENTINEL_RE.finditer(text):
        before, after, next_after = (
            text[m.start() - 1 : m.start()],
            text[m.end() : m.end() + 1],
            text[m.end() + 1 : m.end() + 2],
        )
        if before and (JOINS_BEFORE.match(before) or SENTINEL_RE.match(before)):
            return False
        if after and (JOINS_AFTER.match(after) or SENTINEL_RE.match(after)):
            return False
        if after in (".", "-") and next_after and WORD_CHAR.match(next_after):
            return False
    return True


def address_keys(emails: list[str]) -> np.ndarray:
    """Stable 64-bit hashes of addresses (the same in every process, unlike `hash()`)."""
    import pandas as pd

    return pd.util.hash_array(np.asarray(emails, dtype=object))


def _join(arrays: list[pa.Array]) -> pa.Array:
    """One key per row from several value columns (values holding SEP are checked in full)."""
    return arrays[0] if len(arrays) == 1 else pc.binary_join_element_wise(*arrays, SEP)


class _Groups:
    """The masked rows grouped by key (one hash pass): the distinct keys with a first row each, and
    the rows of any keys."""

    def __init__(self, keys: pa.Array, mask: np.ndarray) -> None:
        self.rows = np.flatnonzero(mask)
        if len(self.rows):
            encoded = pc.dictionary_encode(keys.take(pa.array(self.rows)))
            self.values: list[str] = encoded.dictionary.to_pylist()
            self.codes = encoded.indices.to_numpy(zero_copy_only=False)
        else:
            self.values, self.codes = [], np.empty(0, dtype=np.int32)
        # Codes are given in order of first appearance, so code c first appears at first[c].
        _, first = np.unique(self.codes, return_index=True)
        self.first_rows = self.rows[first].tolist()

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(zip(self.values, self.first_rows, strict=True))

    def spread(self, firing: Mapping[str, tuple[Finding, ...]], hits: list[tuple[int, Finding]]) -> None:
        """Give every row whose key fires that key's findings."""
        if not firing:
            return
        found = [firing.get(value, ()) for value in self.values]
        for pos in np.flatnonzero(np.isin(self.codes, [c for c, f in enumerate(found) if f])).tolist():
            hits.extend((int(self.rows[pos]), f) for f in found[self.codes[pos]])

    def rows_of(self, keys: set[str]) -> np.ndarray:
        return self.rows[np.isin(self.codes, [c for c, v in enumerate(self.values) if v in keys])]


def _sentinels(exprs: tuple[int, ...]) -> list[int]:
    """The sentinels' code points, as keys for `str.translate`."""
    return [SENTINEL_BASE + i for i in exprs]


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
