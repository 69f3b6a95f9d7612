"""Build the organisations the real-mail benchmarks check against, from what the corpora show.

There is no CRM for Enron or for the SpamAssassin developers, so each org is derived by one
rule, applied the same way to both corpora and written down here, not adjusted per message:

* **Internal domains**: the domains the corpus owner visibly writes from (Enron: enron.com and
  the Enron-owned enron.net / enrononline.com; SpamAssassin: taint.org, the upstream corpus'
  obfuscation of the owner's domain, and jmason.org, the owner's own).
* **Accounts**: every external domain that appears as a recipient (To / Cc) of the corpus'
  outgoing mail (Enron: sent folders; SpamAssassin has no sent folder, so every message's
  recipients) becomes one account, reduced to its registrable domain, except consumer mailbox
  providers (AOL, Hotmail, ISPs...), which belong to people, not customers. Domains that are
  visibly one company (UBS PaineWebber's three domains, Reliant's two) are one account; that list
  was written from the domain list before any scan ran.
* **Mailing lists**: the posting addresses the corpus' own list headers show (`List-Post`,
  `X-Beenthere`, `X-Mailing-List`, and `List-Id` read as `name@host`) go to
  `[organization] mailing_lists`, as a team names the public lists its people post to. A list
  address is not a customer contact, so it makes no account of its own.
* **Names**: the headers show domains, not company names, so each account is named by its
  domain. A name mention is then a domain mention; name matching on company names is exercised
  by the synthetic directory of the speed section instead.
* **No ledger**: neither corpus has balances, so `balance-mismatch` can only give its "no
  ledger balance" info.

Run `python bench/orgs/build_orgs.py` to regenerate `bench/orgs/{enron,spamassassin}/`.
"""

from __future__ import annotations

import csv
import email
import email.message
import re
import sys
from collections import Counter
from email import policy
from email.utils import getaddresses
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPORA = HERE.parent.parent.parent / "shared" / "corpora"
ENRON = CORPORA / "enron"
SPAMASSASSIN = CORPORA / "spamassassin-ham"

# Consumer mailbox providers and ISPs of the 1999-2003 era: an address there is a person, and
# says nothing about which customer they work for.
CONSUMER_MAIL = frozenset({
    "aol.com", "hotmail.com", "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.ca", "yahoo.fr", "yahoo.de",
    "hotmail.co.uk", "earthlink.net", "mindspring.com", "swbell.net", "att.net", "worldnet.att.net",
    "home.com", "mediaone.net", "netzero.net", "netzero.com", "gate.net", "juno.com", "compuserve.com",
    "prodigy.net", "gmx.net", "gmx.de", "usa.net", "canada.com", "fastmail.fm", "pobox.com", "mail.com",
    "email.com", "excite.com", "netscape.net", "bigfoot.com", "iname.com", "lycos.com", "btinternet.com",
    "eircom.net", "iol.ie", "indigo.ie", "comcast.net", "attbi.com", "rogers.com", "sympatico.ca",
    "optonline.net", "verizon.net", "bellsouth.net", "cox.net", "pacbell.net", "rr.com", "netcom.com",
    "mac.com", "me.com", "gmail.com", "googlemail.com", "airmail.net", "flash.net", "ev1.net", "texas.net",
    "ix.netcom.com", "hushmail.com", "onebox.com", "altavista.com", "webtv.net", "mad.scientist.com",
})  # fmt: skip
# Public-suffix second levels seen in these corpora (co.uk, com.au, ...): keep three labels.
SECOND_LEVELS = frozenset({"co", "com", "ac", "org", "net", "gov", "edu", "ltd", "plc", "or", "ne"})

ORGS: dict[str, dict] = {
    "enron": {
        "name": "Enron",
        "internal": ["enron.com", "enron.net", "enrononline.com"],
        "same_company": {
            "ubspainewebber.com": "ubs",
            "ubspw.com": "ubs",
            "ubsw.com": "ubs",
            "reliant.com": "reliant",
            "reliantenergy.com": "reliant",
        },
    },
    "spamassassin": {
        "name": "SpamAssassin developers (jmason.org)",
        "internal": ["taint.org", "jmason.org"],
        "same_company": {},
    },
}


def registrable(domain: str) -> str:
    """`mail.utexas.edu` -> `utexas.edu`, `list.theregister.co.uk` -> `theregister.co.uk`."""
    labels = domain.strip(".").lower().split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVELS else 2
    return ".".join(labels[-keep:])


def recipient_addresses(msg: email.message.Message) -> set[str]:
    found = set()
    for field in ("To", "Cc"):
        for _, addr in getaddresses([str(v) for v in msg.get_all(field, [])]):
            if "@" in addr:
                found.add(addr.strip(" <>.").lower())
    return found


LIST_ID = re.compile(r"<([^<>@\s.]+)\.([^<>@\s]+\.[^<>@\s]+)>")


def list_addresses(msg: email.message.Message) -> set[str]:
    """The posting address of the list a message came through, from its list headers."""
    found = set()
    for field in ("List-Post", "X-Beenthere", "X-Mailing-List"):
        for value in msg.get_all(field, []):
            for _, addr in getaddresses([str(value).replace("mailto:", "")]):
                if "@" in addr:
                    found.add(addr.strip(" <>.").lower())
    for value in msg.get_all("List-Id", []):
        if m := LIST_ID.search(str(value)):
            found.add(f"{m[1]}@{m[2]}".lower())
    return found


def read_headers(path: Path) -> email.message.Message:
    return email.message_from_bytes(path.read_bytes(), policy=policy.compat32)


def mailing_lists_in(paths: list[Path]) -> set[str]:
    """List addresses from list headers, and recipients of those messages with a list's name.

    The second part is for lists whose headers name another host than the recipients do (the
    SpamAssassin corpus rewrote some list hosts in the list headers, not in To / Cc).
    """
    found: set[str] = set()
    for path in paths:
        msg = read_headers(path)
        lists = list_addresses(msg)
        names = {a.split("@", 1)[0] for a in lists}
        found |= lists | {a for a in recipient_addresses(msg) if a.split("@", 1)[0] in names}
    return found


def enron_outgoing() -> list[Path]:
    """One file per distinct sent-folder message (sent, _sent_mail, sent_items hold copies)."""
    seen: set[str] = set()
    paths = []
    with (ENRON / "index.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["is_sent_folder"] == "1" and row["content_key"] not in seen:
                seen.add(row["content_key"])
                paths.append(ENRON / row["path"])
    return paths


def enron_all() -> list[Path]:
    """One file per distinct message, from any folder."""
    seen: set[str] = set()
    paths = []
    with (ENRON / "index.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["content_key"] not in seen:
                seen.add(row["content_key"])
                paths.append(ENRON / row["path"])
    return paths


def accounts_for(
    paths: list[Path], internal: list[str], same_company: dict[str, str], lists: set[str]
) -> list[dict]:
    counts: Counter[str] = Counter()
    for path in paths:
        domains = {a.rsplit("@", 1)[1] for a in recipient_addresses(read_headers(path)) if a not in lists}
        counts.update(
            registrable(d)
            for d in domains
            if "." in d and d not in CONSUMER_MAIL and registrable(d) not in CONSUMER_MAIL
        )
    by_account: dict[str, list[str]] = {}
    for domain in sorted(counts):
        if any(domain == i or domain.endswith("." + i) for i in internal):
            continue
        by_account.setdefault(same_company.get(domain, domain), []).append(domain)
    return [
        {"account_id": account_id, "name": " / ".join(domains), "domains": ";".join(domains), "aliases": ""}
        for account_id, domains in sorted(by_account.items())
    ]


def write_org(key: str, accounts: list[dict], lists: set[str]) -> Path:
    spec = ORGS[key]
    target = HERE / key
    target.mkdir(exist_ok=True)
    with (target / "accounts.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["account_id", "name", "domains", "aliases"])
        writer.writeheader()
        writer.writerows(accounts)
    internal = ", ".join(f'"{d}"' for d in spec["internal"])
    mailing_lists = "".join(f'\n    "{a}",' for a in sorted(lists)) + "\n" if lists else ""
    (target / "sendguard.toml").write_text(
        "# Generated by bench/orgs/build_orgs.py from the corpus headers; see its docstring.\n"
        "# Rule severities are the defaults: nothing here is tuned to the corpus.\n"
        f'[organization]\nname = "{spec["name"]}"\ninternal_domains = [{internal}]\n'
        f"mailing_lists = [{mailing_lists}]\n\n"
        '[directory]\naccounts = "accounts.csv"\n',
        encoding="utf-8",
    )
    return target


def main() -> int:
    if not ENRON.is_dir() or not SPAMASSASSIN.is_dir():
        print(f"corpora not found under {CORPORA}", file=sys.stderr)
        return 1
    spamassassin = sorted(SPAMASSASSIN.rglob("*.txt"))
    # (messages whose recipients make accounts, messages whose list headers name lists)
    sources = {
        "enron": (enron_outgoing(), enron_all()),
        "spamassassin": (spamassassin, spamassassin),
    }
    for key, (outgoing, everything) in sources.items():
        spec = ORGS[key]
        lists = mailing_lists_in(everything)
        accounts = accounts_for(outgoing, spec["internal"], spec["same_company"], lists)
        target = write_org(key, accounts, lists)
        print(f"{target}: {len(accounts)} accounts from {len(outgoing)} messages, {len(lists)} mailing lists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
