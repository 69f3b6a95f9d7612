"""Spelling engine: Hunspell (en_US + en_GB) tuned for email text.

A word is correct when either dictionary accepts it, so British and American spellings both
pass, or when it is in the organisation's vocabulary or in an English word-frequency list
(pyspellchecker's, built from OpenSubtitles and cleaned of misspellings), which knows the names,
places, brands and slang Hunspell lacks. On top of that this module decides what is worth
checking in an email: URLs, addresses, file names, reference codes, numbers, acronyms,
identifiers, pasted code and names are never flagged.

An unknown word is reported only when it looks like a slip for a real word (`slip_for`): one
typing slip away from a word that is common enough for its length, keeping the first letter.
Trade jargon, product names and other languages usually are not, so they are left alone; this
is what keeps false alarms on real mail low (bench/spelling_bench.py measures both sides).
It also catches slips the dictionaries cannot see because the misspelt form is itself a word:
missing possessive apostrophes ("yesterdays outage", "last weeks invoice").

Suggestions come from Hunspell (both dictionaries), re-ranked by edit distance and word
frequency; they are computed only for unknown words and cached, because Hunspell's suggest
costs ~30 ms per word while checking costs ~3 µs.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import hunspell

DICTIONARY_DIRS = (
    Path("/usr/share/hunspell"),
    Path("/usr/share/myspell/dicts"),
    Path("/usr/share/myspell"),
    Path("/usr/local/share/hunspell"),
    Path("/opt/homebrew/share/hunspell"),
    Path("/Library/Spelling"),
)
LANGUAGES = ("en_US", "en_GB")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Shorthand that is normal in business email and that neither dictionary nor the frequency list
# knows; flagging it would be noise, not help.
EMAIL_SHORTHAND = _wordset(
    "fyi btw thx tx thks tks pls plz fw eod eow ooo tbd tba tbc imo imho afaik lmk wrt pto wfh "
    "faq faqs txt pdfs png csv url urls signup signups mailto rgds regds mtgs ie sep cust wks"
)

# Prefixes written with a hyphen that the dictionaries do not list as words of their own.
HYPHEN_PREFIXES = _wordset(
    "pre re non co un anti multi semi sub inter intra post mid ex bi tri self over under de mis pro "
    "counter cross e mega micro mini auto quasi"
)

_SHORT_TIME = {
    "yesterdays": "yesterday's",
    "todays": "today's",
    "tomorrows": "tomorrow's",
    "tonights": "tonight's",
}
_PERIODS = {
    "weeks": "week's",
    "months": "month's",
    "years": "year's",
    "quarters": "quarter's",
    "nights": "night's",
}
_PERIOD_LEAD = frozenset({"last", "next", "this", "previous", "past", "coming", "following"})
# Words that, before "last weeks", mean a plural ("the last weeks of the year").
_PLURAL_CUES = frozenset(
    {"the", "these", "those", "few", "several", "many", "couple", "some", "recent", "two", "three"}
)
# Words that, after "yesterdays" / "last weeks", mean it is not a possessive in front of a noun.
_NOT_A_NOUN = _wordset(
    """a an the this that these those my your his her its our their i you he she it we they me him us them
    of in on at to for from by with about into onto over under after before since until during through
    and or but nor so yet as than then if when while because although though whether
    is are was were be been being am have has had having do does did will would shall should can could
    may might must went go goes going gone got get gets came come comes seem seemed seems
    ago later earlier back now too also only just still already again ever never not no yes all any each
    both either neither more most less least very really quite there here where which who whom whose what
    how why"""
)

# Slip kinds that real typing produces (see `_slip`); "other" substitutions and insertions are
# more often deliberate spellings (jargon, names) than typos in mid-length words.
_TYPING_SLIPS = frozenset(
    {"transposition", "vowel", "adjacent-key", "doubled", "undoubled", "omission", "echo"}
)
_SHORT_SLIPS = frozenset({"transposition", "omission", "undoubled"})
_LONG_WORD = 7  # from this length two slips are still a typo (accomodation)
# The shorter an unknown word, the more common its correction must be for a typo to be the
# likely reading (counts in the frequency list; 50 is its floor): teh -> the, but gd -/-> go.
_MIN_COUNT = {1: 1_000_000, 2: 1_000_000, 3: 1_000_000, 4: 10_000, 5: 1_000, 6: 51, 7: 51}
_COMMON_PART = 5_000  # both halves of "overthe" / "heatsink" must be everyday words
_COMMON_NAME_LIKE = 100_000  # Thnks -> Thanks, but not Belew -> Below

_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_CHUNK = re.compile(r"\S+")
_LINE = re.compile(r"[^\n]+")
# Code, shell commands, config and HTML markup pasted into a message: not prose, so not checked.
_CODE_LINE = re.compile(
    r"[{}]|;\s*$|\w\(|[=!:]=|\s=\s|->|=>|\$\w|^\s*[$#%]\s|\w::\w|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>"
)
_OPTION = re.compile(r"^--?[a-z]")  # command-line options: -xdev, --with-emacs
_LEADING = "\"'([{<*_“‘«¿¡"
_TRAILING = "\"')]}>.,;:!?*_”’»…"
_SKIP_CHUNK = re.compile(r"@|://|^www\.|\d|[#_=\\|~^<>{}\[\]$%&+*]")
_SENTENCE_END = ".!?:"
_OPENERS = "\"'([{<*“‘«-•>–—"
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "′": "'"})
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f'-]+$")


@dataclass(frozen=True)
class Misspelling:
    """A flagged span of the checked text, with ranked suggestions (best first)."""

    start: int
    end: int
    word: str
    suggestions: tuple[str, ...]
    kind: str  # "spelling" or "possessive"


def find_dictionary(language: str, dirs: Iterable[Path] = DICTIONARY_DIRS) -> tuple[Path, Path]:
    """The (.dic, .aff) pair for `language`, from the first directory that has both."""
    for directory in dirs:
        dic, aff = directory / f"{language}.dic", directory / f"{language}.aff"
        if dic.is_file() and aff.is_file():
            return dic, aff
    searched = ", ".join(str(d) for d in dirs)
    raise OSError(
        f"no Hunspell dictionary {language} (looked in {searched}); install hunspell-en-us and hunspell-en-gb"
    )


@cache
def bundled_frequencies() -> Mapping[str, int]:
    """English word frequencies from pyspellchecker's list (OpenSubtitles counts), or {} if not installed.

    Used only to order suggestions ("receive" before "reverie"); loaded once per process, on the
    first suggestion, so messages with nothing misspelled never pay for it.
    """
    try:
        path = resources.files("spellchecker") / "resources" / "en.json.gz"
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError):
        return {}


def _vocabulary_keys(entries: Iterable[str]) -> set[str]:
    """Each entry lower-cased, plus each of its word components ("Northwind Telecom" -> northwind, telecom)."""
    keys: set[str] = set()
    for entry in entries:
        text = entry.translate(_APOSTROPHES).strip().lower()
        if not text:
            continue
        keys.add(text)
        keys.update(m.group(0) for m in re.finditer(r"[^\W\d_]+", text))
    return keys


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _match_case(template: str, word: str) -> str:
    if template[:1].isupper() and word[:1].islower():
        return word[:1].upper() + word[1:]
    return word


class SpellChecker:
    """Checks email text. Build once, then call `check()` many times.

    Building loads two Hunspell dictionaries (~0.1 s) and, once per process, the frequency list
    (~0.3 s more). Checking a clean 200-word email takes ~1 ms; each unknown word costs one
    Hunspell suggestion (~60 ms) the first time it is seen, then nothing (cached).
    """

    def __init__(
        self,
        vocabulary: Iterable[str] = (),
        *,
        languages: Iterable[str] = LANGUAGES,
        dictionary_dirs: Iterable[Path] = DICTIONARY_DIRS,
        frequencies: Mapping[str, int] | None = None,
        max_suggestions: int = 5,
        cache_size: int = 50_000,
    ) -> None:
        dirs = tuple(dictionary_dirs)
        self._dictionaries = [hunspell.HunSpell(*map(str, find_dictionary(lang, dirs))) for lang in languages]
        self._vocabulary = _vocabulary_keys(vocabulary) | EMAIL_SHORTHAND
        self._frequencies = bundled_frequencies() if frequencies is None else frequencies
        if not self._frequencies:
            # Without it every short unknown word would be left alone and names would be flagged.
            raise OSError("no English word-frequency list: install pyspellchecker, which ships one")
        self.max_suggestions = max_suggestions
        self._cache_size = cache_size
        self._known: dict[str, bool] = {}
        self._suggested: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    # -- words -----------------------------------------------------------------------------------

    def is_known(self, word: str) -> bool:
        """Whether a single word is correct: in the vocabulary or accepted by either dictionary."""
        word = word.translate(_APOSTROPHES)
        hit = self._known.get(word)
        if hit is None:
            if len(self._known) >= self._cache_size:
                self._known.clear()  # words repeat heavily across mail; a full reset is cheap and rare
            hit = self._lookup(word)
            self._known[word] = hit
        return hit

    def _lookup(self, word: str) -> bool:
        if self._accepts(word):
            return True
        # Possessives of unknown-but-fine stems ("Jawad's") and lower-case "i'm", "i'll".
        stem = word[:-2] if word.lower().endswith("'s") else word
        if word[:2] == "i'":
            stem = "I" + word[1:]
        return stem != word and self._accepts(stem)

    def _accepts(self, word: str) -> bool:
        lower = word.lower()
        # The frequency list is a cleaned word list (misspellings removed) that knows names,
        # places, brands and slang Hunspell lacks: "Kevin", "linux", "snuck".
        return (
            lower in self._vocabulary
            or lower in self._frequencies
            or any(d.spell(word) for d in self._dictionaries)
        )

    def suggest(self, word: str) -> tuple[str, ...]:
        """Ranked corrections for `word`, best first (at most `max_suggestions`)."""
        return self._ranked(word)[1]

    def _ranked(self, word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(every candidate, ranked; the first `max_suggestions` of them), cached per word."""
        word = word.translate(_APOSTROPHES)
        cached = self._suggested.get(word)
        if cached is None:
            if len(self._suggested) >= 4096:
                self._suggested.clear()
            ranked = self._rank(word)
            cached = (ranked, ranked[: self.max_suggestions])
            self._suggested[word] = cached
        return cached

    def _rank(self, word: str) -> tuple[str, ...]:
        candidates: list[str] = []
        seen: set[str] = {word}
        for dictionary in self._dictionaries:
            for candidate in dictionary.suggest(word):
                if candidate not in seen:
                    seen.add(candidate)
                    candidates.append(candidate)
        freq = self._frequencies
        lower = word.lower()

        # Hunspell's own order is a good prior; edit distance and how common a word is settle
        # what Hunspell orders poorly. People drop letters more often than they add them, so a
        # candidate shorter than the typo is less likely (enginers -> engineers, not engines).
        # Weights chosen on a Wikipedia-list sample and Norvig's development set; Norvig's test
        # set and Birkbeck are the held-out check (bench/spelling_bench.py).
        def score(item: tuple[int, str]) -> float:
            rank, candidate = item
            key = candidate.lower()
            return (
                math.log(freq.get(key, 0) + 1)
                - 5 * _edit_distance(lower, key)
                - 0.5 * rank
                - (3 if " " in candidate or "-" in candidate else 0)
                - (2 if len(key) < len(lower) else 0)
            )

        ranked = sorted(enumerate(candidates), key=score, reverse=True)
        return tuple(_match_case(word, c) for _, c in ranked)

    def slip_for(self, word: str, candidates: Iterable[str], common: int = 0) -> str | None:
        """The candidate an unknown word looks like a slip for, or None if it does not look like one.

        Real mail is full of words no dictionary has: product names, trade jargon ("socal",
        "bidweek"), slang, other languages, people's names. Typos differ from those in a
        measurable way: they sit one typing slip (two, in a long word) from a common word and
        keep its first letter. Words that are not like that are left alone, which trades a little
        recall for far fewer false alarms (see bench/spelling_bench.py). `common` is the least
        count in the frequency list a correction must have.
        """
        lower = word.lower()
        capitalised = word[:1].isupper()
        singles: list[str] = []
        compound = False
        for rank, suggestion in enumerate(candidates):
            key = suggestion.lower()
            if key == lower and rank < self.max_suggestions:
                return None  # only the case differs: a name or acronym typed in lower case
            parts = key.replace("-", " ").split()
            if len(parts) == 1:
                singles.append(suggestion)
            elif (
                "".join(parts) == lower
                and all(self._frequencies.get(p, 0) >= _COMMON_PART for p in parts)
                and all(len(p) >= 3 or p in _NOT_A_NOUN for p in parts)  # not "he u", "ma no"
            ):
                if (
                    any(p in _NOT_A_NOUN for p in parts)
                    and min(self._frequencies.get(p, 0) for p in parts) >= common
                ):
                    return suggestion  # a missing space: "alot", "overthe", "somepoint"
                # Two content words written as one ("heatsink", "citygate") is a deliberate compound
                # unless a single typing slip explains the word better.
                compound = compound or all(len(p) >= 3 for p in parts)
        min_count = max(_MIN_COUNT.get(len(lower), 0), common)
        for suggestion in singles:
            key = suggestion.lower()
            freq = self._frequencies.get(key, 0)
            # A capitalised word one letter from a lower-case word is often a name (Belew, Lavo,
            # Carleson): short ones count only as slips for very common words, longer ones only
            # for single typing slips (Invoce, Recieved).
            name_like = capitalised and self._is_common_noun(key)
            if name_like and len(lower) <= 5 and freq < _COMMON_NAME_LIKE:
                continue
            slip = _slip(lower, key)
            if slip == "apostrophe":
                return suggestion  # dont, thats, doesnt
            if freq < min_count or (key[0] != lower[0] and not _first_letter_slip(slip, len(lower))):
                continue  # typists keep the first letter; jargon often differs there (wget, imap)
            if len(lower) <= 3:
                if slip in _SHORT_SLIPS:
                    return suggestion  # teh, fo, wil; other short unknowns are abbreviations (gd, mw, sj)
            elif slip in _TYPING_SLIPS:
                return suggestion
            elif not (compound or name_like) and len(lower) >= _LONG_WORD and _edit_distance(lower, key) <= 2:
                return suggestion  # long words may carry two slips: tommorow, succesfull
        return None

    def _near_common_word(self, lower: str, common: int = 0) -> bool:
        """Whether one edit (or a space or apostrophe) turns `lower` into a word common enough for
        `slip_for` to accept; without one, a short unknown word cannot be a slip."""
        floor = max(_MIN_COUNT.get(len(lower), 0), common)
        freq = self._frequencies
        for i in range(len(lower) + 1):
            head, tail = lower[:i], lower[i:]
            if 0 < i < len(lower) and freq.get(head, 0) >= _COMMON_PART and freq.get(tail, 0) >= _COMMON_PART:
                return True
            variants = [head + "'" + tail] + [head + c + tail for c in _LETTERS]
            if tail:
                variants += [head + tail[1:]] + [head + c + tail[1:] for c in _LETTERS]
            if len(tail) > 1:
                variants.append(head + tail[1] + tail[0] + tail[2:])
            if any(freq.get(v, 0) >= floor for v in variants):
                return True
        return False

    def _is_common_noun(self, lower: str) -> bool:
        """Whether a dictionary word is written in lower case (below), unlike a proper noun (Cambridge)."""
        return any(d.spell(lower) for d in self._dictionaries)

    # -- text ------------------------------------------------------------------------------------

    def check(self, text: str) -> list[Misspelling]:
        """Misspelled words and missing possessive apostrophes in `text`, in order of position."""
        text = text.translate(_APOSTROPHES)  # same length, so offsets still index the caller's text
        tokens = list(_tokens(text))
        names = {w for w, s, _ in tokens if not _sentence_start(text, s) and _is_capitalised(w)}
        found = list(_possessives(text, tokens))
        taken = {i for m in found for i in range(m.start, m.end)}
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        words_on_line: dict[int, int] = {}
        unknown: list[tuple[str, int, int]] = []  # (word, start, line)
        for word, start, end in tokens:
            if start in taken or self._ignorable(word, text, start, names) or self._elided(word, text, end):
                continue
            line = bisect_right(line_starts, start)
            words_on_line[line] = words_on_line.get(line, 0) + 1
            if self._hyphenated_ok(word):
                continue
            for part, offset in _hyphen_parts(word):
                if (
                    len(part) > 1
                    and not self.is_known(part)
                    and not (offset == 0 and part.lower() in HYPHEN_PREFIXES)
                ):
                    unknown.append((part, start + offset, line))
        if len(unknown) >= 6 and len(unknown) * 3 >= sum(words_on_line.values()):
            unknown = []  # a third of the words unknown: the text is not English (or not prose)
        unknown_on_line = Counter(line for _, _, line in unknown)
        repeated = Counter(part.lower() for part, _, _ in unknown)
        for part, start, line in unknown:
            if unknown_on_line[line] >= 3 and unknown_on_line[line] * 2 >= words_on_line[line]:
                continue  # half a line unknown: another language, code or a log, not a typo
            # The same unknown word twice is usually deliberate (a term, a product, a name), unless
            # it is a slip for a very common word: people who write "alot" or "thier" do it every time.
            common = _COMMON_NAME_LIKE if repeated[part.lower()] > 1 else 0
            if len(part) < _LONG_WORD and not self._near_common_word(part.lower(), common):
                continue  # cheap test first: slip_for() needs suggestions, which cost ~60 ms a word
            candidates, shown = self._ranked(part)
            fix = self.slip_for(part, candidates, common)
            if fix is not None:
                # The word it is a slip for is always shown: "alot" -> "a lot", which ranks low.
                if fix not in shown:
                    shown = (fix, *shown)[: self.max_suggestions]
                found.append(Misspelling(start, start + len(part), part, shown, "spelling"))
        found.sort(key=lambda m: m.start)
        return found

    def _ignorable(self, word: str, text: str, start: int, names: set[str]) -> bool:
        letters = word.replace("'", "").replace("-", "")
        if len(letters) <= 1 or not _LATIN.match(word):
            return True  # single letters, and words in other scripts, are not ours to judge
        if letters.isupper():
            return True  # acronym: SLA, ACME, NDA
        if any(c.isupper() for c in letters[1:]) and not letters[1:].isupper():
            return True  # CamelCase / identifiers: RevCalc, iPhone, McDonald
        if _is_capitalised(word):
            stem = word[:-2] if word.endswith("'s") else word
            if stem in names or word in names:
                return True  # capitalised mid-sentence somewhere in this text: a name
            if _alone_on_line(text, start):
                return True  # "Jawad" / "Kevin Presto" on a line of its own: greeting or signature
            if _in_full_name(text, start, start + len(word)):
                return True  # "Dorin Danesan said", "Mr. Carleson", "Laurance S. Rockefeller"
        return False

    def _elided(self, word: str, text: str, end: int) -> bool:
        """A deliberate elision marked with an apostrophe: "rockin'", "good ol' days"."""
        return text[end : end + 1] == "'" and (self.is_known(word + "g") or self.is_known(word + "d"))

    def _hyphenated_ok(self, word: str) -> bool:
        if "-" not in word:
            return False
        return self.is_known(word) or self.is_known(word.replace("-", ""))


_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_AT = {ch: (row, col) for row, keys in enumerate(_KEYBOARD) for col, ch in enumerate(keys)}
_VOWELS = frozenset("aeiouy")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _adjacent_keys(a: str, b: str) -> bool:
    if a not in _KEY_AT or b not in _KEY_AT or a == b:
        return False
    (r1, c1), (r2, c2) = _KEY_AT[a], _KEY_AT[b]
    return abs(r1 - r2) <= 1 and abs(c1 - c2) <= 1


def _first_letter_slip(slip: str | None, length: int) -> bool:
    """Slips that may change the first letter: htink, and in longer words vetween, ublisher."""
    return slip == "transposition" or (length >= 6 and slip in ("adjacent-key", "omission"))


def _slip(typo: str, word: str) -> str | None:
    """The kind of single slip that turns `word` into `typo`, or None if it takes more than one.

    Kinds: transposition, vowel (a vowel for a vowel), adjacent-key (a neighbouring key hit
    instead or as well), doubled / undoubled letter, echo (an extra letter that the word has
    close by), omission, apostrophe (left out), other.
    """
    if len(typo) == len(word):
        diff = [i for i in range(len(typo)) if typo[i] != word[i]]
        if (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and typo[diff[0]] == word[diff[1]]
            and typo[diff[1]] == word[diff[0]]
        ):
            return "transposition"
        if len(diff) != 1:
            return None
        a, b = typo[diff[0]], word[diff[0]]
        if a in _VOWELS and b in _VOWELS:
            return "vowel"
        return "adjacent-key" if _adjacent_keys(a, b) else "other"
    if len(typo) == len(word) + 1:
        for i in range(len(typo)):
            if typo[:i] + typo[i + 1 :] == word:
                extra, around = typo[i], typo[max(i - 1, 0) : i] + typo[i + 1 : i + 2]
                if extra in around:
                    return "doubled"
                if 0 < i < len(word) and extra in typo[max(i - 2, 0) : i + 3].replace(extra, "", 1):
                    return "echo"  # a letter of the word typed early or again inside it: whcich
                if any(_adjacent_keys(extra, c) for c in around):
                    return "adjacent-key"
                return "other"
        return None
    if len(typo) + 1 == len(word):
        for i in range(len(word)):
            if word[:i] + word[i + 1 :] == typo:
                missing = word[i]
                if missing == "'":
                    return "apostrophe"
                if missing in word[max(i - 1, 0) : i] + word[i + 1 : i + 2]:
                    return "undoubled"
                return "omission"
        return None
    return None


def _tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) for every checkable word; lines of code and chunks that are not prose are skipped."""
    for line in _LINE.finditer(text):
        if not _CODE_LINE.search(line.group(0)):
            yield from _line_tokens(text, line.start(), line.end())


def _line_tokens(text: str, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    for chunk in _CHUNK.finditer(text, start, end):
        raw = chunk.group(0)
        left = len(raw) - len(raw.lstrip(_LEADING))
        core = raw[left:].rstrip(_TRAILING)
        if not core or _SKIP_CHUNK.search(core) or _OPTION.match(core):
            continue  # URLs, addresses, codes (INC-4821, PO#12345, v2.3), numbers, amounts, markup
        if "." in core:
            continue  # domains, file names, abbreviations (acme.com, report.pdf, e.g)
        if "/" in core and not all(p.isalpha() for p in core.split("/")):
            continue  # paths; "and/or" style pairs are still checked word by word
        base = chunk.start() + left
        for m in _WORD.finditer(core):
            word = m.group(0)
            yield word, base + m.start(), base + m.end()


def _hyphen_parts(word: str) -> Iterator[tuple[str, int]]:
    """The parts of a hyphenated word with their offsets ("follow-up" -> follow@0, up@7)."""
    offset = 0
    for part in word.split("-"):
        yield part, offset
        offset += len(part) + 1


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not word[1:].replace("'", "").isupper()


def _sentence_start(text: str, start: int) -> bool:
    """Whether the word at `start` begins a sentence: text start, after . ! ? :, or a new paragraph.

    A single line break does not start a sentence, because email bodies are often hard-wrapped;
    a line after a greeting ("Hi Bill,") does, since that is where the first sentence starts.
    """
    i = start - 1
    newlines = 0
    while i >= 0 and (text[i].isspace() or text[i] in _OPENERS):
        newlines += text[i] == "\n"
        i -= 1
    if i < 0 or text[i] in _SENTENCE_END or newlines >= 2:
        return True
    return newlines == 1 and text[i] == ","


_TITLES = frozenset({"Mr", "Mrs", "Ms", "Dr", "Prof", "Sir", "Dame", "Mx"})
_NEXT_NAME = re.compile(r" (?:[A-Z]\.|[A-Z][a-z])")
_PREVIOUS_WORD = re.compile(r"([A-Za-z]+)\.? $")


def _in_full_name(text: str, start: int, end: int) -> bool:
    """A capitalised word followed by another name part or an initial, or after a title."""
    if _NEXT_NAME.match(text, end):
        return True
    previous = _PREVIOUS_WORD.search(text, max(0, start - 6), start)
    return previous is not None and previous.group(1) in _TITLES


def _alone_on_line(text: str, start: int) -> bool:
    """A capitalised word on a short line of capitalised words only ("Thanks," / "Kevin M. Presto")."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", line)
    return 0 < len(words) <= 3 and all(w[:1].isupper() for w in words)


def _possessives(text: str, tokens: list[tuple[str, int, int]]) -> Iterator[Misspelling]:
    """Missing possessive apostrophes before a noun: "yesterdays outage", "last weeks invoice"."""
    for i, (word, start, end) in enumerate(tokens):
        lower = word.lower()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or not _same_phrase(text, end, nxt[1]) or not _noun_like(nxt[0]):
            continue
        if lower in _SHORT_TIME:
            yield Misspelling(start, end, word, (_match_case(word, _SHORT_TIME[lower]),), "possessive")
        elif lower in _PERIODS and i > 0:
            lead, lead_start, lead_end = tokens[i - 1]
            if lead.lower() not in _PERIOD_LEAD or not _same_phrase(text, lead_end, start):
                continue
            before = (
                tokens[i - 2][0].lower() if i > 1 and _same_phrase(text, tokens[i - 2][2], lead_start) else ""
            )
            if before in _PLURAL_CUES:
                continue
            phrase = text[lead_start:end]
            fixed = text[lead_start:start] + _PERIODS[lower]
            yield Misspelling(lead_start, end, phrase, (_match_case(lead, fixed),), "possessive")


def _same_phrase(text: str, end: int, next_start: int) -> bool:
    """Only spaces between two words (no punctuation, no line break)."""
    gap = text[end:next_start]
    return bool(gap) and gap.strip(" \t") == ""


def _noun_like(word: str) -> bool:
    return word.isalpha() and word.islower() and word not in _NOT_A_NOUN and not word.endswith("ly")
