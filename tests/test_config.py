"""sendguard.toml and the files it names: good shapes load, broken ones are one-line errors with file and line."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

import sendguard
from sendguard.errors import ConfigError
from support import EXAMPLE_ORG

MINIMAL = """
[organization]
name = "RevCalc Systems"
internal_domains = ["revcalc.io"]

[directory]
accounts = "accounts.csv"   # account_id,name,domains,aliases
contacts = "contacts.csv"   # email,name,account_id

[ledger]
path = "ledger.csv"         # account_id,balance,currency
"""


def write_org(tmp_path: Path, toml: str = MINIMAL, **files: str) -> Path:
    defaults = {
        "accounts.csv": "account_id,name,domains,aliases\nacme,Acme Corp,acme.com;acme.co.uk,Acme\nnw,Northwind,northwind.com,\n",
        "contacts.csv": "email,name,account_id\npeter@acme.com,Peter Jones,acme\nbob@gmail.com,Bob,nw\n",
        "ledger.csv": "account_id,balance,currency\nacme,9.00,USD\n",
    }
    defaults.update({k.replace("_csv", ".csv"): v for k, v in files.items()})
    for name, text in defaults.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "sendguard.toml").write_text(toml)
    return tmp_path / "sendguard.toml"


def test_the_exact_shape_from_the_issue_loads(tmp_path: Path) -> None:
    guard = sendguard.load(write_org(tmp_path))
    directory = guard.org.directory
    assert directory.accounts["acme"].domains == ("acme.com", "acme.co.uk")
    assert directory.resolve("anyone@acme.co.uk", "acme.co.uk") == ("acme", "domain")
    assert directory.resolve("bob@gmail.com", "gmail.com") == ("nw", "contact")
    assert directory.resolve("someone@gmail.com", "gmail.com") == (None, None)
    assert guard.org.ledger["acme"].amount == Decimal("9.00")


def test_shipped_example_loads() -> None:
    guard = sendguard.load(EXAMPLE_ORG / "sendguard.toml")
    assert "acme" in guard.org.directory.accounts
    assert guard.org.is_internal_domain("mail.revcalc.io")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"accounts_csv": "account_id,name\nacme,Acme\n"}, r"accounts\.csv:1: missing column\(s\) domains"),
        (
            {"accounts_csv": "account_id,name,domains,aliases\nacme,Acme,acme.com,\nacme,Again,again.com,\n"},
            r"accounts\.csv:3: duplicate account_id 'acme'",
        ),
        (
            {"accounts_csv": "account_id,name,domains,aliases\nacme,Acme,not a domain,\n"},
            r"accounts\.csv:2: 'not a domain' is not a domain",
        ),
        (
            {"accounts_csv": "account_id,name,domains,aliases\na,A,x.com,\nb,B,x.com,\n"},
            r"accounts\.csv:3: domain 'x\.com' belongs to both",
        ),
        (
            {"contacts_csv": "email,name,account_id\npeter@acme.com,Peter,acme\nnobody,Nobody,acme\n"},
            r"contacts\.csv:3: 'nobody' is not an email address",
        ),
        (
            {"contacts_csv": "email,name,account_id\npeter@acme.com,Peter,ghost\n"},
            r"contacts\.csv:2: contact peter@acme\.com names unknown account_id 'ghost'",
        ),
        (
            {"contacts_csv": "email,name,account_id\npeter@acme.com,Peter,acme,extra\n"},
            r"contacts\.csv:2: 4 cells, header has 3",
        ),
        (
            {"ledger_csv": "account_id,balance,currency\nacme,nine,USD\n"},
            r"ledger\.csv:2: balance 'nine' is not a number",
        ),
        (
            {"ledger_csv": "account_id,balance,currency\nacme,9,dollars\n"},
            r"ledger\.csv:2: currency 'DOLLARS' is not an ISO 4217 code",
        ),
    ],
)
def test_bad_csv_rows_name_file_and_line(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        sendguard.load(write_org(tmp_path, **files))


def test_csv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write_org(tmp_path)
    (tmp_path / "contacts.csv").write_bytes(
        b"email,name,account_id\npeter@acme.com,Peter,acme\nj@acme.com,J\xfcrgen,acme\n"
    )
    with pytest.raises(ConfigError, match=r"contacts\.csv:3: not UTF-8"):
        sendguard.load(path)


def test_missing_csv_file(tmp_path: Path) -> None:
    path = write_org(tmp_path)
    (tmp_path / "ledger.csv").unlink()
    with pytest.raises(ConfigError, match=r"ledger\.csv: file not found"):
        sendguard.load(path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            MINIMAL + "\n[rules.no-such-rule]\nseverity = 'warn'\n",
            r"sendguard\.toml:13: unknown rule 'no-such-rule'",
        ),
        (
            MINIMAL.replace('path = "ledger.csv"', 'path = "ledger.csv"\npaht = "x"'),
            r"sendguard\.toml:12: unknown key 'paht' in \[ledger\]",
        ),
        (MINIMAL + "\n[organisation]\nname='x'\n", r"unknown section \[organisation\]"),
        (
            MINIMAL + "\n[rules.missing-attachment]\nseverity = 'loud'\n",
            r":14: \[rules\.missing-attachment\] severity: expected \"off\", \"info\", \"warn\" or \"block\" \(not 'loud'\)",
        ),
        (
            MINIMAL + "\n[rules.missing-attachment]\ncolour = 'red'\n",
            r":14: unknown option 'colour' for rule missing-attachment",
        ),
        (MINIMAL.replace("[ledger]", "[ledger\n"), r"sendguard\.toml:\d+: invalid TOML"),
        ("[directory]\naccounts='accounts.csv'\n", r"missing \[organization\] section"),
        (
            MINIMAL.replace(
                'internal_domains = ["revcalc.io"]',
                'internal_domains = ["revcalc.io"]\nmailing_lists = ["lists.example.org"]',
            ),
            r"sendguard\.toml:\d+: mailing_lists: 'lists\.example\.org' is neither an address nor '@host'",
        ),
    ],
)
def test_bad_toml_is_a_one_line_error_with_line(tmp_path: Path, toml: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        sendguard.load(write_org(tmp_path, toml=toml))
    assert "\n" not in str(info.value)


def test_mailing_lists_mark_addresses_and_list_servers(tmp_path: Path) -> None:
    toml = MINIMAL.replace(
        'internal_domains = ["revcalc.io"]',
        'internal_domains = ["revcalc.io"]\nmailing_lists = ["Dev@Example.org", "@lists.example.net"]',
    )
    org = sendguard.load(write_org(tmp_path, toml=toml)).org
    assert org.is_listed_mailing_list("dev@example.org", "example.org")
    assert org.is_listed_mailing_list("anything@lists.example.net", "lists.example.net")
    assert not org.is_listed_mailing_list("ops@example.org", "example.org")


def test_severity_override_and_off(tmp_path: Path) -> None:
    toml = (
        MINIMAL
        + "\n[rules.missing-attachment]\nseverity = 'block'\n\n[rules.greeting-mismatch]\nseverity = 'off'\n"
    )
    guard = sendguard.load(write_org(tmp_path, toml=toml))
    by_id = {r.id: r for r in guard.rules}
    assert str(by_id["missing-attachment"].severity) == "block"
    assert "greeting-mismatch" not in by_id


def test_sql_directory_and_ledger(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    con = sqlite3.connect(db)
    con.executescript(
        """
        CREATE TABLE customers (id TEXT, company TEXT, domain_list TEXT, alias_list TEXT);
        INSERT INTO customers VALUES ('acme', 'Acme Corp', 'acme.com;acme.de', 'Acme');
        CREATE TABLE people (mail TEXT, full_name TEXT, customer TEXT);
        INSERT INTO people VALUES ('Peter@Acme.com', 'Peter Jones', 'acme');
        CREATE TABLE balances (customer TEXT, amount NUMERIC, cur TEXT);
        INSERT INTO balances VALUES ('acme', 9.5, 'EUR');
        """
    )
    con.commit()
    con.close()
    toml = f"""
[organization]
name = "RevCalc"
internal_domains = ["revcalc.io"]

[directory]
url = "sqlite:///{db}"
accounts_query = "SELECT id AS account_id, company AS name, domain_list AS domains, alias_list AS aliases FROM customers"
contacts_query = "SELECT mail AS email, full_name AS name, customer AS account_id FROM people"

[ledger]
url = "sqlite:///{db}"
query = "SELECT customer AS account_id, amount AS balance, cur AS currency FROM balances"
"""
    (tmp_path / "sendguard.toml").write_text(toml)
    guard = sendguard.load(tmp_path / "sendguard.toml")
    assert guard.org.directory.accounts["acme"].domains == ("acme.com", "acme.de")
    assert guard.org.directory.resolve("peter@acme.com", "acme.com") == ("acme", "contact")
    assert guard.org.ledger["acme"].currency == "EUR"


def test_sql_query_error_is_clear(tmp_path: Path) -> None:
    toml = MINIMAL.replace('accounts = "accounts.csv"', f'url = "sqlite:///{tmp_path}/empty.db"').replace(
        'contacts = "contacts.csv"   # email,name,account_id', ""
    )
    with pytest.raises(ConfigError, match=r"empty\.db \(directory\): query failed: no such table: accounts"):
        sendguard.load(write_org(tmp_path, toml=toml))
