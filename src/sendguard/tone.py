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

# "It's not your fault", "none of this is your fault": kindness, not blame.
_NEGATED = r"(?:\bnot|n[’']t|\bno|\bnone|\bnever|\bhardly|\bin\s+no\s+way)\b\W+(?:\w+\W+){0,3}$"
# "Our incompetence", "I feel stupid", "no such thing as a stupid question": aimed at ourselves,
# or denied.
_SELF_OR_NEGATED = (
    r"(?:\bno\s+such\s+thing\s+as\s+an?|\bnot\s+an?|\bnot|n[’']t|\bnever|\bmy|\bour|\bI\s+(?:was|feel|felt|am)|"
    r"\bI[’']m|\bwe\s+(?:were|are|feel|felt)|\bwe[’']re|\b(?:I|we)\s+made\s+an?)\W+(?:\w+\W+){0,1}$"
)
# "If you forgot your password", "in case you missed it": a condition, not an accusation.
_CONDITIONAL = (
    r"\b(?:if|in\s+case|unless|whether|when|perhaps|maybe|might|possible\s+that)\b(?:\W+\w+){0,4}\W*$"
)
# Where the current sentence starts: guards look no further back than this. Line breaks are not
# boundaries, because mail is often hard-wrapped mid-sentence.
_SENTENCE_START = re.compile(r"[.!?;]\s+(?=[^.!?;]*$)")

_YOU = r"you(?:[’']ve|[’']d)?"
_NEG_PAST = (
    r"(?:didn[’']t|did\s+not|don[’']t|do\s+not|haven[’']t|have\s+not|never|can[’']t|cannot|couldn[’']t|"
    r"aren[’']t|are\s+not|weren[’']t|were\s+not)"
)
_CHECKED = (
    r"(?:even\s+)?(?:bother\w*|read|look\w*|check\w*|listen\w*|follow\w*|test\w*|pa(?:y|id)\s+attention|"
    r"understand|understood|care|know|get\s+it|try|tried)\b"
)
_BOUNDARY = r"(?=\s*(?:[.!?,;]|$))"

# --- the phrase table ---------------------------------------------------------------------

_PHRASES: tuple[_Phrase, ...] = (
    # Blame pointed at the reader, or pushed away from us.
    _Phrase(
        "blame",
        r"\byour\s+people\b",
        'Lumping the reader\'s colleagues together as "your people" reads as blame and contempt.',
        unless_before=r"\bthank\w*\s+(?:\w+\s+)?$",
        unless_after=r"\s+(?:were|are|have\s+been|did)\s+(?:\w+\s+)?(?:great|helpful|fantastic|excellent|"
        r"wonderful|amazing|brilliant|a\s+pleasure|kind|quick)",
    ),
    _Phrase(
        "blame",
        r"\b(?:you|your\s+(?:team|staff|side|company|engineers?|developers?|people|guys|folks|department|"
        r"colleagues|it\s+team|(?:sys)?admin(?:istrator)?s?))\s+(?:have\s+|has\s+|had\s+)?"
        r"(?:clearly\s+|obviously\s+|completely\s+|totally\s+|just\s+|again\s+)?"
        r"(?:messed|screwed|fouled|cocked|mucked|botched|bungled|broke|broken|ruined|ignored|misconfigured|"
        r"caused\s+(?:this|the\s+(?:problem|issue|outage|mess)))\b(?:\s+up\b)?",
        "Saying the reader (or their team) broke or ignored something reads as blame; describe what "
        "happened instead.",
        unless_before=_CONDITIONAL,
    ),
    _Phrase(
        "blame",
        r"\b(?:(?:is|was|[’']s|are|were)\s+(?:certainly\s+|definitely\s+|absolutely\s+|simply\s+)?(?:not|never)|"
        r"isn[’']t|wasn[’']t|aren[’']t|weren[’']t)\s+(?:our|my)\s+(?:fault|mistake|doing)\b|"
        r"\b(?:through\s+)?no\s+fault\s+of\s+(?:ours|mine|our\s+own|my\s+own)\b|\b(?:we|I)\s+(?:are|am|were|was)\s+"
        r"not\s+to\s+blame\b",
        'Denying fault ("not our fault") sounds defensive to someone who is already upset.',
    ),
    _Phrase(
        "blame",
        r"\byour\s+(?:own\s+)?fault\b|\b(?:that|this|it)(?:[’']s|\s+is|\s+was)\s+(?:all\s+|entirely\s+|"
        r"completely\s+)?(?:on\s+you\b|your\s+(?:own\s+)?(?:mistake|error|doing)\b)|"
        r"\bthe\s+(?:fault|blame|problem)\s+(?:is|lies)\s+(?:entirely\s+)?(?:with|on)\s+(?:you|your\s+side)\b|"
        r"\byou\s+(?:only\s+)?have\s+(?:only\s+)?yourselves?\s+to\s+blame\b|\buser\s+error\b",
        "Telling the reader it is their fault reads as blame, even when it is true.",
        unless_before=_NEGATED,
    ),
    _Phrase(
        "blame",
        r"\bas\s+(?:I|we)\s+(?:have\s+|had\s+)?(?:already|repeatedly|clearly)\s+(?:told|said|explained|stated|"
        r"pointed\s+out|asked)\b(?:\s+(?:you|before|earlier))?|\bas\s+(?:I|we)\s+(?:have\s+|had\s+)?(?:already\s+)?told\s+you\b|"
        r"\b(?:I|we)(?:[’']ve|\s+have)\s+(?:already\s+)?(?:told|explained\s+(?:this|it|that)\s+to|asked)\s+you\s+"
        r"(?:this\s+|that\s+)?(?:already|before|twice|three\s+times|several\s+times|many\s+times|repeatedly|"
        r"multiple\s+times|again\s+and\s+again|more\s+than\s+once)\b|"
        r"\bhow\s+many\s+(?:more\s+)?times\s+(?:do|must|should|will)\s+(?:I|we)\s+(?:have\s+to\s+|need\s+to\s+)?"
        r"(?:tell|ask|explain|repeat|say|remind|write)\b|\bhow\s+many\s+times\s+have\s+(?:I|we)\s+(?:told|asked|"
        r"explained|said|written)\b|\bfor\s+the\s+(?:second|third|fourth|fifth|tenth|hundredth|umpteenth|nth|"
        r"last)\s+time\s*[,:]|\b(?:I|we)\s+(?:keep|kept)\s+telling\s+you\b|\byou\s+were\s+(?:already\s+)?told\s+"
        r"(?:this\s+|that\s+)?(?:already|before|twice|repeatedly)\b|\bas\s+you\s+were\s+(?:already\s+)?told\b",
        "Pointing out that you already said it makes the reader feel scolded; just say it again, plainly.",
    ),
    _Phrase(
        "blame",
        r"\byou\s+should(?:\s+have|[’']ve)\s+(?:read|checked|known|listened|asked\s+(?:us\s+)?first|followed|tested|"
        r"looked|paid\s+attention|realised|realized|noticed|thought|backed\s+up)\b|"
        rf"\b(?:obviously|evidently)\s+{_YOU}\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_BOUNDARY})|"
        rf"\b{_YOU}\s+(?:obviously|evidently)\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_BOUNDARY})|"
        rf"\b{_YOU}\s+(?:simply\s+|just\s+)?(?:didn[’']t|did\s+not|never)\s+(?:even\s+)?(?:bother(?:ed)?|"
        r"care(?:d)?\s+to)\b|\byou\s+(?:need|have)\s+to\s+learn\s+(?:to|how\s+to)\s+(?:read|listen|use|follow)\b|"
        r"\blearn\s+to\s+read\b|\bRTFM\b",
        "Telling the reader what they should have done reads as blame and condescension.",
        unless_before=_CONDITIONAL,
    ),
    # Name-calling and contempt.
    _Phrase(
        "insult",
        r"\b(?:idiot(?:s|ic)?|moron(?:s|ic)?|imbeciles?|cretins?|nitwits?|dimwits?|halfwits?|numpties|numpty|"
        r"incompetent|incompetence|clueless|brain[- ]?dead|pathetic|amateurish|clowns|stupidity)\b|"
        r"\b(?:stupid|dumb(?:er|est)?)\s+(?:question|idea|mistake|request|thing|move|excuse|answer|comment|"
        r"suggestion|people|person|team|policy|decision)s?\b|\b(?:are|is|that[’']s|so|how|you)\s+(?:so\s+)?"
        r"(?:stupid|dumb)\b|\b(?:what|such)\s+an?\s+(?:joke|farce|disgrace)\b|"
        r"\b(?:is|was|are|this|that[’']s)\s+(?:an?\s+)?(?:absolute|complete|total|utter)\s+(?:joke|farce|"
        r"disgrace|nonsense|garbage|rubbish|trash)\b|"
        r"\byour\s+(?:\w+\s+)?(?:request|question|demand|claim|complaint|suggestion|idea|argument)s?\s+(?:is|are|was|"
        r"were)\s+(?:\w+\s+)?(?:ridiculous|absurd|ludicrous|laughable|nonsense|stupid|dumb|pointless)\b",
        "Calling people or their work names reads as contempt.",
        unless_before=_SELF_OR_NEGATED,
        unless_after=r"\s+of\s+(?:me|us)\b",
    ),
    # Profanity, whole words only ("Scunthorpe", "assessment" and "hello" are safe).
    _Phrase(
        "profanity",
        r"\b(?:(?:mother)?fuck(?:s|ed|er|ers|ing|in|in[’'])?|fck(?:ing)?|fuk(?:ing)?|f[’']n|f[’']ing|effing|"
        r"(?:bull|horse|chicken)?shit(?:s|ty|ter|head|heads|ting|e)?|damn(?:s|ed|it)?|dammit|"
        r"god\s*damn(?:ed|it)?|crap(?:s|py|pier|piest)?|ass(?:es|hole|holes|hat|hats)?|arse(?:hole|holes)?|"
        r"dumbass|jackass|smartass|half[- ]?assed|bitch(?:es|y|ing|ed)?|bastards?|piss(?:ed|es|ing)?|"
        r"cunts?|twats?|wankers?|bollocks|dickheads?|douche(?:bag|bags)?|frigg?in[g’']?|freaking|"
        r"wtf|stfu|gtfo|ffs|omfg|bloody\s+hell|hell\s+no|(?:the|to|like)\s+hell|"
        r"screw\s+(?:you|this|that)|for\s+(?:god|christ|pete|heaven|fuck)[’']?s\s+sake|"
        r"son\s+of\s+a\s+bitch)\b",
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
        r"if\s+you\b|\bif\s+you\s+(?:had|[’']d)\s+(?:actually\s+|even\s+|only\s+)?(?:bothered|cared|taken\s+the\s+"
        r"time|read|looked|listened)\b|\bif\s+you\s+(?:ever\s+)?(?:bothered|cared)\s+to\b|"
        rf"\bclearly\s+{_YOU}\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_BOUNDARY})|"
        rf"\b{_YOU}\s+clearly\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_BOUNDARY})|"
        r"\bcongratulations\s+(?:on|for)\s+(?:\w+\s+){0,2}?(?:breaking|ruining|losing|deleting|crashing|"
        r"screwing|messing|wasting|ignoring)\b|"
        r"\b(?:great|nice|good|brilliant|fantastic|excellent|wonderful|amazing)\s+(?:job|work|going)\s+"
        r"(?:on\s+)?(?:breaking|ruining|losing|deleting|crashing|ignoring|wasting)\b|"
        r"\b(?:thanks?|thank\s+you)\s+(?:so\s+much\s+)?for\s+(?:finally|eventually|at\s+last)\b|"
        r"\bnice\s+of\s+you\s+to\s+(?:finally|eventually|bother)\b|\bmust\s+be\s+nice\b|"
        r"\bwhat\s+part\s+of\s+(?:\S+\s+){1,8}?(?:don[’']t|do\s+not|didn[’']t|did\s+not)\s+you\s+"
        r"(?:understand|get)\b|\bdo(?:es)?\s+(?:you|anyone\s+there|anybody\s+there)\s+even\s+"
        r"(?:read|look|check|listen|understand|know|care|test)\b|\bdid\s+(?:you|anyone\s+there|anybody\s+there)\s+"
        r"even\s+(?:bother|read|look|check|listen|test|try)\b|"
        r"\bis\s+(?:that|this|it)\s+(?:really\s+)?(?:too\s+much\s+to\s+ask|so\s+(?:hard|difficult)\s+to)\b|"
        r"\bis\s+it\s+really\s+that\s+(?:hard|difficult)\s+to\b|"
        r"\blet\s+me\s+(?:say|explain|put|spell)\s+(?:this|it|that)\s+(?:out\s+)?(?:again\s+)?(?:slowly|"
        r"one\s+(?:more|last)\s+time|very\s+simply|in\s+simple\s+terms|for\s+you)\b|"
        r"\bI(?:[’']ll|\s+will)\s+(?:type|speak|say\s+(?:this|it))\s+slowly\b|"
        r"\bthat\s+(?:really\s+)?helped,?\s+didn[’']t\s+it\b|\byeah,?\s+right\s*[.!]",
        "Sarcasm aimed at the reader lands as contempt, and it reads worse in writing than it sounds.",
    ),
    # Dismissing the reader.
    _Phrase(
        "dismissive",
        r"(?:^|(?<=[.!?;:,\n\-—])|(?<=[.!?;:,\n\-—]\s)|(?<=\bor\s)|(?<=\bjust\s))\s*whatever\s*(?=[.!?,]|$)|"
        r"\bwhatever\s+you\s+say\b|\bnot\s+(?:my|our)\s+(?:problem|job|concern|department|headache)\b|"
        r"\b(?:that|this|it)(?:[’']s|\s+is)\s+(?:entirely\s+|totally\s+)?your\s+(?:problem|headache|lookout)\b|"
        r"\byour\s+problem,?\s+not\s+(?:ours|mine)\b|"
        r"(?:^|(?<=[.!?;:,\n\-—])|(?<=[.!?;:,\n\-—]\s)|(?<=\bjust\s))\s*(?:deal|live)\s+with\s+it\s*(?=[.!,;]|$)|"
        r"\byou(?:[’']ll|\s+will)?\s+(?:just\s+)?(?:have|need|got)\s+to\s+(?:deal|live)\s+with\s+it\s*(?=[.!,;]|$)|"
        r"\bget\s+over\s+it\b|\bsuck\s+it\s+up\b|\btough\s+luck\b|\btake\s+it\s+or\s+leave\s+it\b|"
        r"\b(?:I|we)\s+(?:couldn[’']t|could\s+not)\s+care\s+less\b|"
        r"\b(?:I|we)\s+(?:really\s+)?(?:don[’']t|do\s+not)\s+care\s*(?=[.!]|$)|"
        r"\b(?:I|we)\s+(?:don[’']t|do\s+not)\s+have\s+time\s+for\s+(?:this|that|you)\b|"
        r"\b(?:I|we)\s+have\s+better\s+things\s+to\s+do\b|\bstop\s+(?:wasting\s+(?:my|our)\s+time|"
        r"(?:e-?mailing|bothering|pestering|harass\w*|spamming)\s+(?:me|us)|whining|complaining)\b|"
        r"\bwast(?:e|ed|ing)\s+(?:my|our)\s+time\b|\bfigure\s+it\s+out\s+yoursel(?:f|ves)\b|\bgoogle\s+it\b",
        "Brushing the reader off tells them their problem does not matter to you.",
    ),
)

# --- masked profanity ("f***", "sh*t", "a$$hole") ------------------------------------------

_MASKABLE = "fuck fucking fucked fucker shit shitty bullshit damn crap ass asshole bitch bastard piss pissed cunt dick hell"
_MASK_CHARS = "*#@$%!"
# A word with at least one masking symbol inside it; "!" counts only before a letter ("sh!t").
_MASKED_TOKEN = re.compile(
    r"(?<![\w.@/*#$%!])(?=[A-Za-z*#@$%!]*(?:[*#@$%]|![A-Za-z]))[A-Za-z*#@$%][A-Za-z*#@$%!]*(?![\w@/]|\.\w)"
)
_MASKED_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _word in _MASKABLE.split():
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
_COMMON_SHORT_WORDS = """
    a an as at be by do go he i'm if is my no of on so to up we all and any are ask bad big but
    buy did due end few fix for get got had has her him his how its let lot may new not now off
    old one our out own put run say see she the too try two use was way who why yes yet you able
    also back been best both call came can't come does don't done down each else even ever fail
    feel fine from full gave give good have help here into isn't just keep kind knew know last
    less like long look made make many more most much must need next none only over read real
    said same send sent show some soon stop sure take tell than that them then they this told
    true very wait want well went were what when will with won't work your about after again
    aren't being check could didn't doing email every first fixed going great happy issue maybe
    might never other right still their there these thing think those three times today twice
    until wasn't where which while whole would wrong you're you've
"""
_COMMON_SHORT = frozenset(_COMMON_SHORT_WORDS.split())

# Long all-caps words that are acronyms, product names or labels rather than shouting.
_CAPS_ALLOW_WORDS = """
    action agenda asap attention caiso caution changelog confidential confidentiality correction
    disclaimer dockerfile draft ercot external faq final fixme fw fwd fyi important internal
    license makefile minutes nasdaq notice nymex privileged proprietary re readme regarding
    reminder request required response subject summary todo update updated urgent warning
"""
_CAPS_ALLOW = frozenset(_CAPS_ALLOW_WORDS.split())

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
