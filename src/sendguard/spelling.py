"""Spelling engine: Hunspell (en_US + en_GB) tuned for email text.

A word is correct when either dictionary accepts it, so British and American spellings both
pass, or when it is in the organisation's vocabulary or in an English word-frequency list
(pyspellchecker's, built from OpenSubtitles and cleaned of misspellings), which knows the names,
places, brands and slang Hunspell lacks. On top of that this module decides what is worth
checking in an email: URLs, addresses, file names, reference codes, numbers, acronyms,
identifiers, pasted code and names are never flagged.

Nor is what a person would not call a misspelling: titles in a list of links, lines in another
language (more of its function words than English ones), words in a short quotation ("aplay":
mentioned, not used), the halves of a word hyphenated at a line break, the dropped g of
"stinkin thinkin", and a lower-case word the text also writes as a name or acronym (alsa, ALSA).
What others wrote in the same conversation is evidence too (`check`'s `shared`): an unknown
word that its quoted text, a reply's subject or an attachment's name also uses is a term the
correspondents share, not the author's slip. On real mail (bench/spelling_bench.py) that removes
1 of Enron's 47 false alarms and 6 of SpamAssassin's 97, for one labelled typo (athalon, which the
quoted text misspells too): most jargon is in mail that quotes nothing. Counting a word the author
writes again elsewhere in the message (a fresh subject, another paragraph) as deliberate would
remove 5 more on Enron, but it would also pass "recieve" written in a campaign's subject and body.

An unknown word is reported only when it looks like a slip for a real word (`slip_for`): one
typing slip away from a word that is common enough for its length, keeping the first letter.
Trade jargon, product names and other languages usually are not, so they are left alone; this
is what keeps false alarms on real mail low (bench/spelling_bench.py measures both sides).
It also catches slips the dictionaries cannot see because the misspelt form is itself a word:
missing possessive apostrophes ("yesterdays outage", "last weeks invoice").

Candidates for an unknown word come from the frequency list, not from Hunspell's suggest
(~30-60 ms a word, more on a busy machine): every word one edit away, and common words two
edits away through a deletion index built once per process (`_near_words`, ~1-3 ms a word),
ranked by edit distance, typing slip and frequency. At most `max_examined` distinct unknown
words are looked at per text, and the dictionaries are searched for rare words one edit away
(~2-5 ms) for at most `max_dictionary_searches` of them, so one message costs tens of
milliseconds at worst. `SpellChecker.suggest()` also merges Hunspell's suggestions, for callers
that can wait. `learn_vocabulary()` proposes the terms an organisation uses consistently in its
own mail, for `[vocabulary]`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping
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
_DICTIONARY_SEARCH = 8  # from this length, look for rare dictionary words one edit away
_FREQUENCY_FLOOR = 50  # the least count in pyspellchecker's list: half its words, mostly rare ones

_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_CHUNK = re.compile(r"\S+")
_LINE = re.compile(r"[^\n]+")
# Code, shell commands, config and HTML markup pasted into a message: not prose, so not checked.
_CODE_LINE = re.compile(
    r"[{}]|;\s*$|\w\(|[=!:]=|\s=\s|->|=>|\$\w|^\s*[$#%]\s|\w::\w|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>"
    # a shell command with long options: rpmbuild --ba x --without oss
    r"|^\s*[a-z][\w.-]* (?:\S+ )*--[a-z][\w-]+(?: |$)"
)
_OPTION = re.compile(r"^--?[a-z]")  # command-line options: -xdev, --with-emacs
_LEADING = "\"'([{<*_“‘«¿¡"
_TRAILING = "\"')]}>.,;:!?*_”’»…"
_SKIP_CHUNK = re.compile(r"@|://|^www\.|\d|[#_=\\|~^<>{}\[\]$%&+*]")
_SENTENCE_END = ".!?:"
_OPENERS = "\"'([{<*“‘«-•>–—"
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "′": "'"})
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f'-]+$")
# A capital straight after a lower-case letter, as brands and trade terms are written (SoCal, eRequest,
# ComEd); typing slips do not add one, but for a space left out before "I" (canI), hence not at the end.
_INNER_CAPITAL = re.compile(r"[a-z][A-Z](?!$)")


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


def _deletion_index(frequencies: Mapping[str, int]) -> dict[str, str | tuple[str, ...]]:
    """Each common word (count above the list's floor, five letters or more) under every form
    with one letter left out: "engineers" under "ngineers", "egineers", ... (SymSpell's idea).

    A typo two edits from a word then shares a key with it: the typo itself or one of its
    one-letter-shorter forms (letters added, or one added and one left out), or one of its
    one-letter-longer forms (two left out). ~360,000 keys, ~0.4 s to build, ~40 MB.
    """
    index: dict[str, str | tuple[str, ...]] = {}
    for word, count in frequencies.items():
        if count <= _FREQUENCY_FLOOR or len(word) < 5 or not word.isalpha():
            continue
        for i in range(len(word)):
            key = word[:i] + word[i + 1 :]
            old = index.get(key)
            if old is None:
                index[key] = word
            elif isinstance(old, str):
                if old != word:
                    index[key] = (old, word)
            elif word not in old:
                index[key] = (*old, word)
    return index


@cache
def bundled_deletion_index() -> Mapping[str, str | tuple[str, ...]]:
    """`_deletion_index` of the bundled frequency list, built once per process on first use."""
    return _deletion_index(bundled_frequencies())


_TWO_LETTER_WORDS = _wordset("am an as at be by do go he if in is it me my no of on or so to up us we")


def _word_part(part: str, frequencies: Mapping[str, int]) -> bool:
    """Whether `part` can be one of two words run together: "a lot", "in between", "up to"."""
    if len(part) <= 2:
        return part in ("a", "i") or part in _TWO_LETTER_WORDS
    return part in frequencies


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _edits(word: str) -> set[str]:
    """Every string one edit from `word`: a letter left out, swapped, changed or added, or an apostrophe."""
    out: set[str] = set()
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            out.add(head + tail[1:])
            if len(tail) > 1:
                out.add(head + tail[1] + tail[0] + tail[2:])
            out.update(head + c + tail[1:] for c in _LETTERS)
        out.update(head + c + tail for c in _LETTERS)
        out.add(head + "'" + tail)
    out.discard(word)
    return out


def _match_case(template: str, word: str) -> str:
    if template[:1].isupper() and word[:1].islower():
        return word[:1].upper() + word[1:]
    return word


class SpellChecker:
    """Checks email text. Build once, then call `check()` many times.

    Building loads two Hunspell dictionaries (~0.1 s) and, once per process, the frequency list
    (~0.3 s more); the first unknown word in a process builds the candidate index (~0.5 s).
    Checking a clean 200-word email takes ~1 ms; each unknown word costs ~1-3 ms the first time
    it is seen, then nothing (cached), for at most `max_examined` distinct words per text.
    """

    def __init__(
        self,
        vocabulary: Iterable[str] = (),
        *,
        languages: Iterable[str] = LANGUAGES,
        dictionary_dirs: Iterable[Path] = DICTIONARY_DIRS,
        frequencies: Mapping[str, int] | None = None,
        max_suggestions: int = 5,
        max_examined: int = 25,
        max_dictionary_searches: int = 3,
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
        self.max_examined = max_examined
        self.max_dictionary_searches = max_dictionary_searches
        self._cache_size = cache_size
        self._known: dict[str, bool] = {}
        # word -> (ranked candidates, those shown, searched: 0 fast, 1 + dictionaries, 2 + Hunspell)
        self._suggested: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]] = {}
        self._deletions: Mapping[str, str | tuple[str, ...]] | None = None

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
        """Ranked corrections for `word`, best first (at most `max_suggestions`).

        Unlike `check()`, this always asks Hunspell too (~30-60 ms a word, then cached).
        """
        return self._ranked(word, thorough=True)[1]

    def _ranked(
        self, word: str, thorough: bool = False, dictionaries: bool = True
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(every candidate, ranked; the first `max_suggestions` of them), cached per word.

        The fast candidates (`_near_words`; with the dictionaries' words one edit away when
        `dictionaries`), and Hunspell's suggestions too when `thorough`.
        """
        word = word.translate(_APOSTROPHES)
        level = 2 if thorough else 1 if dictionaries else 0
        cached = self._suggested.get(word)
        if cached is None or cached[2] < level:
            if len(self._suggested) >= 4096:
                self._suggested.clear()
            near = self._near_words(word, dictionaries=level > 0)
            hunspell_words: list[str] = []
            if thorough:
                for dictionary in self._dictionaries:
                    hunspell_words += dictionary.suggest(word)
            ranked = self._rank(word, near, hunspell_words)
            cached = (ranked, ranked[: self.max_suggestions], level)
            self._suggested[word] = cached
        return cached[0], cached[1]

    def _needs_dictionaries(self, word: str) -> bool:
        """Whether `_near_words` would ask the dictionaries (~2-5 ms) for this word, not yet cached."""
        cached = self._suggested.get(word.translate(_APOSTROPHES))
        return len(word) >= _DICTIONARY_SEARCH and (cached is None or cached[2] < 1)

    def _near_words(self, word: str, dictionaries: bool = True) -> dict[str, int]:
        """Words of the frequency list within two edits of `word`, with their distance (~0.5-2 ms).

        Everything one edit away (a letter left out, added, changed or two swapped), a missing
        apostrophe (dont) or space (alot); and, for words of four letters or more, the common
        words two edits away by letters added or left out, or one of those and a letter changed
        (acomodation, tommorow, definatly): `_deletion_index` finds them without trying every
        double edit. Two letters changed, one a vowel for a vowel (permenant), only in words of
        seven letters or more, where `slip_for` accepts two slips.
        """
        lower = word.lower()
        freq = self._frequencies
        found: dict[str, int] = {}
        edits = _edits(lower)
        for variant in edits:
            if variant in freq:
                found[variant] = 1
        if dictionaries and not found and len(lower) >= _DICTIONARY_SEARCH:
            # Words the dictionaries know but the list lacks or has as rare (neighbourhood,
            # manoeuvre); only in long words, the only ones `slip_for` takes a rare word for.
            # ~1,000 look-ups (2-5 ms), so `check` does this for a few words per text only.
            for variant in edits:
                if "'" not in variant and any(d.spell(variant) for d in self._dictionaries):
                    found[variant] = 1
        for i in range(1, len(lower)):
            head, tail = lower[:i], lower[i:]
            if _word_part(head, freq) and _word_part(tail, freq):
                found[f"{head} {tail}"] = 1
        if len(lower) >= 4:
            index = self._index()
            probes = {lower}
            for shorter in _deletes(lower):
                probes.add(shorter)
                probes.update(_deletes(shorter))
            probes.update(lower[:i] + c + lower[i:] for i in range(len(lower) + 1) for c in _LETTERS)
            probes.update(lower[:i] + c + lower[i + 1 :] for i in range(len(lower)) for c in _LETTERS)
            if len(lower) >= _LONG_WORD:
                # Two letters changed, one of them a vowel for a vowel (permenant, privelige): a
                # one-letter-shorter form with a vowel changed.
                for shorter in _deletes(lower):
                    probes.update(
                        shorter[:i] + c + shorter[i + 1 :]
                        for i in range(len(shorter))
                        if shorter[i] in _VOWELS
                        for c in _VOWELS
                    )
            for probe in probes:
                hit = index.get(probe)
                for candidate in (hit,) if isinstance(hit, str) else hit or ():
                    if candidate not in found and candidate != lower:
                        distance = _edit_distance(lower, candidate)
                        if distance <= 2:
                            found[candidate] = distance
        return found

    def _index(self) -> Mapping[str, str | tuple[str, ...]]:
        if self._deletions is None:
            bundled = self._frequencies is bundled_frequencies()
            self._deletions = bundled_deletion_index() if bundled else _deletion_index(self._frequencies)
        return self._deletions

    def _rank(self, word: str, near: Mapping[str, int], hunspell_words: Iterable[str]) -> tuple[str, ...]:
        freq = self._frequencies
        lower = word.lower()
        candidates = dict(near)
        hunspell_rank: dict[str, int] = {}
        for rank, candidate in enumerate(dict.fromkeys(hunspell_words)):
            key = candidate.lower()
            parts = key.replace("-", " ").split()
            if key != lower and (len(parts) == 1 or all(_word_part(p, freq) for p in parts)):
                hunspell_rank.setdefault(key, rank)
                if key not in candidates:
                    candidates[key] = _edit_distance(lower, key.replace(" ", ""))
                    if " " in key or "-" in key:
                        candidates[key] = 1  # Hunspell splits "alot" as "a lot": one edit

        # How common a word is and how far it is settle most cases; Hunspell's order, when asked,
        # is a good prior on the rest. People drop letters more often than they add them, so a
        # candidate shorter than the typo is less likely (enginers -> engineers, not engines).
        # Weights chosen on a Wikipedia-list sample and Norvig's development set; Norvig's test
        # set and Birkbeck are the held-out check (bench/spelling_bench.py).
        def score(key: str) -> float:
            parts = key.replace("-", " ").split()
            count = freq.get(key, 0) if len(parts) == 1 else min(freq.get(p, 0) for p in parts)
            cost = 5 * candidates[key]
            if cost == 5 and len(parts) == 1:
                # One edit: a typing slip (a neighbouring key, a swap, a vowel, a doubled letter)
                # is likelier than any other letter (held out: +1.5 points correction@1 on Norvig's
                # test set and +0.4 on Birkbeck).
                cost = 4 if _slip(lower, key) in _TYPING_SLIPS else 5.5
            return (
                math.log(count + 1)
                - cost
                - 0.5 * hunspell_rank.get(key, 4)
                - (3 if len(parts) > 1 else 0)
                - (2 if len(key) < len(lower) else 0)
                - (
                    3 if key[0] != lower[0] and key[:2] != lower[1::-1] else 0
                )  # typists keep the first letter
            )

        # Ties in alphabetical order: the candidates come from sets, whose order changes from run
        # to run (string hashing), and the same message must get the same suggestions every time.
        ranked = sorted(sorted(candidates), key=score, reverse=True)
        return tuple(_match_case(word, self._proper_case(c) if i < 10 else c) for i, c in enumerate(ranked))

    def _proper_case(self, key: str) -> str:
        """A lower-case candidate as the dictionaries write it: australia -> Australia."""
        if " " in key or any(d.spell(key) for d in self._dictionaries):
            return key
        title = key.capitalize()
        return title if any(d.spell(title) for d in self._dictionaries) else key

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
        forms = {lower.capitalize(), lower.upper() if len(lower) <= 5 else lower} - {word, lower}
        if any(d.spell(form) for form in forms for d in self._dictionaries):
            return None  # only the case differs: a name or acronym typed in lower case (nasa, linux)
        singles: list[str] = []
        compound = False
        for suggestion in candidates:
            key = suggestion.lower()
            if key == lower:
                return None
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

    def learn_vocabulary(
        self, texts: Iterable[str], min_texts: int = 3, names: Iterable[str] = ()
    ) -> list[str]:
        """Words an organisation uses that this checker would report: trade terms, product, place and
        people's names (enpower, peaker, gorte), for `[vocabulary]`.

        `texts` are what its people wrote (the new text of the mail they sent and received; copies
        of one text count once); `names` the people's names from the same mail's headers, one
        string per message and person ("Gorte, David"). A word is learned when at least
        `min_texts` texts use it (or as many messages name someone by it), no dictionary knows it,
        and the checker could report it, unless it looks like a typo: a slip for a very common
        word (alot, thats, thier), or for a word these same texts use at least as often
        (accomodate where accommodate is written too). People who misspell a word tend to do it
        every time, so repetition alone does not make it right. What does is a capital inside the
        word in at least `min_texts` texts: the mail that writes "socal" also writes "SoCal", as a
        brand or term is written, and a typing slip does not add a capital after a lower-case letter
        (Enron's held-out mail adds 9 words this way, among them SoCal, ComEd and eSource).
        """
        used: Counter[str] = Counter()  # in how many texts each word is written
        styled: Counter[str] = Counter()  # in how many texts with a capital inside (SoCal, eRequest)
        digests: set[bytes] = set()
        for text in texts:
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            if digest in digests:
                continue
            digests.add(digest)
            parts = [part for w, _, _ in _tokens(text) for part in w.split("-")]
            used.update({part.lower() for part in parts})
            styled.update({part.lower() for part in parts if _INNER_CAPITAL.search(part)})
        named: Counter[str] = Counter()
        for name in names:
            named.update(
                {part.lower() for w in _WORD.findall(name) for part in w.split("-") if len(part) > 1}
            )
        learned = {w for w, count in named.items() if count >= min_texts and not self.is_known(w)}
        for word, count in used.items():
            if count < min_texts or word in learned or not _WORD.fullmatch(word) or self.is_known(word):
                continue
            candidates = self._ranked(word)[0]
            slip = self.slip_for(word, candidates)
            if slip is None:
                continue  # never reported, so nothing to learn
            if styled[word] >= min_texts:
                learned.add(word)  # written as a term (SoCal), so not a slip for social
                continue
            if self.slip_for(word, candidates, _COMMON_NAME_LIKE) is not None or used[slip.lower()] >= count:
                continue
            learned.add(word)
        return sorted(learned)

    # -- text ------------------------------------------------------------------------------------

    def check(self, text: str, *, shared: Container[str] = frozenset()) -> list[Misspelling]:
        """Misspelled words and missing possessive apostrophes in `text`, in order of position.

        `shared`: words (lower case) that others wrote in the conversation `text` is part of: its
        quoted text, a reply's subject, attachment names. A term the correspondents share is not
        the author's slip, so such a word is not reported.
        """
        text = text.translate(_APOSTROPHES)  # same length, so offsets still index the caller's text
        tokens = list(_tokens(text))
        names = {w for w, s, _ in tokens if _is_capitalised(w) and not _sentence_start(text, s)}
        names |= {w[:-2] for w, _, _ in tokens if _is_capitalised(w) and w.endswith("'s")}  # Calpine's
        # A word written elsewhere in this text as a name or an acronym is one here too (alsa, ALSA).
        names |= {w.lower() for w in names} | {w.lower() for w, _, _ in tokens if w.isupper() and len(w) > 1}
        found = list(_possessives(text, tokens))
        taken = {i for m in found for i in range(m.start, m.end)}
        taken.update(self._wrapped(text, tokens))
        taken.update(_mentioned(text))
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        not_prose = _link_titles(text, line_starts) | _foreign_lines(tokens, line_starts)
        words_on_line: dict[int, int] = {}
        unknown: list[tuple[str, int, int]] = []  # (word, start, line)
        for word, start, end in tokens:
            if start in taken or self._ignorable(word, text, start, names) or self._elided(word, text, end):
                continue
            line = bisect_right(line_starts, start)
            if line in not_prose:
                continue
            words_on_line[line] = words_on_line.get(line, 0) + 1
            if self._hyphenated_ok(word):
                continue
            for part, offset in _hyphen_parts(word) if "-" in word else ((word, 0),):
                if (
                    len(part) > 1
                    and part.lower() not in names
                    and not self.is_known(part)
                    and not (offset == 0 and part.lower() in HYPHEN_PREFIXES)
                ):
                    unknown.append((part, start + offset, line))
        if len(unknown) >= 6 and len(unknown) * 3 >= sum(words_on_line.values()):
            unknown = []  # a third of the words unknown: the text is not English (or not prose)
        unknown_on_line = Counter(line for _, _, line in unknown)
        repeated = Counter(part.lower() for part, _, _ in unknown)
        examined: set[str] = set()
        dictionary_searches = 0
        lowered: str | None = None
        for part, start, line in unknown:
            if unknown_on_line[line] >= 3 and unknown_on_line[line] * 2 >= words_on_line[line]:
                continue  # half a line unknown: another language, code or a log, not a typo
            # The same unknown word twice is usually deliberate (a term, a product, a name), unless
            # it is a slip for a very common word: people who write "alot" or "thier" do it every time.
            common = _COMMON_NAME_LIKE if repeated[part.lower()] > 1 else 0
            if len(part) < _LONG_WORD and not self._near_common_word(part.lower(), common):
                continue  # cheap test first (~0.1 ms): slip_for() needs candidates, which cost ~1-3 ms
            if lowered is None:
                lowered = text.lower()
            if _in_identifier(lowered, part):
                continue  # also part of a file, package or host name here: a term (alsa, alsa-driver.spec)
            if _SPELT_OUT_ADDRESS.match(text, start + len(part)):
                continue  # "gbolcer at endeavors.com": an address written out, not a word
            if part.lower() not in examined:
                if len(examined) >= self.max_examined:
                    continue  # the time budget: a text with this many unknown words is not prose to fix
                examined.add(part.lower())
            searches = dictionary_searches < self.max_dictionary_searches
            if searches and self._needs_dictionaries(part):
                dictionary_searches += 1
            candidates, shown = self._ranked(part, dictionaries=searches)
            fix = self.slip_for(part, candidates, common)
            # The conversation is asked last, about would-be findings only (a look-up may be costly).
            if fix is not None and part.lower() not in shared:
                # The word it is a slip for is always shown: "alot" -> "a lot", which ranks low.
                if fix not in shown:
                    shown = (fix, *shown)[: self.max_suggestions]
                found.append(Misspelling(start, start + len(part), part, shown, "spelling"))
        found.sort(key=lambda m: m.start)
        return found

    def _ignorable(self, word: str, text: str, start: int, names: set[str]) -> bool:
        if word.islower():  # most words: none of the tests on capitals below can apply
            return word in names or not _LATIN.match(word) or len(word.replace("'", "").replace("-", "")) <= 1
        letters = word.replace("'", "").replace("-", "")
        if len(letters) <= 1 or not _LATIN.match(word):
            return True  # single letters, and words in other scripts, are not ours to judge
        if letters.isupper():
            return True  # acronym: SLA, ACME, NDA
        if any(c.isupper() for c in letters[1:]) and not letters[1:].isupper():
            return True  # CamelCase / identifiers: RevCalc, iPhone, McDonald
        if word.islower() and word.lower() in names:
            return True  # written as a name or acronym elsewhere in the text: linux, Linux; alsa, ALSA
        if _is_capitalised(word):
            if word.endswith("'s"):
                return True  # a possessive proper noun: Calpine's, Lessig's
            if word in names:
                return True  # capitalised mid-sentence somewhere in this text: a name
            if _alone_on_line(text, start):
                # "Jawad" / "Kevin Presto" on a line of its own: greeting or signature; but not a
                # slip for a place or month the dictionaries know (Febuary, Cincinatti, Britian).
                return not self._misspelt_proper_noun(word)
            if _in_full_name(text, start, start + len(word)):
                return True  # "Dorin Danesan said", "Mr. Carleson", "Laurance S. Rockefeller"
        return False

    def _wrapped(self, text: str, tokens: list[tuple[str, int, int]]) -> Iterator[int]:
        """Starts of the two halves of a word hyphenated at a line break ("declar-" / "ation")."""
        for (word, start, end), (following, next_start, _) in zip(tokens, tokens[1:], strict=False):
            gap = text[end:next_start]
            if (
                gap[:1] == "-"
                and "\n" in gap
                and gap[1:].strip() == ""
                and self.is_known(word.rsplit("-", 1)[-1] + following.split("-", 1)[0])
            ):
                yield start
                yield next_start

    def _misspelt_proper_noun(self, word: str) -> bool:
        """A long capitalised word one typing slip (two in a long one) from a proper noun the
        dictionaries know, written only capitalised: Febuary, Cincinatti, Pennyslvania."""
        if len(word) < _LONG_WORD:
            return False
        lower = word.lower()
        for candidate in self._ranked(word, dictionaries=False)[0]:  # cached; no dictionary search
            key = candidate.lower()
            if " " in key or key[0] != lower[0]:
                continue
            distance = _edit_distance(lower, key)
            if distance > 1 and len(lower) < 9:
                continue
            if distance == 1 and _slip(lower, key) not in _TYPING_SLIPS:
                continue
            title = key.capitalize()
            if not any(d.spell(key) for d in self._dictionaries) and any(
                d.spell(title) for d in self._dictionaries
            ):
                return True
        return False

    def _elided(self, word: str, text: str, end: int) -> bool:
        """A deliberate elision: "rockin'", "good ol' days", and the g of -ing dropped without the
        apostrophe (nothin, stinkin thinkin), which is how informal speech is written, not a slip."""
        if text[end : end + 1] == "'" and (self.is_known(word + "g") or self.is_known(word + "d")):
            return True
        if len(word) < 5 or not word.endswith("in") or not self.is_known(word + "g"):
            return False
        stem = word[:-2]  # the verb, so "imagin" (imagine) and "poisin" (poison) are still typos
        return (
            stem.endswith("th") or self.is_known(stem) or (stem[-1] == stem[-2] and self.is_known(stem[:-1]))
        )

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
        if raw.isalpha():
            yield raw, chunk.start(), chunk.end()  # most chunks: one plain word, prose by every test below
            continue
        left = len(raw) - len(raw.lstrip(_LEADING))
        core = raw[left:].rstrip(_TRAILING)
        if not core or not _prose_chunk(core):
            continue
        base = chunk.start() + left
        for m in _WORD.finditer(core):
            word = m.group(0)
            yield word, base + m.start(), base + m.end()


def _prose_chunk(core: str) -> bool:
    if _SKIP_CHUNK.search(core) or _OPTION.match(core):
        return False  # URLs, addresses, codes (INC-4821, PO#12345, v2.3), numbers, amounts, markup
    if "." in core:
        return False  # domains, file names, abbreviations (acme.com, report.pdf, e.g)
    # paths; "and/or" style pairs are still checked word by word
    return "/" not in core or all(p.isalpha() for p in core.split("/"))


def _in_identifier(lowered: str, word: str) -> bool:
    """Whether `word` also occurs in `lowered` (the text in lower case) inside what is not prose:
    a path, file, package or host name, an address or pasted code (alsa in alsa-driver.spec)."""
    word = word.lower()
    i = lowered.find(word)
    while i >= 0:
        start = max(lowered.rfind(" ", 0, i), lowered.rfind("\n", 0, i), lowered.rfind("\t", 0, i)) + 1
        end = min((j for j in (lowered.find(c, i) for c in " \n\t") if j >= 0), default=len(lowered))
        core = lowered[start:end].strip(_LEADING + _TRAILING)
        line_start = lowered.rfind("\n", 0, i) + 1
        line_end = lowered.find("\n", i)
        line = lowered[line_start : line_end if line_end >= 0 else len(lowered)]
        if core and (not _prose_chunk(core) or _CODE_LINE.search(line)):
            return True
        i = lowered.find(word, i + len(word))
    return False


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
_INITIALS_BEFORE = re.compile(r"(?:^|[\s(])(?:[A-Z]\.){1,3} ?$")
_SPELT_OUT_ADDRESS = re.compile(r" ?(?:at|AT|\[at\]|\(at\)) [\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_SHORT_QUOTE = re.compile(r'(?<!\w)["“]([^\s"“”]+(?: [^\s"“”]+){0,2})["”](?!\w)')
_URL_LINE = re.compile(r"\s*(?:<?(?:https?|ftp)://|www\.)\S+\s*$")
_LINE_END_PUNCTUATION = ".,;:!?"
# Function words of the languages most often met in English mail, that are not English words too.
_FOREIGN_FUNCTION_WORDS = _wordset(
    """le les des du et est une pour pas que qui dans sur avec au aux ce cette sont nous vous il elle
    ils mais ou très aussi sans chez leur el los las del y es por para con una su lo como más pero
    muy das dos em não uma mais foi seu sua il di che è della dei delle nel gli sono
    anche come questo der die das und ist nicht mit den dem ein eine zu auf für sie ich wir auch
    oder sich von bei nach wie noch nur en de la je"""
)
# Its English counterparts, to tell a line in another language from English quoting a phrase.
_ENGLISH_FUNCTION_WORDS = _wordset(
    "the and of to is are was were be been that this with for on at by from it you we they he she not have has"
)


def _in_full_name(text: str, start: int, end: int) -> bool:
    """A capitalised word followed by another name part or an initial, or after a title."""
    if _NEXT_NAME.match(text, end):
        return True
    if _INITIALS_BEFORE.search(text, max(0, start - 12), start):
        return True  # "M. Kopper", "A.K. Dewdney", "Terry W. Colvin"
    previous = _PREVIOUS_WORD.search(text, max(0, start - 6), start)
    return previous is not None and previous.group(1) in _TITLES


def _mentioned(text: str) -> Iterator[int]:
    """Positions inside a short quotation ("aplay", "def reppard"): a word mentioned rather than
    used (a command, a title, a term, a spelling under discussion) is not the writer's slip."""
    for m in _SHORT_QUOTE.finditer(text):
        yield from range(m.start(1), m.end(1))


def _link_titles(text: str, line_starts: list[int]) -> set[int]:
    """Lines that name the link on the line after them ("Open Tactics" / "http://..."): titles in a
    list of links, usually names and headlines rather than the writer's prose."""
    lines = text.split("\n")
    out = set()
    for i, line in enumerate(lines[:-1]):
        if _URL_LINE.match(lines[i + 1]) and line.strip() and line.rstrip()[-1] not in _LINE_END_PUNCTUATION:
            out.add(i + 1)  # numbered as bisect_right(line_starts, start) numbers them
    return out


def _foreign_lines(tokens: list[tuple[str, int, int]], line_starts: list[int]) -> set[int]:
    """Lines with more function words of another language than of English: not English prose."""
    foreign: Counter[int] = Counter()
    english: Counter[int] = Counter()
    for word, start, _ in tokens:
        lower = word.lower()
        line = bisect_right(line_starts, start)
        foreign[line] += lower in _FOREIGN_FUNCTION_WORDS
        english[line] += lower in _ENGLISH_FUNCTION_WORDS
    return {line for line, n in foreign.items() if n >= 2 and n > english[line]}


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
        if lower not in _SHORT_TIME and lower not in _PERIODS:
            continue
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
