"""Lookalike domains: which known domain an unknown domain imitates, and how.

A recipient at `acrne.com` instead of `acme.com` is either a typo that sends a customer's
business to a stranger, or a phishing domain registered to receive exactly that mail. dnstwist
and similar tools go from one domain to its variants; a mail guard needs the reverse question
("is this unknown domain close to any of our 100,000 known ones?") answered in well under a
millisecond, so `LookalikeIndex` is an index, never a scan:

* every domain is split into its registrable label and public suffix (`acme` + `co.uk`);
* the label is folded to a *key*: Unicode confusables and accents to ASCII (Cyrillic `а` -> `a`,
  `ɫ` -> `l`), visual ASCII tricks to one form (`rn` -> `m`, `vv` -> `w`, `cl` -> `d`,
  `0` -> `o`, `1`/`i` -> `l`), hyphens and dots dropped. Homoglyph, punycode, hyphen and dot
  tricks and TLD swaps then share the known domain's key exactly: one dict look-up;
* one edit (insert, delete, substitute, swap) is found through a symmetric-delete index (the
  keys with one character deleted, as in SymSpell): a query's own one-deletions meet the known
  domain's, so candidates come from a handful of look-ups and are verified exactly;
* British/American spellings, added words (`acme-login`), plural `es` and glued suffixes
  (`acmecom.com`) are a few more exact look-ups of rewritten keys.

Edit-distance matches need labels of at least `min_edit_length` characters: among short labels
nearly everything is one edit from something (measured in bench/lookalike_bench.py), so `ibm`
and `ibn` are not reported, while `1bm` (homoglyph) and `ibm.net` (TLD swap) still are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

import idna
from confusable_homoglyphs.confusables import confusables_data


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Second-level labels that, under a two-letter country code, form the public suffix
# (`acme.co.uk`, `acme.com.au`, `acme.ne.jp`). A compact stand-in for the Public Suffix List that
# covers how companies actually register under country codes.
SECOND_LEVEL = frozenset(
    {
        "ac",
        "biz",
        "co",
        "com",
        "edu",
        "firm",
        "gen",
        "go",
        "gob",
        "gov",
        "info",
        "ltd",
        "me",
        "mil",
        "ne",
        "net",
    }
    | {"nom", "or", "org", "plc", "sch"}
)

# Big mail and internet providers. Their domains are real, famous and owned by the provider, so a
# recipient there is never "imitating" a customer (hotmail.co.uk is not a lookalike of
# hotmail.com, gmail.com not of a customer at gmai1.com); typos *of* them are still found when a
# directory lists them.
PROVIDERS = _wordset(
    """
    gmail.com googlemail.com google.com outlook.com hotmail.com live.com msn.com passport.com
    hotmail.co.uk hotmail.fr hotmail.de hotmail.it hotmail.es hotmail.nl hotmail.be hotmail.ca
    live.co.uk live.fr live.de live.it live.nl live.ca live.com.au outlook.fr outlook.de outlook.es
    outlook.it outlook.co.uk yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.it yahoo.es yahoo.ca
    yahoo.com.au yahoo.co.in yahoo.co.jp ymail.com rocketmail.com aol.com aim.com verizon.net
    icloud.com me.com mac.com protonmail.com protonmail.ch proton.me pm.me tutanota.com tuta.io
    gmx.com gmx.net gmx.de gmx.at gmx.ch web.de t-online.de freenet.de mail.com email.com
    zoho.com zohomail.com yandex.com yandex.ru ya.ru mail.ru inbox.ru list.ru bk.ru rambler.ru
    qq.com 163.com 126.com sina.com sohu.com naver.com daum.net hanmail.net fastmail.com fastmail.fm
    hey.com comcast.net att.net sbcglobal.net bellsouth.net cox.net charter.net earthlink.net
    btinternet.com sky.com virginmedia.com talktalk.net ntlworld.com blueyonder.co.uk
    orange.fr wanadoo.fr free.fr sfr.fr laposte.net libero.it virgilio.it tiscali.it alice.it
    bluewin.ch seznam.cz wp.pl o2.pl onet.pl interia.pl telenet.be skynet.be ziggo.nl kpnmail.nl
    shaw.ca rogers.com sympatico.ca bigpond.com optusnet.com.au rediffmail.com
    """
)

# Words phishing and typo domains add to a real name (`acme-login.com`, `myacme.com`).
ADDED_WORDS = _wordset(
    """
    access account accounts admin app auth bill billing client clients cloud connect contact corp
    customer customers desk doc docs drive email files global group help helpdesk hr id inbox inc
    info intl invoice invoices it llc login logon ltd mail member members my net office official
    online pay payment payments portal remit secure security service services share signin sign
    signon sso staff support team update updates verify verification web webmail www
    """
)
# Suffixes glued onto a label when the dot is dropped (`acmecom.com`, `acmeco.uk`).
GLUED_SUFFIXES = ("com", "net", "org", "co", "couk", "io")

# Visual ASCII tricks folded into the key. Single characters first, so `c1` -> `cl` -> `d`.
_SKELETON_SINGLE = str.maketrans("01i", "oll")
_SKELETON_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_VISUAL_PAIRS = {("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("i", "l"), ("1", "i")}

# Non-Latin letters that look like Latin ones but that Unicode's confusables table does not map
# to ASCII (it maps Cyrillic `м` to a turned w, `ь` to a tone-six letter).
_EXTRA_GLYPHS = {"ь": "b", "м": "m", "п": "n", "г": "r", "ŋ": "n", "ꞑ": "n", "ə": "e", "ʍ": "m"}
_LATIN_LETTER_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |DOTLESS )?([A-Z])\b")

# British -> American spelling rewrites, applied to both sides so either spelling meets the other.
_SPELLING_RULES = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"is(e|ed|es|er|ers|ing|ation|ations)", r"iz\1"),
        (r"yse", "yze"),
        (r"our", "or"),
        (r"([tb])re(?![aeiouy])", r"\1er"),
        (r"(def|lic|off|pret)ence", r"\1ense"),
        (r"ogue", "og"),
        (r"programme", "program"),
        (r"cheque", "check"),
        (r"grey", "gray"),
        (r"tyre", "tire"),
        (r"aluminium", "aluminum"),
        (r"jewellery", "jewelry"),
        (r"mould", "mold"),
        (r"(pa|ha)e", r"\1"),
        (r"oest", "est"),
        (r"ell(ed|ing|er|ers|or|ors)", r"el\1"),
    )
)

# Cost of each way of matching, lower is closer. Matches at the best cost win; the rest are dropped.
_SAME_KEY, _OTHER_SUFFIX, _ONE_EDIT, _ADDED = 1, 2, 3, 4


@dataclass(frozen=True)
class LookalikeMatch:
    """An unknown domain that imitates a known one."""

    domain: str  # as given
    known: str  # the known domain it imitates
    owner: str  # the known domain's owner: an account id, or "internal"
    kind: str  # "homoglyph", "one-edit", "tld-swap", ... (see `LookalikeIndex`)
    explanation: str  # a sentence for a person: what differs, and how


@dataclass(frozen=True)
class _Known:
    domain: str
    owner: str
    label: str  # registrable label as written, e.g. "northwind-telecom"
    suffix: str  # public suffix, e.g. "co.uk"


def split_domain(domain: str) -> tuple[tuple[str, ...], str, str]:
    """`mail.acme.co.uk` -> (("mail",), "acme", "co.uk"): subdomain labels, registrable label, suffix."""
    parts = domain.split(".")
    n = 2 if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in SECOND_LEVEL else 1
    return tuple(parts[: -n - 1]), parts[-n - 1], ".".join(parts[-n:])


def normalise_domain(domain: str) -> tuple[str, bool]:
    """Lower-case Unicode form of a domain, and whether any label was written as punycode."""
    domain = domain.strip().lower()
    for dot in "\u3002\uff0e\uff61":  # ideographic and full-width full stops act as dots in IDNA
        domain = domain.replace(dot, ".")
    labels = domain.rstrip(".").split(".")
    decoded = [_decode_label(label) for label in labels]
    return ".".join(decoded), decoded != labels


def _decode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        try:  # invalid IDNA (mixed scripts, disallowed characters) is still readable punycode
            return label[4:].encode("ascii").decode("punycode").lower()
        except UnicodeError:
            return label


@cache
def _fold_char(ch: str) -> str:
    """One character as the ASCII it looks like (or itself when nothing is known)."""
    if ch.isascii():
        return ch.lower()
    return _looks_like_ascii(ch, hops=2) or ch


def _looks_like_ascii(text: str, hops: int) -> str | None:
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    stripped = stripped.strip("\u200e\u200f")
    if stripped and stripped.isascii() and stripped.isalnum():
        return stripped.lower()
    if len(text) != 1:
        return None
    if text in _EXTRA_GLYPHS:
        return _EXTRA_GLYPHS[text]
    named = _LATIN_LETTER_NAME.match(unicodedata.name(text, ""))
    if named:
        return named.group(1).lower()
    if hops:
        for alike in confusables_data.get(text, ()):
            found = _looks_like_ascii(alike["c"].strip("\u200e\u200f"), hops - 1)
            if found:
                return found
    return None


def fold(text: str) -> str:
    """Text as the ASCII it looks like: accents dropped, confusable letters replaced."""
    return text if text.isascii() else "".join(map(_fold_char, text))


def skeleton(flat: str) -> str:
    """Fold visual ASCII tricks (`rn`/`m`, `0`/`o`, `1`/`l`, ...) so both forms give one key."""
    out = flat.translate(_SKELETON_SINGLE)
    for pair, single in _SKELETON_PAIRS:
        out = out.replace(pair, single)
    return out


def label_key(text: str) -> str:
    """The look-up key of a label (or of several labels joined): folded, hyphens and dots dropped."""
    return skeleton(fold(text).replace("-", "").replace(".", ""))


def respell(flat: str) -> str:
    """British spellings rewritten the American way (`colourcentre` -> `colorcenter`)."""
    for pattern, repl in _SPELLING_RULES:
        flat = pattern.sub(repl, flat)
    return flat


def _deletes(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance of at most one (insert, delete, substitute or swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i:] if la > lb else a[i:] == b[i + 1 :]


class _MultiMap:
    """str -> known-domain ids, storing a bare int for the (usual) single id to save memory."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: dict[str, int | list[int]] = {}

    def add(self, key: str, ident: int) -> None:
        held = self.data.get(key)
        if held is None:
            self.data[key] = ident
        elif isinstance(held, int):
            if held != ident:
                self.data[key] = [held, ident]
        elif ident not in held:
            held.append(ident)

    def get(self, key: str) -> Iterable[int]:
        held = self.data.get(key)
        if held is None:
            return ()
        return (held,) if isinstance(held, int) else held


class LookalikeIndex:
    """Known domains, indexed so `match()` finds the one an unknown domain imitates.

    Kinds reported: `homoglyph`, `punycode`, `mixed-script`, `hyphenation`, `dot-change`,
    `tld-swap`, `spelling-variant`, `one-edit`, `transposition`, `repetition`, `plural`,
    `added-word` and `subdomain`.
    """

    def __init__(self, known: Mapping[str, str], *, min_edit_length: int = 5) -> None:
        self.min_edit_length = min_edit_length
        self._owner_of: dict[str, str] = {}
        self._registrable: set[str] = set()
        self._known: list[_Known] = []
        self._keys: list[str] = []
        self._by_key = _MultiMap()  # label key -> ids
        self._by_delete = _MultiMap()  # label key minus one character -> ids
        self._by_spelling = _MultiMap()  # respelled key, where it differs from the key -> ids
        self._by_head = _MultiMap()  # key of a hyphenated label without its last part -> ids
        self._by_tail = _MultiMap()  # key of a hyphenated label without its first part -> ids
        for domain, owner in known.items():
            self._add(domain, owner)

    def __len__(self) -> int:
        return len(self._known)

    def _add(self, domain: str, owner: str) -> None:
        domain, _ = normalise_domain(domain)
        if "." not in domain or domain in self._owner_of:
            return
        self._owner_of[domain] = owner
        _, label, suffix = split_domain(domain)
        self._registrable.add(f"{label}.{suffix}")
        ident = len(self._known)
        self._known.append(_Known(domain, owner, label, suffix))
        flat = fold(label).replace("-", "")
        key = skeleton(flat)
        self._keys.append(key)
        self._by_key.add(key, ident)
        spelled = skeleton(respell(flat))
        if spelled != key:
            self._by_spelling.add(spelled, ident)
        if len(key) >= self.min_edit_length:
            for deleted in _deletes(key):
                self._by_delete.add(deleted, ident)
        parts = label.split("-")
        if len(parts) > 1:
            self._by_head.add(label_key("-".join(parts[:-1])), ident)
            self._by_tail.add(label_key("-".join(parts[1:])), ident)

    def match(self, domain: str) -> LookalikeMatch | None:
        """The known domain `domain` imitates most closely, or None if it imitates none."""
        found = self.matches(domain)
        return found[0] if found else None

    def matches(self, domain: str) -> list[LookalikeMatch]:
        """Every known domain `domain` imitates equally closely (usually one), closest first.

        Empty when the domain is known, a subdomain of a known domain, shares a known domain's
        registrable domain (`eu.acme.com` vs `us.acme.com`), is a big mail provider, or is not close.
        """
        unicode_domain, was_punycode = normalise_domain(domain)
        if "." not in unicode_domain or self._is_related_to_known(unicode_domain):
            return []
        sub, label, suffix = split_domain(unicode_domain)
        if f"{label}.{suffix}" in PROVIDERS:
            return []
        found: dict[int, tuple[int, str]] = {}

        def offer(ids: Iterable[int], cost: int, how: str, same_suffix_only: bool = False) -> None:
            for ident in ids:
                other_suffix = self._known[ident].suffix != suffix
                if other_suffix and same_suffix_only:
                    continue
                total = cost + (1 if other_suffix and cost == _SAME_KEY else 0)
                if ident not in found or total < found[ident][0]:
                    found[ident] = (total, how)

        flat = fold(label).replace("-", "")
        key = skeleton(flat)
        offer(self._by_key.get(key), _SAME_KEY, "key")
        spelled = skeleton(respell(flat))
        for probe in {key, spelled}:
            offer(self._by_spelling.get(probe), _SAME_KEY, "spelling")
        if spelled != key:
            offer(self._by_key.get(spelled), _SAME_KEY, "spelling")
        if sub:
            offer(self._by_key.get(label_key(".".join((*sub, label)))), _SAME_KEY, "key")
        if len(key) >= self.min_edit_length:
            offer(self._one_edit(key), _ONE_EDIT, "edit", same_suffix_only=True)
        for ident, how in self._rewritten(label, flat, suffix):
            offer((ident,), _OTHER_SUFFIX if how == "glued" else _ADDED, how)
        for ident in self._in_subdomain(sub):
            offer((ident,), _ADDED, "subdomain")
        if not found:
            return []
        best = min(cost for cost, _ in found.values())
        winners = sorted(
            (i for i, (cost, _) in found.items() if cost == best),
            key=lambda i: (self._known[i].suffix != suffix, self._known[i].domain),
        )
        return [self._describe(domain, unicode_domain, was_punycode, i, found[i][1]) for i in winners]

    def _is_related_to_known(self, domain: str) -> bool:
        parts = domain.split(".")
        if any(".".join(parts[i:]) in self._owner_of for i in range(len(parts) - 1)):
            return True
        _, label, suffix = split_domain(domain)
        return f"{label}.{suffix}" in self._registrable

    def _one_edit(self, key: str) -> Iterator[int]:
        """Known domains whose key is exactly one edit from `key` (symmetric-delete look-ups)."""
        seen: set[int] = set()
        deleted = _deletes(key)
        probes = [self._by_delete.get(key)]  # query lacks a character
        for d in deleted:
            probes.append(self._by_key.get(d))  # query has an extra character
            probes.append(self._by_delete.get(d))  # substitution or swap
        for ids in probes:
            for ident in ids:
                if ident in seen:
                    continue
                seen.add(ident)
                other = self._keys[ident]
                if other != key and len(other) >= self.min_edit_length and _within_one_edit(key, other):
                    yield ident

    def _rewritten(self, label: str, flat: str, suffix: str) -> Iterator[tuple[int, str]]:
        """Known labels reached by undoing an added word, a plural `es` or a glued-on suffix."""
        for word in ADDED_WORDS:
            for rest in (
                flat[len(word) :] if flat.startswith(word) else "",
                flat[: -len(word)] if flat.endswith(word) else "",
            ):
                if len(rest) >= 4:
                    yield from ((i, "word") for i in self._by_key.get(skeleton(rest)))
        for glued in GLUED_SUFFIXES:
            if flat.endswith(glued) and len(flat) - len(glued) >= 3:
                for ident in self._by_key.get(skeleton(flat[: -len(glued)])):
                    known_suffix = self._known[ident].suffix
                    glued_right = (
                        known_suffix.replace(".", "") == glued or known_suffix.split(".")[0] == glued
                    )
                    yield ident, "glued" if glued_right else "word"
        for i in range(1, len(flat) - 2):
            if flat[i - 1] in "sxz" and flat[i : i + 2] == "es":
                yield from (
                    (ident, "plural") for ident in self._by_key.get(skeleton(flat[:i] + flat[i + 2 :]))
                )
        parts = label.split("-")
        if len(parts) > 1:
            for part, rest, table in (
                (parts[-1], parts[:-1], self._by_head),
                (parts[0], parts[1:], self._by_tail),
            ):
                rest_key = label_key("-".join(rest))
                if fold(part) in ADDED_WORDS and len(rest_key) >= 4:
                    ids = list(table.get(rest_key))
                    if len({self._known[i].owner for i in ids}) == 1:
                        yield from ((i, "part") for i in ids)

    def _in_subdomain(self, sub: tuple[str, ...]) -> Iterator[int]:
        """Known domains (or long known labels) used as subdomain labels: `acme.com.evil.net`."""
        for i in range(len(sub)):
            for j in range(i + 1, len(sub)):
                joined = ".".join(sub[i : j + 1])
                if joined in self._owner_of:
                    yield from self._by_key.get(label_key(split_domain(joined)[1]))
            key = label_key(sub[i])
            if len(key) >= self.min_edit_length:
                yield from self._by_key.get(key)

    def _describe(
        self, domain: str, unicode_domain: str, was_punycode: bool, ident: int, how: str
    ) -> LookalikeMatch:
        known = self._known[ident]
        sub, label, suffix = split_domain(unicode_domain)
        name = ".".join((*sub, label))
        tld_note = f", and uses .{suffix} instead of .{known.suffix}" if suffix != known.suffix else ""
        shown = f"'{domain}'" + (f" (punycode for '{unicode_domain}')" if was_punycode else "")
        like = f"'{known.domain}'"
        if how == "subdomain":
            text = f"{shown} puts '{known.label}' in front of the unrelated domain '{label}.{suffix}' to look like {like}"
            return LookalikeMatch(domain, known.domain, known.owner, "subdomain", text)
        if how in ("word", "part", "glued"):
            extra = _extra_text(label, known.label)
            if how == "part":
                text = f"{shown} is {like} with '{extra}' in place of part of the name{tld_note}"
            elif how == "glued":
                text = f"{shown} is {like} with the dot before '{extra}' dropped{tld_note}"
            else:
                text = f"{shown} is {like} with '{extra}' added{tld_note}"
            return LookalikeMatch(
                domain, known.domain, known.owner, "dot-change" if how == "glued" else "added-word", text
            )
        if how == "spelling":
            text = f"{shown} is {like} with British and American spelling swapped{tld_note}"
            return LookalikeMatch(domain, known.domain, known.owner, "spelling-variant", text)
        ops = _differences(name, known.label)
        kind = _kind(ops, how, was_punycode, name)
        if not ops:
            text = f"{shown} is {like} with .{suffix} instead of .{known.suffix}"
            return LookalikeMatch(domain, known.domain, known.owner, kind, text)
        if kind == "mixed-script":
            shown += f" mixes {' and '.join(sorted(_scripts(name)))} letters and"
        text = f"{shown} differs from {like} by {_join(_phrase(op) for op in ops)}{tld_note}"
        return LookalikeMatch(domain, known.domain, known.owner, kind, text)


def _differences(name: str, known: str) -> list[tuple[str, str, str, int]]:
    """Edits turning `known` into `name`: (op, what name has, what known has, position in name)."""
    if name == known:
        return []
    if len(name) == len(known):
        diff = [i for i in range(len(name)) if name[i] != known[i]]
        if (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and name[diff[0]] == known[diff[1]]
            and name[diff[1]] == known[diff[0]]
        ):
            return [("swap", name[diff[0] : diff[1] + 1], known[diff[0] : diff[1] + 1], diff[0])]
    matcher = SequenceMatcher(None, name, known, autojunk=False)
    return [
        (tag, name[i1:i2], known[j1:j2], i1)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _kind(ops: list[tuple[str, str, str, int]], how: str, was_punycode: bool, name: str) -> str:
    if was_punycode:
        return "punycode"
    if not name.isascii():
        return "mixed-script" if len(_scripts(name)) > 1 else "homoglyph"
    if how == "plural":
        return "plural"
    if not ops:
        return "tld-swap"
    if any(op == "replace" and _looks_alike(new, old) for op, new, old, _ in ops):
        return "homoglyph"
    if all(op in ("insert", "delete") and new + old in ("-", ".") for op, new, old, _ in ops):
        return "dot-change" if any(new + old == "." for _, new, old, _ in ops) else "hyphenation"
    if len(ops) == 1:
        op, new, old, at = ops[0]
        if op == "swap":
            return "transposition"
        if op == "delete" and len(new) == 1:  # `name` has one character more than the known label
            if new == "s" and name[at + 1 : at + 2] in ("", "-"):
                return "plural"
            if new in (name[at - 1 : at], name[at + 1 : at + 2]):
                return "repetition"
    return "one-edit"


def _looks_alike(new: str, old: str) -> bool:
    return (new, old) in _VISUAL_PAIRS or (new != old and skeleton(fold(new)) == skeleton(fold(old)))


def _scripts(text: str) -> set[str]:
    return {unicodedata.name(c, "UNKNOWN").split()[0].title() for c in text if c.isalpha()}


def _phrase(op: tuple[str, str, str, int]) -> str:
    tag, new, old, _ = op
    if tag == "swap":
        return f"'{new}' in place of '{old}' (letters swapped)"
    if tag == "insert":  # SequenceMatcher's view from `name`: name lacks what known has
        return "a missing hyphen" if old == "-" else "a missing dot" if old == "." else f"a missing '{old}'"
    if tag == "delete":
        return "an added hyphen" if new == "-" else "an added dot" if new == "." else f"an added '{new}'"
    if not new.isascii():
        names = {unicodedata.name(c, "?").split()[0].title() for c in new if not c.isascii()}
        return f"{'/'.join(sorted(names))} '{new}' standing in for '{old}'"
    if _looks_alike(new, old):
        return f"'{new}' looking like '{old}'"
    return f"'{new}' in place of '{old}'"


def _extra_text(label: str, known_label: str) -> str:
    """What a label adds to (or puts in place of part of) a known label: `acme-login` vs `acme` -> `login`."""
    flat, inner = label.replace("-", ""), known_label.replace("-", "")
    at = flat.find(inner)
    if at >= 0:
        return flat[:at] + flat[at + len(inner) :]
    kept = set(known_label.split("-"))
    return "-".join(part for part in label.split("-") if part not in kept)


def _join(phrases: Iterable[str]) -> str:
    items = list(phrases)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
