"""Hostile-tone detection: phrases that make a reply read as angry, blaming or contemptuous.

Precision matters more than recall here: a warning that fires on a calm apology teaches people
to ignore it. So the engine looks for *how* something is said to the reader (blame pointed at
them, sarcasm, profanity, shouting), never for topic words such as "angry", "frustration" or
"sorry", which a good apology uses freely. Every pattern is a phrase or a word shape with
explicit guards for the usual innocent readings ("our fault", "not your fault", "if you forgot",
acronyms and ticket codes in capitals).

Pure Python; all regular expressions are compiled once, when the module is imported (or when a
`ToneDetector` with extra phrases is built).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("blame", "insult", "profanity", "shouting", "exclamation", "sarcasm", "dismissive", "phrase")


@dataclass(frozen=True)
class ToneHit:
    """One hostile span of `text[start:end]`."""

    start: int
    end: int
    kind: str  # one of KINDS
    evidence: str  # the text of the span, as written
    explanation: str  # why this reads as hostile, for the author


@dataclass(frozen=True)
class _Phrase:
    kind: str
    pattern: str
    explanation: str
    # Skip the match when this matches the end of the sentence text just before it (a negation,
    # a condition, a self-reference) or the start of the text just after it.
    unless_before: str | None = None
    unless_after: str | None = None


# --- guards -------------------------------------------------------------------------------

# "It's not your fault", "hardly your fault", "never your mistake": kindness, not blame.
_NEGATED = r"(?:\bnot|n[’']t|\bno|\bnever|\bhardly|\bin no way)\W+(?:\w+\W+){0,2}$"
# "If you forgot your password", "in case you missed it": a condition, not an accusation.
_CONDITIONAL = r"\b(?:if|in case|unless|whether|when|perhaps|maybe|might|possible that)\b(?:\W+\w+){0,4}\W*$"
# A sentence boundary: guards look no further back than this.
_SENTENCE_START = re.compile(r"[.!?;:\n]\s*(?=[^.!?;:\n]*$)")

_YOU = r"you(?:[’']ve|[’']d)?"
_NEG = r"(?:didn[’']t|did\s+not|don[’']t|do\s+not|haven[’']t|have\s+not|never|can[’']t|cannot|can\s+not|couldn[’']t|won[’']t|aren[’']t|are\s+not|weren[’']t)"
_READ = r"(?:read|look(?:ed)?|check(?:ed)?|listen(?:ed)?|follow(?:ed)?|test(?:ed)?|bother(?:ed)?|pa(?:y|id)\s+attention|understand|understood)"

# --- the phrase table ---------------------------------------------------------------------

_PHRASES: tuple[_Phrase, ...] = (
    # Blame pointed at the reader, or pushed away from us.
    _Phrase(
        "blame",
        r"\byour\s+(?:people|guys|lot)\b",
        'Lumping the reader\'s colleagues together as "your people" reads as blame and contempt.',
    ),
    _Phrase(
        "blame",
        r"\b(?:you|your\s+(?:team|staff|side|company|engineers?|developers?|admins?|people|guys|folks|"
        r"department|colleagues|it\s+team|(?:sys)?admin(?:istrator)?s?))\s+(?:have\s+|has\s+|had\s+)?"
        r"(?:clearly\s+|obviously\s+|completely\s+|totally\s+|just\s+|again\s+)?"
        r"(?:messed|screwed|fouled|cocked|mucked|botched|bungled|broke|broken|ruined|ignored|"
        r"caused\s+(?:this|the\s+(?:problem|issue|outage|mess))|misconfigured|screw(?:ed)?\s+up|mess(?:ed)?\s+up)\b",
        "Saying the reader (or their team) broke or ignored something reads as blame; describe what "
        "happened instead.",
        unless_before=_CONDITIONAL,
    ),
    _Phrase(
        "blame",
        r"\b(?:is|was|'s|’s|are|were|isn[’']t|wasn[’']t|aren[’']t|weren[’']t)\s+(?:(?:not|n[’']t|never|"
        r"certainly\s+not|definitely\s+not|absolutely\s+not|simply\s+not)\s+)?(?:on\s+)?(?:our|my)\s+(?:fault|"
        r"mistake|doing|end|side)\b",
        'Denying fault ("not our fault") sounds defensive to someone who is already upset.',
        # only the negated form: "it was our fault" is an apology
    ),
    _Phrase(
        "blame",
        r"\b(?:(?:it|this|that)\s*(?:'s|’s|\s+is|\s+was)\s+(?:all\s+|entirely\s+|completely\s+)?|the\s+fault\s+"
        r"(?:is|lies)\s+(?:entirely\s+)?(?:with|on)\s+)your(?:s|\s+(?:own\s+)?(?:fault|mistake|error|problem|doing))?\b"
        r"(?=\W|$)|\byour\s+(?:own\s+)?fault\b|\b(?:that|this|it)(?:'s|’s|\s+is)\s+on\s+you\b|"
        r"\byou\s+(?:only\s+)?have\s+(?:only\s+)?yourselves?\s+to\s+blame\b|\buser\s+error\b",
        "Telling the reader it is their fault reads as blame, even when it is true.",
        unless_before=_NEGATED,
    ),
    _Phrase(
        "blame",
        r"\bas\s+(?:I|we)\s+(?:have\s+|had\s+)?(?:already|previously|repeatedly|clearly)\s+(?:told|said|explained|"
        r"stated|mentioned|pointed\s+out|asked)|\bas\s+(?:I|we)\s+(?:have\s+|had\s+)?told\s+you\b|"
        r"\b(?:I|we)(?:[’']ve|\s+have)\s+(?:already\s+)?(?:told|explained\s+(?:this|it|that)\s+to|asked)\s+you\s+"
        r"(?:this\s+|that\s+)?(?:already|before|twice|three\s+times|several\s+times|many\s+times|repeatedly|"
        r"multiple\s+times|again\s+and\s+again|more\s+than\s+once)\b|\bhow\s+many\s+(?:more\s+)?times\s+(?:do|must|"
        r"should|have|will)\s+(?:I|we)\b|\bfor\s+the\s+(?:second|third|fourth|fifth|hundredth|umpteenth|nth|last)\s+"
        r"time\b|\bI\s+(?:keep|kept)\s+telling\s+you\b",
        "Pointing out that you already said it makes the reader feel scolded; just say it again, plainly.",
    ),
    _Phrase(
        "blame",
        rf"\b{_YOU}\s+should\s+(?:have|'ve|’ve)\s+(?:read|checked|known|listened|asked|followed|tested|looked|"
        r"paid\s+attention|realised|realized|noticed|thought|told\s+us|backed\s+up)\b|"
        rf"\b(?:obviously|evidently)\s+{_YOU}\s+{_NEG}\b|\b{_YOU}\s+(?:obviously|evidently)\s+{_NEG}\b|"
        rf"\b{_YOU}\s+(?:simply\s+|just\s+)?(?:didn[’']t|did\s+not|never)\s+(?:even\s+)?(?:bother(?:ed)?|care(?:d)?\s+to)\b|"
        rf"\b{_YOU}\s+(?:need|have)\s+to\s+learn\s+(?:to|how\s+to)\b|\blearn\s+to\s+read\b|\bRTFM\b",
        "Telling the reader what they should have done reads as blame and condescension.",
        unless_before=_CONDITIONAL,
    ),
    # Name-calling and contempt.
    _Phrase(
        "insult",
        r"\b(?:idiot(?:s|ic)?|moron(?:s|ic)?|imbeciles?|cretins?|nitwits?|dimwits?|halfwits?|numpties|numpty|"
        r"incompetent|incompetence|clueless|brain[- ]?dead|pathetic|amateurs|amateurish|clowns)\b",
        "Calling people or their work names reads as contempt.",
        unless_before=_NEGATED,
    ),
    _Phrase(
        "insult",
        r"\b(?:stupid|dumb(?:er|est)?)\s+(?:question|idea|mistake|request|thing|move|excuse|answer|comment|"
        r"suggestion|people|person|team|policy|decision)s?\b|\b(?:are|is|that(?:'s|’s)|so|how)\s+(?:so\s+)?"
        r"(?:stupid|dumb)\b|\bstupidity\b|\b(?:what|such)\s+an?\s+(?:joke|farce|disgrace)\b|"
        r"\b(?:is|was|are|this|that(?:'s|’s)?)\s+(?:an?\s+)?(?:absolute|complete|total|utter)\s+(?:joke|farce|"
        r"disgrace|nonsense|garbage|rubbish|trash|mess)\b|\b(?:ridiculous|ludicrous|laughable|absurd)\b",
        "Belittling the reader's question or work reads as contempt.",
        unless_before=r"(?:\bno\s+such\s+thing\s+as\s+an?|\bnot\s+an?|\bnot|n[’']t|\bmy|\bour|\bI\s+(?:was|feel|felt|"
        r"am)|\bI[’']m|\bwe\s+(?:were|are|feel|felt)|\bwe[’']re)\W+(?:\w+\W+){0,1}$",
        unless_after=r"\s+of\s+(?:me|us)\b",
    ),
    # Profanity, whole words only ("Scunthorpe", "assessment" and "hello" are safe).
    _Phrase(
        "profanity",
        r"\b(?:(?:mother)?fuck(?:s|ed|er|ers|ing|in|in[’'])?|fck(?:ing)?|fuk(?:ing)?|f[’']n|f[’']ing|effing|"
        r"(?:bull|horse|chicken)?shit(?:s|ty|ter|head|heads|ting|e)?|bs\s+excuse|damn(?:s|ed|it)?|dammit|"
        r"god\s*damn(?:ed|it)?|crap(?:s|py|pier|piest)?|ass(?:es|hole|holes|hat|hats)?|arse(?:hole|holes)?|"
        r"dumbass|jackass|smartass|half[- ]?assed|bitch(?:es|y|ing|ed)?|bastards?|piss(?:ed|es|ing)?|"
        r"cunts?|twats?|wankers?|bollocks|dickheads?|douche(?:bag|bags)?|frigg?in[g’']?|freaking|"
        r"wtf|stfu|gtfo|ffs|omfg|bloody\s+hell|hell\s+no|(?:the|to|like)\s+hell|"
        r"screw\s+(?:you|this|that|it)|for\s+(?:god|christ|pete|heaven|f\w*)[’']?s\s+sake|"
        r"son\s+of\s+a\s+\w+)\b",
        "Swearing, even mild, reads as anger in a message to a customer.",
    ),
    # Sarcasm aimed at the reader.
    _Phrase(
        "sarcasm",
        r"\bthanks?\s+(?:you\s+)?(?:a\s+lot\s+)?for\s+nothing\b|\bgood\s+luck\s+with\s+that\b|"
        r"\bwith\s+(?:all\s+)?(?:due|the\s+greatest)\s+respect\b|"
        r"\b(?:as\s+)?per\s+my\s+(?:last|previous|earlier|prior|below|original)\s+(?:e-?mail|mail|message|note|reply)\b|"
        r"\b(?:as\s+)?(?:stated|mentioned|explained|said)\s+in\s+my\s+(?:last|previous|earlier|prior)\s+"
        r"(?:e-?mail|mail|message|note|reply)s?\b|"
        r"\bas\s+you\s+(?:would|should|might|could)\s+(?:already\s+)?(?:know|have\s+(?:seen|noticed|read|known))\s+"
        r"if\s+you\b|\bif\s+you\s+(?:had|'d|’d)\s+(?:actually\s+|even\s+|only\s+)?(?:bothered|cared|taken\s+the\s+"
        r"time|read|looked|listened)\b|\bif\s+you\s+(?:ever\s+)?(?:bothered|cared)\s+to\b|"
        rf"\bclearly\s+{_YOU}\s+(?:{_NEG}|misunderstood|missed|failed)\b|\b{_YOU}\s+clearly\s+{_NEG}\b|"
        r"\bcongratulations\s+(?:on|for)\s+(?:\w+\s+){0,2}?(?:breaking|ruining|losing|deleting|crashing|"
        r"missing|failing|screwing|messing|managing\s+to|finally|wasting|ignoring)\b|"
        r"\b(?:great|nice|good|brilliant|fantastic|excellent|wonderful|amazing)\s+(?:job|work|going)\s+"
        r"(?:on\s+)?(?:breaking|ruining|losing|deleting|crashing|missing|ignoring|wasting)\b|"
        r"\b(?:thanks?|thank\s+you)\s+(?:so\s+much\s+)?for\s+(?:finally|eventually|at\s+last)\b|"
        r"\bnice\s+of\s+you\s+to\s+(?:finally|eventually|show|join|bother)\b|\bmust\s+be\s+nice\b|"
        rf"\bwhat\s+part\s+of\s+(?:[\w\"'“”‘’-]+\s+){{1,8}}?(?:don[’']t|do\s+not|didn[’']t|did\s+not)\s+{_YOU}\s+"
        r"(?:understand|get)\b|\bdo(?:es)?\s+(?:you|anyone\s+there|anybody\s+there)\s+even\s+"
        rf"{_READ}\b|\bdid\s+(?:you|anyone\s+there|anybody\s+there)\s+even\s+(?:bother|{_READ})\b|"
        r"\bis\s+(?:that|this|it)\s+(?:really\s+)?(?:too\s+much\s+to\s+ask|so\s+(?:hard|difficult))\b|"
        r"\bhow\s+(?:hard|difficult)\s+(?:is\s+it|can\s+it\s+(?:possibly\s+)?be)\b|"
        r"\blet\s+me\s+(?:say|explain|put|spell)\s+(?:this|it|that)\s+(?:out\s+)?(?:again\s+)?(?:slowly|"
        r"one\s+(?:more|last)\s+time|very\s+simply|in\s+simple\s+terms|for\s+you)\b|"
        r"\b(?:I(?:[’']ll|\s+will)\s+(?:type|speak|say\s+(?:this|it))\s+slowly)\b|"
        r"\bthat\s+(?:really\s+)?helped,?\s+didn[’']t\s+it\b|\b(?:yeah|oh)\s*,?\s+(?:right|sure|great|wonderful|"
        r"brilliant|perfect)\s*[.!]|\bwho\s+knew\s*\?",
        "Sarcasm aimed at the reader lands as contempt, and it reads worse in writing than it sounds.",
    ),
    # Dismissing the reader.
    _Phrase(
        "dismissive",
        r"(?:^|(?<=[.!?;:,\n\-—])|(?<=[.!?;:,\n\-—]\s)|(?<=\bor\s)|(?<=\bjust\s))\s*whatever\s*(?=[.!?,]|$|\n)|"
        r"\bwhatever\s+you\s+say\b|\bnot\s+(?:my|our)\s+(?:problem|job|concern|department|headache|"
        r"issue\s+any\s*more)\b|\b(?:that|this|it)(?:'s|’s|\s+is)\s+(?:entirely\s+|totally\s+)?your\s+"
        r"(?:problem|issue|headache|concern|lookout)\b|\byour\s+problem,?\s+not\s+(?:ours|mine)\b|"
        r"(?:^|(?<=[.!?;:,\n\-—])|(?<=[.!?;:,\n\-—]\s)|(?<=\bjust\s)|(?<=\bso\s)|(?<=\bto\s))\s*"
        r"(?:deal|live)\s+with\s+it\s*(?=[.!,;]|$|\n)|\bget\s+over\s+it\b|\bsuck\s+it\s+up\b|\btough\s+luck\b|"
        r"\btake\s+it\s+or\s+leave\s+it\b|\b(?:I|we)\s+(?:couldn[’']t|could\s+not)\s+care\s+less\b|"
        r"\b(?:I|we)\s+(?:really\s+)?(?:don[’']t|do\s+not)\s+care\s*(?=[.!,;]|$|\n)|"
        r"\b(?:I|we)\s+(?:don[’']t|do\s+not)\s+have\s+time\s+for\s+(?:this|that|you)\b|"
        r"\b(?:I|we)\s+have\s+better\s+things\s+to\s+do\b|\bstop\s+(?:wasting\s+(?:my|our)\s+time|"
        r"(?:e-?mailing|bothering|pestering|harass\w*|spamming)\s+(?:me|us)|whining|complaining)\b|"
        r"\bwast(?:e|ed|ing)\s+(?:my|our)\s+time\b|\bfigure\s+it\s+out\s+yoursel(?:f|ves)\b|"
        r"\b(?:just\s+)?google\s+it\b|\bnot\s+(?:my|our)\s+(?:fault|responsibility),?\s+(?:sorry|period)\b",
        "Brushing the reader off tells them their problem does not matter to you.",
    ),
)

# --- masked profanity ("f***", "sh*t", "a$$hole") ------------------------------------------

_MASKABLE = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "shit",
    "shitty",
    "bullshit",
    "damn",
    "crap",
    "ass",
    "asshole",
    "bitch",
    "bastard",
    "piss",
    "pissed",
    "cunt",
    "dick",
    "hell",
)
_MASK_CHARS = "*#@$%!"
_MASKED_TOKEN = re.compile(r"(?<![\w.@/*#$%!])[A-Za-z*#@$%][A-Za-z*#@$%!]*[A-Za-z*#@$%](?![\w@/]|\.\w)")
_MASKED_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _word in _MASKABLE:
    _MASKED_BY_LENGTH[len(_word)] = (*_MASKED_BY_LENGTH.get(len(_word), ()), _word)


def _unmask(token: str) -> str | None:
    """The profane word a masked token stands for ("f***ing" -> "fucking"), or None."""
    lower = token.lower()
    masked = sum(c in _MASK_CHARS for c in lower)
    letters = len(lower) - masked
    # At least one mask character and one real letter; "****" alone is a separator.
    if masked == 0 or letters == 0:
        return None
    for word in _MASKED_BY_LENGTH.get(len(lower), ()):
        if all(c == w or c in _MASK_CHARS for c, w in zip(lower, word, strict=True)):
            return word
    return None


# A run of mixed symbols standing in for a swear word ("#$%&!"), as in comics.
_GRAWLIX = re.compile(r"(?<![\w#$%&*@!])[#$%&*@!]{4,}(?![\w#$%&*@!])")

# --- punctuation --------------------------------------------------------------------------

# "!!!", "?!?!", "??!": stacked marks read as raised voice. "!!" alone is common enthusiasm.
_EXCLAIM = re.compile(r"!{3,}|(?=[!?]{3,})(?:[!?]*\?![!?]*|[!?]*!\?[!?]*)|(?<=\w)\?{3,}")
# Stacked exclamation marks in a thank-you or a congratulation are warmth, not heat.
_WARM = re.compile(
    r"\b(?:thanks?|thank\s+you|congrat\w*|welcome|great|awesome|excellent|amazing|wonderful|fantastic|"
    r"brilliant|happy|glad|love|excited|yay|hooray|woo+|cheers|well\s+done|good\s+news|birthday|"
    r"holidays?|christmas|new\s+year|best\s+wishes)\b",
    re.IGNORECASE,
)

# --- shouting -----------------------------------------------------------------------------

# An all-caps token of 2+ letters standing alone: not part of a code ("INC-4821", "ERR_TIMEOUT",
# "HTTP/2", "file.PDF", "PDFs") or an address.
_CAPS_TOKEN = re.compile(r"(?<![\w\-./@#$'’])[A-Z]{2,}(?:['’][A-Z]{1,2})?(?![\w\-/@#$]|\.\w)")

# Short words that are ordinary English, so an all-caps one is emphasis rather than an acronym.
# Left out on purpose: words that are also common abbreviations (IT, US, AM, PM, OK, ID, OR, IN,
# ME, HI, CAN, NET, SEC, MAX, ...), which read as codes in business mail.
_COMMON_SHORT = frozenset(
    [
        "a",
        "an",
        "as",
        "at",
        "be",
        "by",
        "do",
        "go",
        "he",
        "if",
        "is",
        "my",
        "no",
        "of",
        "on",
        "so",
        "to",
        "up",
        "we",
        "all",
        "and",
        "any",
        "are",
        "ask",
        "bad",
        "big",
        "but",
        "buy",
        "did",
        "don't",
        "due",
        "end",
        "few",
        "fix",
        "for",
        "get",
        "got",
        "had",
        "has",
        "her",
        "him",
        "his",
        "how",
        "i'm",
        "its",
        "let",
        "lot",
        "may",
        "new",
        "not",
        "now",
        "off",
        "old",
        "one",
        "our",
        "out",
        "own",
        "put",
        "run",
        "say",
        "see",
        "she",
        "the",
        "too",
        "try",
        "two",
        "use",
        "was",
        "way",
        "who",
        "why",
        "yes",
        "yet",
        "you",
        "able",
        "also",
        "back",
        "been",
        "best",
        "both",
        "call",
        "came",
        "come",
        "does",
        "done",
        "down",
        "each",
        "else",
        "even",
        "ever",
        "fail",
        "feel",
        "fine",
        "from",
        "full",
        "gave",
        "give",
        "good",
        "have",
        "help",
        "here",
        "into",
        "just",
        "keep",
        "kind",
        "knew",
        "know",
        "last",
        "less",
        "like",
        "long",
        "look",
        "made",
        "make",
        "many",
        "more",
        "most",
        "much",
        "must",
        "need",
        "never",
        "next",
        "none",
        "only",
        "over",
        "read",
        "real",
        "said",
        "same",
        "send",
        "sent",
        "should",
        "show",
        "some",
        "soon",
        "stop",
        "sure",
        "take",
        "tell",
        "than",
        "that",
        "them",
        "then",
        "they",
        "this",
        "told",
        "true",
        "very",
        "want",
        "well",
        "went",
        "were",
        "what",
        "when",
        "will",
        "with",
        "work",
        "your",
        "you're",
        "you've",
        "won't",
        "isn't",
        "can't",
        "didn't",
        "doesn't",
        "aren't",
        "wasn't",
        "about",
        "after",
        "again",
        "being",
        "check",
        "could",
        "doing",
        "email",
        "every",
        "first",
        "fixed",
        "going",
        "going",
        "great",
        "happy",
        "issue",
        "maybe",
        "might",
        "never",
        "other",
        "please",
        "right",
        "still",
        "their",
        "there",
        "these",
        "thing",
        "think",
        "those",
        "three",
        "times",
        "today",
        "twice",
        "until",
        "wait",
        "where",
        "which",
        "while",
        "whole",
        "would",
        "wrong",
    ]
)

# Long all-caps words that are acronyms, product names or labels rather than shouting.
_CAPS_ALLOW = frozenset(
    [
        "asap",
        "fyi",
        "faq",
        "nasdaq",
        "nymex",
        "ercot",
        "caiso",
        "readme",
        "changelog",
        "license",
        "makefile",
        "dockerfile",
        "todo",
        "fixme",
        "important",
        "urgent",
        "reminder",
        "attention",
        "confidential",
        "confidentiality",
        "notice",
        "warning",
        "caution",
        "update",
        "updated",
        "correction",
        "draft",
        "final",
        "action",
        "required",
        "request",
        "response",
        "agenda",
        "minutes",
        "summary",
        "proprietary",
        "privileged",
        "disclaimer",
        "subject",
        "regarding",
        "re",
        "fw",
        "fwd",
        "internal",
        "external",
    ]
)

# Legal boilerplate is often in capitals ("THIS MESSAGE IS CONFIDENTIAL..."): not aimed at anyone.
_BOILERPLATE = re.compile(
    r"\b(?:CONFIDENTIAL\w*|PRIVILEGED|INTENDED\s+RECIPIENT|DISCLAIMER|WARRANT\w*|LIABILITY|"
    r"UNSUBSCRIBE|ALL\s+RIGHTS\s+RESERVED|TERMS\s+AND\s+CONDITIONS|PROHIBITED)\b"
)
# An all-caps line this short is a heading or a label ("NEXT STEPS", "ACME CORP, HOUSTON TX")...
_HEADING_MAX_WORDS = 6
# ... unless it is addressed to someone or asks something.
_HEADING_ADDRESSED = re.compile(r"\b(?:YOU|YOUR|YOU'RE|NOT|NEVER|STOP|DON'T|WHY|NO)\b|[!?]\s*$")

# A single shouted word this long ("UNACCEPTABLE", "IMMEDIATELY") is shouting on its own.
_LONG_SHOUT = 7
_SENTENCE_BREAK = re.compile(r"[.!?;:]\s|\n")


def _is_shouted(token: str) -> bool:
    word = token.lower().replace("’", "'")
    if word in _CAPS_ALLOW:
        return False
    if len(word.replace("'", "")) <= 5:
        return word in _COMMON_SHORT
    # Long tokens without a vowel are codes ("HTTPS", "SFTP", "XYZZY").
    return any(v in word for v in "aeiouy")


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def _is_heading(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    if not letters or any(c.islower() for c in letters):
        return False
    if len(line.split()) > _HEADING_MAX_WORDS:
        return False
    return not _HEADING_ADDRESSED.search(line)


def _shouting(text: str) -> list[ToneHit]:
    hits: list[ToneHit] = []
    cluster: list[re.Match[str]] = []

    def flush() -> None:
        if not cluster:
            return
        first, last = cluster[0], cluster[-1]
        long_word = len(cluster) == 1 and len(first.group()) >= _LONG_SHOUT
        if len(cluster) >= 2 or long_word:
            start, end = first.start(), last.end()
            hits.append(
                ToneHit(
                    start,
                    end,
                    "shouting",
                    text[start:end],
                    "Words in capitals read as shouting.",
                )
            )
        cluster.clear()

    checked_lines: dict[int, bool] = {}
    for m in _CAPS_TOKEN.finditer(text):
        if not _is_shouted(m.group()):
            continue
        line_start, line_end = _line_bounds(text, m.start())
        if line_start not in checked_lines:
            line = text[line_start:line_end]
            checked_lines[line_start] = _is_heading(line) or bool(_BOILERPLATE.search(line))
        if checked_lines[line_start]:
            continue
        # A new sentence (or line) starts a new cluster: two emphasised words in different
        # sentences are emphasis, not a raised voice.
        if cluster and _SENTENCE_BREAK.search(text, cluster[-1].end(), m.start()):
            flush()
        cluster.append(m)
    flush()
    return hits


# --- the detector -------------------------------------------------------------------------


def _phrase_regex(phrase: str) -> str:
    """An org phrase as a pattern: case-insensitive, whole words, any run of whitespace between."""
    words = [re.escape(w) for w in phrase.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


class ToneDetector:
    """Finds hostile phrasing in text. Build once (it compiles its patterns), then call `detect()`."""

    def __init__(self, extra_phrases: Iterable[str] = ()) -> None:
        phrases = list(_PHRASES)
        for extra in extra_phrases:
            if extra.strip():
                phrases.append(
                    _Phrase(
                        "phrase",
                        _phrase_regex(extra),
                        "This phrase is on your organisation's list of phrases to avoid with customers.",
                    )
                )
        self._phrases = phrases
        # One alternation scanned once per text; the group name says which phrase matched.
        self._combined = re.compile(
            "|".join(f"(?P<p{i}>{p.pattern})" for i, p in enumerate(phrases)),
            re.IGNORECASE,
        )
        self._before = [
            re.compile(p.unless_before, re.IGNORECASE) if p.unless_before else None for p in phrases
        ]
        self._after = [re.compile(p.unless_after, re.IGNORECASE) if p.unless_after else None for p in phrases]

    def _guarded(self, text: str, index: int, start: int, end: int) -> bool:
        before = self._before[index]
        if before is not None:
            window = text[max(0, start - 60) : start]
            boundary = _SENTENCE_START.search(window)
            if boundary:
                window = window[boundary.end() :]
            if before.search(window):
                return True
        after = self._after[index]
        return after is not None and after.match(text, end) is not None

    def detect(self, text: str) -> list[ToneHit]:
        """All hostile spans in `text` (a line or a whole message), in order of position."""
        hits: list[ToneHit] = []
        pos = 0
        while True:
            m = self._combined.search(text, pos)
            if m is None:
                break
            index = int(m.lastgroup[1:])  # type: ignore[index]
            # Some alternatives start with optional whitespace; report the words only.
            start = m.start() + (len(m.group()) - len(m.group().lstrip()))
            if self._guarded(text, index, start, m.end()):
                pos = m.start() + 1  # a guarded match must not hide an overlapping one
                continue
            phrase = self._phrases[index]
            hits.append(ToneHit(start, m.end(), phrase.kind, text[start : m.end()], phrase.explanation))
            pos = max(m.end(), m.start() + 1)

        for m in _MASKED_TOKEN.finditer(text):
            token = m.group().rstrip("!")
            if _unmask(token):
                end = m.start() + len(token)
                hits.append(
                    ToneHit(
                        m.start(), end, "profanity", token, "A masked swear word still reads as swearing."
                    )
                )
        for m in _GRAWLIX.finditer(text):
            if len(set(m.group())) >= 3:
                hits.append(
                    ToneHit(m.start(), m.end(), "profanity", m.group(), "Symbols standing in for swearing.")
                )

        for m in _EXCLAIM.finditer(text):
            sentence_start = max(text.rfind(".", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
            if "?" not in m.group() and _WARM.search(text, sentence_start, m.start()):
                continue
            hits.append(
                ToneHit(
                    m.start(),
                    m.end(),
                    "exclamation",
                    m.group(),
                    "Stacked exclamation or question marks read as a raised voice.",
                )
            )

        hits.extend(_shouting(text))
        hits.sort(key=lambda h: (h.start, h.end))
        return _drop_nested(hits)


def _drop_nested(hits: list[ToneHit]) -> list[ToneHit]:
    """Keep one hit per span: a hit inside an earlier one adds nothing for the reader."""
    kept: list[ToneHit] = []
    for hit in hits:
        if kept and hit.start >= kept[-1].start and hit.end <= kept[-1].end and hit.kind == kept[-1].kind:
            continue
        kept.append(hit)
    return kept


_DEFAULT = ToneDetector()


def detect_hostility(text: str) -> list[ToneHit]:
    """Hostile spans in `text` with the built-in patterns (see `ToneDetector` for org phrases)."""
    return _DEFAULT.detect(text)
