"""Lookalike domains: which known domain an unknown domain imitates, and how.

A recipient at `acrne.com` instead of `acme.com` is either a typo that sends a customer's
business to a stranger, or a phishing domain registered to receive exactly that mail. dnstwist
and similar tools go from one domain to its variants; a mail guard needs the reverse question
("is this unknown domain close to any of our 100,000 known ones?") answered in well under a
millisecond, so `LookalikeIndex` is an index, never a scan:

* every domain is split into its registrable label and public suffix (`acme` + `co.uk`), and
  the label is *folded*: Unicode confusables and accents to the ASCII they look like (Cyrillic
  `а` -> `a`, `ɫ` -> `l`), hyphens and dots dropped;
* the *strict key* also folds unmistakable ASCII tricks (`rn` -> `m`, `vv` -> `w`, `cl` -> `d`,
  `0` -> `o`, `1` -> `l`). Homoglyph, punycode, hyphen, dot and TLD-swap tricks give the known
  domain's strict key exactly: one dict look-up, at any label length;
* the *edit key* maps letters that are easy to mistake for one another (`c`/`e`, `m`/`n`, `i`/`l`,
  `u`/`v`, ...) to one representative without changing the length, so one typo stays one edit.
  One edit is found through a symmetric-delete index (the keys with one character deleted, as in
  SymSpell): the query's own one-deletions meet the known domain's, so candidates come from a
  handful of look-ups and are verified exactly;
* an edit must also be a plausible slip, as dnstwist models them: any omission or swap, but a
  substitution only by a neighbouring key or another vowel, and an insertion only next to a
  neighbouring key, a repeat, a final letter or an `s`. Arbitrary one-letter differences are how
  unrelated company names differ (`baesystems` / `baysystems`). And it must be the only change:
  a slip plus a moved hyphen in a name under `loose_length` letters (`estee` / `e-steel`), or a
  slip plus a loosely similar letter (`mresearch` / `cnresearch`), is two edits;
* British/American spellings, added words (`acme-login`), plural `es` and glued suffixes
  (`acmecom.com`) are a few more exact look-ups of rewritten keys.

Edit-distance matches need labels of at least `min_edit_length` (four) characters: among
two- and three-letter labels nearly everything is one edit from something, so `ibn` is not
reported for `ibm`. From four letters a slip is reported under every suffix (`acke.com` for
`acme.com`), although the slip of a four-letter .com name is nearly always another real
organisation's domain (real mail's `visi.com` for a customer's `vasi.com`): mail typed to it goes
to a stranger, which is the mistake this check exists for, and a correspondent who really is
`visi.com` is listed once under `allow`. bench/lookalike_bench.py measures the trade-off:
taking slips from four letters instead of five finds the slips of four-letter names and holds
about three times as many real unrelated domains once (10 instead of 3 of 2,812 seen in real mail
headers). The same short name (under `short_name_length` letters) under another suffix is reported (`ibm.de`, `acme.xyz`), except under .com, .net and
.org, where every short name has long belonged to someone (`ibm.net` is another organisation,
usually) and only a suffix one slip away counts (`ibm.co`); so is `1bm` (a digit for a letter).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from bisect import bisect_left
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
SECOND_LEVEL = _wordset("ac biz co com edu firm gen go gob gov info ltd me mil ne net nom or org plc sch")
# Suffixes only governments, armed forces and schools can register: nobody can have registered a
# domain there to imitate a customer, so it is never reported as a lookalike.
RESTRICTED_TLDS = _wordset("gov edu mil int")
RESTRICTED_SECOND_LEVEL = _wordset("gov edu mil ac gob go sch")  # gov.uk, ac.uk, gob.mx, go.jp, ...


def is_restricted(suffix: str) -> bool:
    """Whether only governments, armed forces or schools can register under `suffix`."""
    parts = suffix.split(".")
    return parts[0] in (RESTRICTED_TLDS if len(parts) == 1 else RESTRICTED_SECOND_LEVEL)


# Big mail and internet providers. Their domains are real, famous and owned by the provider, so a
# recipient there is never "imitating" a customer (hotmail.co.uk is not a lookalike of
# hotmail.com, nor ymail.com of gmail.com). Typos *of* them are found when a directory lists them.
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
    access account accounts admin alert app auth bill billing claim client clients cloud confirm
    connect contact corp customer customers desk doc docs download drive email files global group
    help helpdesk hr id inbox inc info intl invoice invoices it llc login logon ltd mail member
    members my net notice office official online password pay payment payments portal recovery
    register remit reset safe secure security service services share sign signin signon signup sso
    ssl staff support team update updates user users verify verification web webmail www
    """
)

# Any other word may be added to a known name that is distinctive enough on its own: hyphened on
# (`tiger-media-claims`) from 6 letters, glued on (`findharborviewgraham`) from 10. Shorter names
# are everyday words (`pioneer`, `acme`) that real, unrelated companies extend; only the words
# above count for them.
_AFFIX_MIN = 6
_GLUED_AFFIX_MIN = 10
_ADDED_WORD_LENGTHS = sorted({len(w) for w in ADDED_WORDS})

# Unmistakable visual tricks, folded into the strict key. Single characters first (`c1` -> `cl` -> `d`).
_STRICT_SINGLE = str.maketrans("01", "ol")
_STRICT_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
# Letters easily mistaken for one another, one representative each, folded into the edit key.
_EDIT_CLASSES = str.maketrans("0o1ilecqgnmrdbvu9683", "oolllccggnnnddvv6688")
# The unmistakable part of those classes (digits for letters), for names too short for the rest.
_STRONG_CLASSES = str.maketrans("01", "ol")
# Multi-letter tricks as they appear in edit keys (`rn` -> `nn`, `lb` -> `ld`), read as one letter.
_LOOSE_PAIRS = (("nn", "n"), ("vv", "w"), ("cl", "d"), ("ld", "d"), ("dl", "d"), ("lh", "h"), ("lc", "k"))
_VISUAL_PAIRS = {*_STRICT_PAIRS, ("nn", "m"), ("lb", "b"), ("dl", "d"), ("lh", "h"), ("lc", "k")}

# Keyboard neighbours on QWERTY, QWERTZ and AZERTY (rows staggered half a key to the right).
_KEYBOARDS = (
    ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"),
    ("1234567890", "qwertzuiop", "asdfghjkl", "yxcvbnm"),
    ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn"),
)
VOWELS = frozenset("aeiou")
# The open generic suffixes of the 1980s: every name of two to four letters there was registered
# long ago, so the same short name there is another organisation (`ntk.net`), not a fresh
# imitation of a customer's `ntk.com` (see `LookalikeIndex._suffix_may_differ`).
LEGACY_SUFFIXES = _wordset("com net org")


def _neighbour_keys() -> dict[str, frozenset[str]]:
    near: dict[str, set[str]] = {}
    for rows in _KEYBOARDS:
        for r, row in enumerate(rows):
            for j, key in enumerate(row):
                around = {row[j - 1] if j else "", row[j + 1 : j + 2]}
                if r:
                    around |= {rows[r - 1][j : j + 1], rows[r - 1][j + 1 : j + 2]}
                if r + 1 < len(rows):
                    around |= {rows[r + 1][j - 1 : j] if j else "", rows[r + 1][j : j + 1]}
                near.setdefault(key, set()).update(around - {""})
    return {k: frozenset(v) for k, v in near.items()}


NEIGHBOUR_KEYS = _neighbour_keys()

# Non-Latin letters that look like Latin ones but that Unicode's confusables table does not map
# to ASCII (it maps Cyrillic `м` to a turned w, `ь` to a tone-six letter).
_EXTRA_GLYPHS = {
    "ь": "b",
    "м": "m",
    "п": "n",
    "г": "r",
    "ŋ": "n",
    "ꞑ": "n",
    "ə": "e",
    "ʍ": "m",
    "ƿ": "p",
    "þ": "p",
}
_LATIN_LETTER_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |DOTLESS )?([A-Z])\b")

# British -> American spelling rewrites, applied to both sides so either spelling meets the other.
_SPELLING_RULES = tuple(
    (trigger, re.compile(pattern), repl)
    for trigger, pattern, repl in (
        ("is", r"is(e|ed|es|er|ers|ing|ation|ations)", r"iz\1"),
        ("yse", r"yse", "yze"),
        ("our", r"our", "or"),
        ("re", r"([tb])re(?![aeiouy])", r"\1er"),
        ("ence", r"(def|lic|off|pret)ence", r"\1ense"),
        ("ogue", r"ogue", "og"),
        ("programme", r"programme", "program"),
        ("cheque", r"cheque", "check"),
        ("grey", r"grey", "gray"),
        ("tyre", r"tyre", "tire"),
        ("aluminium", r"aluminium", "aluminum"),
        ("jewellery", r"jewellery", "jewelry"),
        ("mould", r"mould", "mold"),
        ("ae", r"(pa|ha)e", r"\1"),
        ("oest", r"oest", "est"),
        ("ell", r"ell(ed|ing|er|ers|or|ors)", r"el\1"),
    )
)  # (a literal every match contains, so most rules are skipped with a cheap `in`)

# Packing of the one-deletion index: hash bits above id bits in one unsigned 64-bit entry.
_ID_BITS = 24
_ID_MASK = (1 << _ID_BITS) - 1
_HASH_MASK = (1 << (64 - _ID_BITS)) - 1

# Cost of each way of matching, lower is closer. Only the matches at the best cost are reported.
_SAME_KEY, _OTHER_SUFFIX, _ONE_EDIT, _ADDED = 1, 2, 3, 4


@dataclass(frozen=True)
class LookalikeMatch:
    """An unknown domain that imitates a known one."""

    domain: str  # as given
    known: str  # the known domain it imitates
    owner: str  # the known domain's owner: an account id, or "internal"
    kind: str  # "homoglyph", "one-edit", "tld-swap", ... (see `LookalikeIndex`)
    explanation: str  # a sentence for a person: what differs, and how


@dataclass(frozen=True, slots=True)
class _Known:
    domain: str
    owner: str
    label: str  # registrable label as written, e.g. "northwind-telecom"
    suffix: str  # public suffix, e.g. "co.uk"
    flat: str  # label folded, hyphens dropped: "northwindtelecom"


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
    """Text as the ASCII it looks like: lower case, accents dropped, confusable letters replaced."""
    return text.lower() if text.isascii() else "".join(map(_fold_char, text))


def flatten(text: str) -> str:
    """A label (or labels) folded, with hyphens and dots dropped: `Acme-Corp` -> `acmecorp`."""
    return fold(text).replace("-", "").replace(".", "")


def strict_key(flat: str) -> str:
    """Fold unmistakable visual tricks (`rn`/`m`, `0`/`o`, `1`/`l`, ...) so both forms give one key."""
    out = flat.translate(_STRICT_SINGLE)
    for pair, single in _STRICT_PAIRS:
        out = out.replace(pair, single)
    return out


def edit_key(flat: str) -> str:
    """Letters easy to mistake for one another made equal, keeping the length (one typo, one edit)."""
    return flat.translate(_EDIT_CLASSES)


def strong_key(flat: str) -> str:
    """Like `edit_key`, but only for digits standing in for letters (`0`/`o`, `1`/`l`)."""
    return flat.translate(_STRONG_CLASSES)


def respell(flat: str) -> str:
    """British spellings rewritten the American way (`colourcentre` -> `colorcenter`)."""
    for trigger, pattern, repl in _SPELLING_RULES:
        if trigger in flat:
            flat = pattern.sub(repl, flat)
    return flat


def _deletes(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


def _edit(a: str, b: str) -> tuple[str, int] | None:
    """The single edit turning `b` into `a` ("same", "sub", "swap", "ins", "del") and where, or None."""
    if a == b:
        return "same", -1
    la, lb = len(a), len(b)
    i = 0
    while i < la and i < lb and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return "sub", i
        if i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]:
            return "swap", i
        return None
    if la == lb + 1 and a[i + 1 :] == b[i:]:
        return "ins", i  # `a` has an extra a[i]
    if lb == la + 1 and a[i:] == b[i + 1 :]:
        return "del", i  # `a` lacks b[i]
    return None


def _glyph_variants(key: str, pairs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """`key`, and `key` with multi-letter tricks read as the letter they imitate (`rn` -> `m`).

    All forms are indexed and probed, to find candidates: reading `rn` as `m` inside a typo'd name
    would turn one slip into two edits (`lawrnce` is not `lawmce`), and not reading it would miss
    `tiger-rnedia`. Each kind of trick is read alone and all together, since a name may hold a
    real `rn` and a fake one. `_same_look` then decides.
    """
    present = [(pair, single) for pair, single in pairs if pair in key]
    if not present:
        return (key,)
    variants = [key] + [_read_as(key, ((pair, single),)) for pair, single in present]
    if len(present) > 1:
        variants.append(_read_as(key, present))
    return tuple(dict.fromkeys(variants))


def _same_look(typed: str, meant: str, pairs: tuple[tuple[str, str], ...]) -> bool:
    """Whether two keys look the same once multi-letter tricks are read as the letter they imitate.

    Each kind of trick is read on both sides at once (a real `mm` in `summit` and a fake `rnrn`
    are both `m`s); all kinds together only on one side, so tricks cannot pile up from both
    sides into a match between unrelated names (`iceblink`, `iccclinic`).
    """
    present = [p for p in pairs if p[0] in typed or p[0] in meant]
    if not present:
        return False
    if any(_read_as(typed, (p,)) == _read_as(meant, (p,)) for p in present):
        return True
    return _read_as(typed, present) == meant or typed == _read_as(meant, present)


def _read_as(key: str, pairs: Iterable[tuple[str, str]]) -> str:
    """Replace each trick until none is left: a trick used twice (`llh` for `h`) is undone twice."""
    previous = None
    while previous != key:
        previous = key
        for pair, single in pairs:
            key = key.replace(pair, single)
    return key


def _plausible_slip(op: str, at: int, typed: str, meant: str, typed_key: str, word_ends: set[int]) -> bool:
    """Whether one edit from `meant` to `typed` is a slip people (and typosquatters) make.

    `typed_key` is the key the edit was found on; an extra letter inside a run of look-alike
    letters could be any of them, so each is tried.
    """
    if op == "sub":
        x, y = typed[at], meant[at]
        return y in NEIGHBOUR_KEYS.get(x, ()) or (x in VOWELS and y in VOWELS) or edit_key(x) == edit_key(y)
    if op == "ins":
        start = at
        while start and typed_key[start - 1] == typed_key[at]:
            start -= 1
        return any(_plausible_insertion(j, typed, word_ends) for j in range(start, at + 1))
    return True  # omissions and swaps of any letter


def _plausible_insertion(at: int, typed: str, word_ends: set[int]) -> bool:
    x = typed[at]
    around = typed[at - 1 : at] + typed[at + 1 : at + 2]
    return (
        x == "s"
        or x in around
        or at == len(typed) - 1
        or at in word_ends
        or any(x in NEIGHBOUR_KEYS.get(c, ()) for c in around)
    )


def _word_ends(label: str) -> set[int]:
    """Positions in the flattened label that end a hyphen-separated part (`north-wind`: {4})."""
    ends, n = set(), 0
    for part in label.split("-")[:-1]:
        n += len(fold(part))
        ends.add(n - 1)
    return ends


class _HashedMultiMap:
    """Many str keys -> known-domain ids, in one sorted array of 8 bytes per entry.

    Holds the one-deletion neighbourhoods (about 16 keys per known domain): as a dict of strings
    they would take ~150 bytes an entry, 250 MB at 100,000 domains. Each entry packs 40 bits of
    the key's hash above a 24-bit id; a look-up is a binary search. A hash collision can only add
    a candidate, and every candidate is verified, so it never changes a result.
    """

    def __init__(self) -> None:
        self._entries = array("Q")

    def add(self, keys: Iterable[str], ident: int) -> None:
        self._entries.extend([(hash(key) & _HASH_MASK) << _ID_BITS | ident for key in keys])

    def freeze(self) -> None:
        """Sort the entries; call once, after the last `add`, before any `get`."""
        self._entries = array("Q", sorted(self._entries))

    def get(self, key: str) -> list[int]:
        entries = self._entries
        first = (hash(key) & _HASH_MASK) << _ID_BITS
        last = first | _ID_MASK
        i = bisect_left(entries, first)
        found = []
        while i < len(entries) and entries[i] <= last:
            found.append(entries[i] & _ID_MASK)
            i += 1
        return found


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

    def __init__(
        self,
        known: Mapping[str, str],
        *,
        min_edit_length: int = 4,
        short_name_length: int = 5,
        loose_length: int = 8,
    ) -> None:
        self.min_edit_length = min_edit_length
        self.short_name_length = short_name_length
        self.loose_length = loose_length
        self._owner_of: dict[str, str] = {}
        self._registrable: set[str] = set()
        self._known: list[_Known] = []
        self._suffix_parts: set[str] = set()  # "com", "couk", "co", "uk": suffixes as glued into labels
        self._by_key = _MultiMap()  # strict key -> ids
        self._by_spelling = _MultiMap()  # respelled strict key, where it differs -> ids
        self._by_edit = _MultiMap()  # edit key (of each glyph variant) -> ids
        self._by_delete = _HashedMultiMap()  # edit key minus one character -> ids, long labels only
        self._by_head = _MultiMap()  # strict key of a hyphenated label without its last part -> ids
        self._by_tail = _MultiMap()  # strict key of a hyphenated label without its first part -> ids
        if len(known) > _ID_MASK:
            raise ValueError(f"at most {_ID_MASK:,} known domains")
        for domain, owner in known.items():
            self._add(domain, owner)
        self._by_delete.freeze()

    def __len__(self) -> int:
        return len(self._known)

    def _add(self, domain: str, owner: str) -> None:
        domain, _ = normalise_domain(domain)
        if "." not in domain or domain in self._owner_of:
            return
        self._owner_of[domain] = owner
        sub, label, suffix = split_domain(domain)
        suffix = sys.intern(suffix)  # a handful of distinct suffixes, shared by 100,000 domains
        self._registrable.add(f"{label}.{suffix}" if sub else domain)
        self._suffix_parts.update((suffix.replace(".", ""), *suffix.split(".")))
        ident = len(self._known)
        flat = flatten(label)
        self._known.append(_Known(domain, owner, label, suffix, flat))
        key = strict_key(flat)
        self._by_key.add(key, ident)
        spelled = strict_key(respell(flat))
        if spelled != key:
            self._by_spelling.add(spelled, ident)
        for loose in _glyph_variants(edit_key(flat), _LOOSE_PAIRS):
            self._by_edit.add(loose, ident)
            if len(flat) >= self.min_edit_length:
                self._by_delete.add(_deletes(loose), ident)
        parts = label.split("-")
        if len(parts) > 1:
            self._by_head.add(strict_key(flatten("-".join(parts[:-1]))), ident)
            self._by_tail.add(strict_key(flatten("-".join(parts[1:]))), ident)

    def is_known(self, domain: str) -> bool:
        """Whether `domain` is a known domain or a subdomain of one."""
        parts = normalise_domain(domain)[0].split(".")
        return any(".".join(parts[i:]) in self._owner_of for i in range(len(parts) - 1))

    def match(self, domain: str) -> LookalikeMatch | None:
        """The known domain `domain` imitates most closely, or None if it imitates none."""
        found = self.matches(domain)
        return found[0] if found else None

    def matches(self, domain: str) -> list[LookalikeMatch]:
        """Every known domain `domain` imitates equally closely (usually one), the likeliest first.

        Empty when the domain is known, a subdomain of a known domain, shares a known domain's
        registrable domain (`eu.acme.com` vs `us.acme.com`), is a big mail provider, sits under a
        restricted suffix (.gov, .edu, .ac.uk, ...), or is simply not close to any known domain.
        """
        unicode_domain, was_punycode = normalise_domain(domain)
        if "." not in unicode_domain or self._is_related_to_known(unicode_domain):
            return []
        sub, label, suffix = split_domain(unicode_domain)
        if unicode_domain in PROVIDERS or is_restricted(suffix):
            return []
        flat = flatten(label)
        found: dict[int, tuple[int, str]] = {}  # known id -> (cost, how it matched)

        def offer(ids: Iterable[int], cost: int, how: str) -> None:
            for ident in ids:
                known = self._known[ident]
                total = cost
                if known.suffix != suffix:
                    if how in ("word", "part", "plural") or not self._suffix_may_differ(known, suffix, flat):
                        continue
                    total += cost == _SAME_KEY
                if ident not in found or total < found[ident][0]:
                    found[ident] = (total, how)

        key = strict_key(flat)
        offer(self._by_key.get(key), _SAME_KEY, "key")
        if "1" in flat:  # `1` looks like `i` as much as `l`
            offer(self._by_key.get(strict_key(flat.replace("1", "i"))), _SAME_KEY, "key")
        spelled = strict_key(respell(flat))
        for probe in {key, spelled}:
            offer(self._by_spelling.get(probe), _SAME_KEY, "spelling")
        if spelled != key:
            offer(self._by_key.get(spelled), _SAME_KEY, "spelling")
        if sub:
            offer(self._by_key.get(strict_key(flatten(".".join((*sub, label))))), _SAME_KEY, "joined")
        for ident, op in self._near(label, flat, suffix):
            offer((ident,), _SAME_KEY if op == "same" else _ONE_EDIT, "edit")
        for ident, how in self._rewritten(label, flat):
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

    def _suffix_may_differ(self, known: _Known, suffix: str, flat: str) -> bool:
        """Whether a name (`flat`) under another suffix can still imitate `known`.

        A long name is distinctive under any suffix, and so is a look-alike trick. So is the very
        same short name under any other suffix (`acme.de`, `acme.xyz` for `acme.com`): that is
        where imitations of a short name get registered, and dnstwist's tld-swap tries a hundred
        of them. Except under .com, .net and .org, where every two- to four-letter name was taken
        decades ago, nearly always by another organisation (`ntk.net` for `ntk.com`, `sial.org`
        for `sial.com`, seen in real mail): there a short name only counts under a suffix one
        slip away (`.co`/`.com`/`.cm`, or `.uk` for `.co.uk`).
        """
        if len(known.flat) >= self.short_name_length or flat != known.flat or suffix not in LEGACY_SUFFIXES:
            return True
        ours, theirs = suffix.split("."), known.suffix.split(".")
        return bool(
            set(ours) & set(theirs)
            or _edit(suffix.replace(".", ""), known.suffix.replace(".", "")) is not None
        )

    def _is_related_to_known(self, domain: str) -> bool:
        if self.is_known(domain):
            return True
        _, label, suffix = split_domain(domain)
        return f"{label}.{suffix}" in self._registrable

    def _near(self, label: str, flat: str, suffix: str) -> Iterator[tuple[int, str]]:
        """Known labels (same suffix) that look the same or are one plausible slip away.

        Symmetric-delete look-ups on the edit key: the key itself, the key with one character
        deleted, and the known keys with one deleted. Short labels only match when they look the
        same thanks to a digit or a non-ASCII letter (`1bm`, `іbm`), not an ASCII look-alike (`dgi`).
        """
        long = len(flat) >= self.min_edit_length
        if not long and label.isascii() and not any(c.isdigit() for c in label):
            return
        candidates: set[int] = set()
        for loose in _glyph_variants(edit_key(flat), _LOOSE_PAIRS):
            probes = [self._by_edit.get(loose)]
            if long:
                probes.append(self._by_delete.get(loose))  # query lacks a character
                for d in _deletes(loose):
                    probes.append(self._by_edit.get(d))  # query has an extra character
                    probes.append(self._by_delete.get(d))  # substitution or swap
            for ids in probes:
                candidates.update(ids)
        word_ends = _word_ends(label)
        unicode_label = not label.isascii()
        for ident in candidates:
            known = self._known[ident]
            if known.suffix == suffix:
                op = self._slip(label, flat, known, word_ends, unicode_label)
                if op is not None:
                    yield ident, op

    def _slip(
        self, label: str, typed: str, known: _Known, word_ends: set[int], unicode_label: bool
    ) -> str | None:
        """How `typed` differs from the known label `meant`: "same" look, one plausible slip, or None.

        Loosely similar letters (`c`/`e`, `m`/`n`/`r`, `g`/`q`, ...) and tricks built from them only
        count in names of `loose_length` or more, or in names already written with non-ASCII
        letters: in short ASCII names they join unrelated companies (`enron`, `enmo`).
        """
        meant = known.flat
        shortest = min(len(typed), len(meant))
        loose = shortest >= self.loose_length or unicode_label
        key, pairs = (edit_key, _LOOSE_PAIRS) if loose else (strong_key, _STRICT_PAIRS)
        typed_key, meant_key = key(typed), key(meant)
        edit = _edit(typed_key, meant_key)
        if edit is not None:
            op, at = edit
            if op == "same" or self._is_slip(op, at, label, typed, known, typed_key, word_ends, loose):
                return op
        return "same" if _same_look(typed_key, meant_key, pairs) else None

    def _is_slip(
        self,
        op: str,
        at: int,
        label: str,
        typed: str,
        known: _Known,
        typed_key: str,
        word_ends: set[int],
        loose: bool,
    ) -> bool:
        """Whether a one-edit difference (`op` at `at` in the keys) is a slip, not another name.

        Each change counts: a slip plus a moved or dropped hyphen is two edits, too many for a name
        under `loose_length` letters (`estee` is not `e-steel`); a slip plus a loosely similar
        letter in an ASCII name is two as well (`mresearch` is not `cnresearch`, m for n and a
        dropped c). Names shorter than `min_edit_length` take none.
        """
        meant = known.flat
        shortest = min(len(typed), len(meant))
        if shortest < self.min_edit_length:
            return False
        if (
            shortest < self.loose_length
            and ("-" in label or "-" in known.label)
            and _edit(strong_key(fold(label)), strong_key(fold(known.label))) is None
        ):
            return False
        if loose and label.isascii() and _edit(strong_key(typed), strong_key(meant)) is None:
            return False
        return _plausible_slip(op, at, typed, meant, typed_key, word_ends)

    def _rewritten(self, label: str, flat: str) -> Iterator[tuple[int, str]]:
        """Known labels reached by undoing an added word, a plural `es` or a glued-on suffix."""
        for n in _ADDED_WORD_LENGTHS:
            if len(flat) - n < 4:
                break
            for word, rest in ((flat[:n], flat[n:]), (flat[-n:], flat[:-n])):
                if word in ADDED_WORDS:
                    yield from ((i, "word") for i in self._by_key.get(strict_key(rest)))
        for glued in self._suffix_parts:
            if flat.endswith(glued) and len(flat) - len(glued) >= 3:
                for ident in self._by_key.get(strict_key(flat[: -len(glued)])):
                    known_suffix = self._known[ident].suffix
                    if glued in (known_suffix.replace(".", ""), *known_suffix.split(".")):
                        yield ident, "glued"
        for i in range(1, len(flat) - 1):
            if flat[i - 1] in "sxz" and flat[i : i + 2] == "es":
                yield from (
                    (ident, "plural") for ident in self._by_key.get(strict_key(flat[:i] + flat[i + 2 :]))
                )
        parts = label.split("-")
        for n in range(_GLUED_AFFIX_MIN, len(flat) - 2):  # a long known name with any word glued on
            for rest in (flat[:n], flat[-n:]):
                yield from ((ident, "word") for ident in self._by_key.get(strict_key(rest)))
        for i in range(len(parts)):  # a whole known name, hyphened to any other words
            for j in range(i + 1, len(parts) + 1):
                if j - i < len(parts):
                    run = strict_key(flatten("-".join(parts[i:j])))
                    if len(run) >= _AFFIX_MIN:
                        yield from ((ident, "word") for ident in self._by_key.get(run))
        if len(parts) > 1:
            for part, rest, table in (
                (parts[-1], parts[:-1], self._by_head),
                (parts[0], parts[1:], self._by_tail),
            ):
                rest_key = strict_key(flatten("-".join(rest)))
                if fold(part) in ADDED_WORDS and len(rest_key) >= 4:
                    ids = list(table.get(rest_key))
                    if len({self._known[i].owner for i in ids}) == 1:  # else too common a part to tell
                        yield from ((i, "part") for i in ids)

    def _in_subdomain(self, sub: tuple[str, ...]) -> Iterator[int]:
        """Known domains, or known names distinctive on their own, used as subdomain labels.

        `acme.com.evil.net` and `northwind-telecom.evil.net` imitate; `quote.bloomberg.com` and
        `promo.euro.apple.com` do not imitate `quote.com` and `promo.com`: a name of five letters
        or fewer is usually an everyday word, and words are how hosts are named (or it names a
        vendor's host for that very customer, `enron.benefitsnow.com`; all seen in real mail). The
        bar is the one for a known name with another word hyphened on (`_AFFIX_MIN`).
        """
        for i in range(len(sub)):
            for j in range(i + 1, len(sub)):
                joined = ".".join(sub[i : j + 1])
                if joined in self._owner_of:
                    yield from self._by_key.get(strict_key(flatten(split_domain(joined)[1])))
            flat = flatten(sub[i])
            if len(flat) >= _AFFIX_MIN:
                yield from self._by_key.get(strict_key(flat))

    def _describe(
        self, domain: str, unicode_domain: str, was_punycode: bool, ident: int, how: str
    ) -> LookalikeMatch:
        known = self._known[ident]
        sub, label, suffix = split_domain(unicode_domain)
        name = ".".join((*sub, label)) if how == "joined" else label
        tld_note = f", and uses .{suffix} instead of .{known.suffix}" if suffix != known.suffix else ""
        shown = f"'{domain}'" + (f" (punycode for '{unicode_domain}')" if was_punycode else "")
        like = f"'{known.domain}'"
        if how == "subdomain":
            used = known.domain if known.domain in name else known.label
            text = f"{shown} puts '{used}' in front of the unrelated domain '{label}.{suffix}' to look like {like}"
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
    if all(set(new + old) <= {"-", "."} for _, new, old, _ in ops):
        return "dot-change" if any("." in new + old for _, new, old, _ in ops) else "hyphenation"
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
    """Whether `new` written in place of `old` is a visual trick rather than a typo."""
    if (new, old) in _VISUAL_PAIRS or (old, new) in _VISUAL_PAIRS:
        return True
    a, b = fold(new), fold(old)
    return a != new and a == b or (len(a) == len(b) and a != b and edit_key(a) == edit_key(b))


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
