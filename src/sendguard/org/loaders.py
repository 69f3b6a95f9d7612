"""Build the Org from sendguard.toml: directory and ledger from CSV files or a SQL database."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sendguard.config import Config
from sendguard.errors import ConfigError
from sendguard.org.model import Account, Balance, Contact, Directory, Org

ACCOUNT_COLUMNS = ("account_id", "name", "domains", "aliases")
CONTACT_COLUMNS = ("email", "name", "account_id")
LEDGER_COLUMNS = ("account_id", "balance", "currency")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([^\s.@]+\.)+[^\s.@]+$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

Row = tuple[int | None, Mapping[str, Any]]  # (line number, or None for SQL rows; the row)


def load_org(config: Config) -> Org:
    name = config.get("organization", "name", str, "")
    internal = config.get("organization", "internal_domains", list, [])
    for d in internal:
        if not isinstance(d, str) or not DOMAIN_RE.match(d.strip().lower()):
            raise config.error(
                f"internal_domains: {d!r} is not a domain", section="organization", key="internal_domains"
            )
    if not name:
        raise config.error("[organization] name is required", section="organization")
    mailing_lists = config.get("organization", "mailing_lists", list, [])
    for entry in mailing_lists:
        if not isinstance(entry, str) or not _is_list_entry(entry.strip()):
            raise config.error(
                f"mailing_lists: {entry!r} is neither an address nor '@host'",
                section="organization",
                key="mailing_lists",
            )
    directory = load_directory(config)
    ledger = load_ledger(config, directory)
    return Org(
        name=name,
        internal_domains=tuple(d.strip().lower() for d in internal),
        directory=directory,
        ledger=ledger,
        vocabulary=load_vocabulary(config),
        mailing_lists=frozenset(e.strip().lower() for e in mailing_lists),
    )


def _is_list_entry(entry: str) -> bool:
    """A list's address, or "@host" for every address on a list server."""
    if entry.startswith("@"):
        return bool(DOMAIN_RE.match(entry[1:]))
    return bool(EMAIL_RE.match(entry))


def load_directory(config: Config) -> Directory:
    section = config.section("directory")
    if "url" in section:
        url = config.get("directory", "url", str)
        accounts_q = config.get(
            "directory", "accounts_query", str, "SELECT account_id, name, domains, aliases FROM accounts"
        )
        contacts_q = config.get(
            "directory", "contacts_query", str, "SELECT email, name, account_id FROM contacts"
        )
        where = f"{_safe_url(url)} (directory)"
        account_rows = _sql_rows(url, accounts_q, where, ACCOUNT_COLUMNS[:3])
        contact_rows = _sql_rows(url, contacts_q, where, CONTACT_COLUMNS)
        accounts_src = contacts_src = where
    else:
        if "accounts" not in section:
            raise config.error(
                '[directory] needs accounts = "accounts.csv" (or url = ... for SQL)', section="directory"
            )
        accounts_path = config.resolve_path(config.get("directory", "accounts", str))
        account_rows = _csv_rows(accounts_path, ACCOUNT_COLUMNS[:3])
        accounts_src = str(accounts_path)
        if "contacts" in section:
            contacts_path = config.resolve_path(config.get("directory", "contacts", str))
            contact_rows = _csv_rows(contacts_path, CONTACT_COLUMNS)
            contacts_src = str(contacts_path)
        else:
            contact_rows, contacts_src = iter(()), ""

    accounts: dict[str, Account] = {}
    owner_of_domain: dict[str, str] = {}
    for line, row in account_rows:
        account_id = _text(row.get("account_id"))
        if not account_id:
            raise ConfigError("account_id is empty", path=accounts_src, line=line)
        if account_id in accounts:
            raise ConfigError(f"duplicate account_id {account_id!r}", path=accounts_src, line=line)
        domains = tuple(_split_list(row.get("domains")))
        for d in domains:
            if not DOMAIN_RE.match(d):
                raise ConfigError(
                    f"{d!r} is not a domain (account {account_id})", path=accounts_src, line=line
                )
            if d in owner_of_domain:
                raise ConfigError(
                    f"domain {d!r} belongs to both {owner_of_domain[d]!r} and {account_id!r}",
                    path=accounts_src,
                    line=line,
                )
            owner_of_domain[d] = account_id
        aliases = tuple(a for a in (s.strip() for s in _text(row.get("aliases")).split(";")) if a)
        name = _text(row.get("name"))
        if not name:
            raise ConfigError(f"account {account_id!r} has no name", path=accounts_src, line=line)
        accounts[account_id] = Account(account_id, name, domains, aliases)

    contacts: dict[str, Contact] = {}
    for line, row in contact_rows:
        email = _text(row.get("email")).lower()
        if not EMAIL_RE.match(email):
            raise ConfigError(f"{email!r} is not an email address", path=contacts_src, line=line)
        account_id = _text(row.get("account_id"))
        if account_id not in accounts:
            raise ConfigError(
                f"contact {email} names unknown account_id {account_id!r}", path=contacts_src, line=line
            )
        contacts[email] = Contact(email, _text(row.get("name")), account_id)
    return Directory(accounts, contacts)


def load_ledger(config: Config, directory: Directory) -> dict[str, Balance]:
    section = config.section("ledger")
    if not section:
        return {}
    if "url" in section:
        url = config.get("ledger", "url", str)
        query = config.get("ledger", "query", str, "SELECT account_id, balance, currency FROM ledger")
        source = f"{_safe_url(url)} (ledger)"
        rows = _sql_rows(url, query, source, LEDGER_COLUMNS)
    else:
        if "path" not in section:
            raise config.error('[ledger] needs path = "ledger.csv" (or url = ... for SQL)', section="ledger")
        path = config.resolve_path(config.get("ledger", "path", str))
        source = str(path)
        rows = _csv_rows(path, LEDGER_COLUMNS)
    currency_default = config.get("organization", "currency", str, "USD")
    ledger: dict[str, Balance] = {}
    for line, row in rows:
        account_id = _text(row.get("account_id"))
        if account_id not in directory.accounts:
            raise ConfigError(f"ledger names unknown account_id {account_id!r}", path=source, line=line)
        raw = row.get("balance")
        try:
            amount = raw if isinstance(raw, Decimal) else Decimal(_text(raw).replace(",", ""))
        except InvalidOperation:
            raise ConfigError(f"balance {raw!r} is not a number", path=source, line=line) from None
        currency = (_text(row.get("currency")) or currency_default).upper()
        if not CURRENCY_RE.match(currency):
            raise ConfigError(
                f"currency {currency!r} is not an ISO 4217 code like USD", path=source, line=line
            )
        ledger[account_id] = Balance(amount, currency)
    return ledger


def load_vocabulary(config: Config) -> frozenset[str]:
    config.section("vocabulary")
    words: list[str] = list(config.get("vocabulary", "words", list, []))
    file = config.get("vocabulary", "file", str)
    if file:
        path = config.resolve_path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read vocabulary file: {exc}", path=path) from None
        words += [w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")]
    return frozenset(words)


def _csv_rows(path: Path, required: Iterable[str]) -> Iterator[Row]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=path, line=line) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ConfigError(f"bad CSV header: {exc}", path=path, line=1) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise ConfigError(
            f"missing column(s) {', '.join(missing)} (header is: {', '.join(header) or 'empty'})",
            path=path,
            line=1,
        )
    reader.fieldnames = header
    rows: list[Row] = []
    try:
        for row in reader:
            if None in row:  # more cells than header columns
                raise ConfigError(
                    f"{len(header) + len(row[None])} cells, header has {len(header)}",
                    path=path,
                    line=reader.line_num,
                )
            if any(v is None for v in row.values()):
                raise ConfigError(f"too few cells, header has {len(header)}", path=path, line=reader.line_num)
            if not any(v.strip() for v in row.values()):
                continue
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise ConfigError(f"bad CSV: {exc}", path=path, line=reader.line_num) from None
    return iter(rows)


def _sql_rows(url: str, query: str, where: str, required: Iterable[str]) -> Iterator[Row]:
    # SQLAlchemy is imported here: most users configure CSV and should not pay its import time.
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            result = conn.execute(sqlalchemy.text(query))
            rows = [dict(r._mapping) for r in result]
            columns = list(result.keys())
        engine.dispose()
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"database driver not installed ({exc.name}); pip install 'sendguard[postgres]'", path=where
        ) from None
    except (SQLAlchemyError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(f"query failed: {reason}", path=where) from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise ConfigError(
            f"query returns no column(s) {', '.join(missing)} (got: {', '.join(columns)})", path=where
        )
    return iter((None, r) for r in rows)


def _safe_url(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _split_list(value: Any) -> list[str]:
    return [d.strip().lower() for d in _text(value).split(";") if d.strip()]
