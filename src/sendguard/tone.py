"""Hostile-tone detection: phrasing that makes a message read as angry, blaming or contemptuous.

Precision matters more than recall: a warning that fires on a calm apology teaches people to
ignore it. So the engine looks at *how* something is said to the reader (blame pointed at them,
sarcasm, name-calling, swearing, shouting), never at topic words such as "angry", "frustration"
or "sorry", which a good apology uses freely. Each pattern is a phrase or a word shape with
explicit guards for the usual innocent readings ("our fault", "not your fault", "if you forgot",
acronyms and ticket codes in capitals).

Pure Python and fast (a few hundredths of a millisecond for a typical email): every regular
expression is compiled once; each phrase lists anchor words and is only looked for near one of
them (most text contains none); and each alternative is compiled on its own, starting with a
literal, so the regex engine can skip straight to candidate positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("blame", "insult", "profanity", "shouting", "exclamation", "sarcasm", "dismissive", "phrase")


@dataclass(frozen=True)
class ToneHit:
    """One hostile span, `text[start:end]`."""

    start: int
    end: int
    kind: str  # one of KINDS
    evidence: str  # the span as written
    explanation: str  # why it reads as hostile, for the author


@dataclass(frozen=True)
class _Phrase:
    kind: str
    anchors: str  # space-separated lower-case words; the pattern can only match if one occurs
    pattern: str  # matched case-insensitively
    explanation: str
    # Skip the match when this matches the end of the sentence before it (a negation, a
    # condition, a self-reference), or the text right after it.
    unless_before: str | None = None
    unless_after: str | None = None


# --- guards -------------------------------------------------------------------------------

# "It's not your fault", "none of this is your fault": kindness, not blame.
_NEGATED = r"(?:\bnot|n[’']t|\bno|\bnone|\bnever|\bhardly|\bin\s+no\s+way)\b\W+(?:\w+\W+){0,3}\Z"
# "Our incompetence", "I feel stupid", "no such thing as a stupid question": aimed at ourselves,
# or denied.
_SELF_OR_NEGATED = (
    r"(?:\bno\s+such\s+thing\s+as\s+an?|\bnot\s+an?|\bnot|n[’']t|\bnever|\bmy|\bour|\bI\s+(?:was|feel|felt|am)|"
    r"\bI[’']m|\bwe\s+(?:were|are|feel|felt)|\bwe[’']re|\b(?:I|we)\s+made\s+an?)\W+(?:\w+\W+){0,1}\Z"
)
# "If you forgot your password", "in case you missed it": a condition, not an accusation.
_CONDITIONAL = (
    r"\b(?:if|in\s+case|unless|whether|when|perhaps|maybe|might|possible\s+that)\b(?:\W+\w+){0,4}\W*\Z"
)
# "Thank your people": praise.
_THANKING = r"\bthank\w*\s+(?:\w+\s+)?\Z"
# Where the current sentence starts: guards look no further back than this. Line breaks are not
# boundaries, because mail is often hard-wrapped mid-sentence.
_SENTENCE_START = re.compile(r"[.!?;]\s+(?=[^.!?;]*$)")
_GUARD_WINDOW = 60

# Building blocks.
_YOU = r"you(?:[’']ve|[’']d)?"
_NEG_PAST = (
    r"(?:didn[’']t|did\s+not|don[’']t|do\s+not|haven[’']t|have\s+not|never|can[’']t|cannot|couldn[’']t|"
    r"aren[’']t|are\s+not|weren[’']t|were\s+not)"
)
_CHECKED = (
    r"(?:even\s+)?(?:bother\w*|read|look\w*|check\w*|listen\w*|follow\w*|test\w*|pa(?:y|id)\s+attention|"
    r"understand|understood|care|know|get\s+it|try|tried)\b"
)
_CLAUSE_END = r"(?=\s*(?:[.!?,;]|$))"
# For phrases that are hostile only as a sentence of their own ("Whatever.", "Got it?"): a word
# earlier in the same sentence and line means the phrase is part of something longer.
_MID_SENTENCE = r"\w[^\n]*\Z"

_EXPLAIN = {
    "your people": 'Talking about "your people" lumps the reader\'s colleagues together; it reads as blame '
    "and contempt.",
    "acted": "Saying the reader (or their team) broke or ignored something reads as blame.",
    "deny": 'Denying fault ("not our fault") sounds defensive to someone who is already upset.',
    "their fault": "Telling the reader it is their fault reads as blame, even when it is true.",
    "repeat": "Pointing out that you already said it makes the reader feel scolded; say it again, plainly.",
    "should": "Telling the reader what they should have done reads as blame and condescension.",
    "patience": "Telling the reader you are losing patience puts the blame on them.",
    "insult": "Calling people or their work names reads as contempt.",
    "profanity": "Swearing, even mild, reads as anger in a message to a customer.",
    "sarcasm": "Sarcasm aimed at the reader lands as contempt, and it reads worse in writing than it sounds.",
    "rhetorical": "Rhetorical questions and talking down to the reader read as contempt.",
    "dismissive": "Brushing the reader off tells them their problem does not matter to you.",
}

# --- the phrase table ---------------------------------------------------------------------

_PHRASES: tuple[_Phrase, ...] = (
    # Blame pointed at the reader, or pushed away from us.
    _Phrase(
        "blame",
        "people",
        r"\byou(?:r)?\s+people\b",
        _EXPLAIN["your people"],
        unless_before=_THANKING,
        unless_after=r"\s+(?:were|are|have\s+been|did)\s+(?:\w+\s+)?(?:great|helpful|fantastic|excellent|"
        r"wonderful|amazing|brilliant|a\s+pleasure|kind|quick)",
    ),
    _Phrase(
        "blame",
        "messed screwed fouled cocked mucked botched bungled broke broken ruined ignored misconfigured caused",
        r"\b(?:you|your\s+(?:team|staff|side|company|engineers?|developers?|people|guys|folks|department|"
        r"colleagues|it\s+team|(?:sys)?admin(?:istrator)?s?))\s+(?:have\s+|has\s+|had\s+)?"
        r"(?:clearly\s+|obviously\s+|completely\s+|totally\s+|just\s+|again\s+)?"
        r"(?:messed|screwed|fouled|cocked|mucked|botched|bungled|broken?(?!\s+(?:up|down|even|out|it\s+down))|"
        r"ruined|ignored|misconfigured|caused\s+(?:this|the\s+(?:problem|issue|outage|mess)))\b(?:\s+up\b)?",
        _EXPLAIN["acted"],
        unless_before=_CONDITIONAL,
    ),
    _Phrase(
        "blame",
        "fault mistake doing blame",
        r"\b(?:(?:certainly|definitely|absolutely|simply)\s+)?(?:not|never|isn[’']t|wasn[’']t|aren[’']t|weren[’']t)\s+"
        r"(?:our|my)\s+(?:fault|mistake|doing)\b|"
        r"\b(?:through\s+)?no\s+fault\s+of\s+(?:ours|mine|our\s+own|my\s+own)\b|"
        r"\b(?:we|I)\s+(?:are|am|were|was)\s+not\s+to\s+blame\b",
        _EXPLAIN["deny"],
    ),
    _Phrase(
        "blame",
        "fault mistake error doing blame",
        r"\byour\s+(?:own\s+)?fault\b|\b(?:that|this|it)(?:[’']s|\s+is|\s+was)\s+(?:all\s+|entirely\s+|"
        r"completely\s+)?your\s+(?:own\s+)?(?:mistake|error|doing)\b|"
        r"\bthe\s+(?:fault|blame|problem)\s+(?:is|lies)\s+(?:entirely\s+)?(?:with|on)\s+(?:you|your\s+side)\b|"
        r"\byou\s+(?:only\s+)?have\s+(?:only\s+)?yourselves?\s+to\s+blame\b|\buser\s+error\b",
        _EXPLAIN["their fault"],
        unless_before=_NEGATED,
    ),
    _Phrase(
        "blame",
        "on",
        r"\b(?:that|this|it)(?:[’']s|\s+is|\s+was)\s+(?:all\s+|entirely\s+)?on\s+you\b",
        _EXPLAIN["their fault"],
        unless_before=_NEGATED,
    ),
    _Phrase(
        "blame",
        "already repeatedly clearly told telling times time",
        r"\bas\s+(?:I|we)\s+(?:have\s+|had\s+)?(?:already|repeatedly|clearly)\s+(?:told|said|explained|stated|"
        r"pointed\s+out|asked)\b(?:\s+(?:you|before|earlier))?|\bas\s+(?:I|we)\s+(?:have\s+|had\s+)?told\s+you\b|"
        r"\b(?:I|we)(?:[’']ve|\s+have)\s+(?:already\s+)?(?:told|explained\s+(?:this|it|that)\s+to|asked)\s+you\s+"
        r"(?:this\s+|that\s+)?(?:already|before|twice|three\s+times|several\s+times|many\s+times|repeatedly|"
        r"multiple\s+times|again\s+and\s+again|more\s+than\s+once)\b|"
        r"\bhow\s+many\s+(?:more\s+)?times\s+(?:do|must|should|will)\s+(?:I|we)\s+(?:have\s+to\s+|need\s+to\s+)?"
        r"(?:tell|ask|explain|repeat|say|remind|write)\b|\bhow\s+many\s+times\s+have\s+(?:I|we)\s+(?:told|asked|"
        r"explained|said|written)\b|\bfor\s+the\s+(?:third|fourth|fifth|tenth|hundredth|umpteenth|nth|last)\s+"
        r"time\s*[,:]|\b(?:I|we)\s+(?:keep|kept)\s+telling\s+you\b|\byou\s+were\s+(?:already\s+)?told\s+"
        r"(?:this\s+|that\s+)?(?:already|before|twice|repeatedly)\b|\bas\s+you\s+were\s+(?:already\s+)?told\b",
        _EXPLAIN["repeat"],
    ),
    _Phrase(
        "blame",
        "should obviously evidently bother bothered care cared learn rtfm",
        r"\byou\s+should(?:\s+have|[’']ve)\s+(?:read|checked|known|listened|asked\s+(?:us\s+)?first|followed|tested|"
        r"looked|paid\s+attention|realised|realized|noticed|thought|backed\s+up)\b|"
        rf"\b(?:obviously|evidently)\s+{_YOU}\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_CLAUSE_END})|"
        rf"\b{_YOU}\s+(?:obviously|evidently)\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_CLAUSE_END})|"
        rf"\b{_YOU}\s+(?:simply\s+|just\s+)?(?:didn[’']t|did\s+not|never)\s+(?:even\s+)?(?:bother(?:ed)?|"
        r"care(?:d)?\s+to)\b|\byou\s+(?:need|have)\s+to\s+learn\s+(?:to|how\s+to)\s+(?:read|listen|use|follow)\b|"
        r"\blearn\s+to\s+read\b|\brtfm\b",
        _EXPLAIN["should"],
        unless_before=_CONDITIONAL,
    ),
    _Phrase(
        "blame",
        "patience respect",
        r"\b(?:I|we)(?:[’']m|[’']re|\s+am|\s+are)\s+(?:rapidly\s+|quickly\s+|fast\s+)?(?:losing|running\s+out\s+of)\s+"
        r"(?:my\s+|our\s+|all\s+)?(?:patience|respect\s+for\s+you)\b|\b(?:my|our)\s+patience\s+(?:is|has)\s+"
        r"(?:wearing\s+thin|running\s+out|run\s+out|exhausted|at\s+an\s+end)\b",
        _EXPLAIN["patience"],
    ),
    # Name-calling and contempt.
    _Phrase(
        "insult",
        "idiot idiots idiotic moron morons moronic imbecile imbeciles cretin cretins nitwit nitwits dimwit "
        "dimwits halfwit halfwits numpty numpties incompetent incompetence clueless brain braindead pathetic "
        "amateurish clowns stupidity",
        r"\b(?:idiot(?:s|ic)?|moron(?:s|ic)?|imbeciles?|cretins?|nitwits?|dimwits?|halfwits?|numpties|numpty|"
        r"incompetent|incompetence|clueless|brain[- ]?dead|pathetic|amateurish|clowns|stupidity)\b",
        _EXPLAIN["insult"],
        unless_before=_SELF_OR_NEGATED,
    ),
    _Phrase(
        "insult",
        "stupid dumb idiotic silly pointless ridiculous absurd ludicrous laughable nonsense nonsensical crazy "
        "insane nuts blind deaf",
        r"\b(?:that(?:[’']s|\s+is|\s+was)|what|such|your|another)\s+(?:an?\s+)?(?:really\s+|incredibly\s+|"
        r"truly\s+|very\s+)?(?:stupid|dumb|idiotic|silly|pointless|ridiculous|absurd|nonsensical)\s+(?:question|"
        r"idea|mistake|request|thing|move|excuse|answer|comment|suggestion|claim|complaint|demand|argument)s?\b|"
        r"\bare\s+you\s+(?:stupid|dumb|blind|deaf|crazy|insane|nuts|out\s+of\s+your\s+mind)\b|"
        r"\bhow\s+(?:stupid|dumb)\s+(?:are|can|do|is)\b|"
        r"\byour\s+(?:\w+\s+)?(?:request|question|demand|claim|complaint|suggestion|idea|argument)s?\s+(?:is|are|"
        r"was|were)\s+(?:\w+\s+)?(?:ridiculous|absurd|ludicrous|laughable|nonsense|stupid|dumb|pointless)\b",
        _EXPLAIN["insult"],
        unless_before=_SELF_OR_NEGATED,
        unless_after=r"\s+of\s+(?:me|us)\b",
    ),
    _Phrase(
        "insult",
        "joke farce disgrace nonsense garbage rubbish trash",
        r"\b(?:what|such)\s+an?\s+(?:joke|farce|disgrace)\b|\b(?:is|was|are|this|that[’']s)\s+(?:an?\s+)?"
        r"(?:absolute|complete|total|utter)\s+(?:joke|farce|disgrace|nonsense|garbage|rubbish|trash)\b",
        _EXPLAIN["insult"],
        unless_before=_SELF_OR_NEGATED,
    ),
    _Phrase(
        "insult",
        "troll liar liars hypocrite bully child baby being lying",
        r"\byou(?:[’']re|\s+are)\s+(?:being\s+)?(?:a|an|such\s+an?)\s+(?:\w+\s+)?(?:troll|liar|hypocrite|bully|"
        r"clown|child|baby|joke|disgrace|embarrassment)\b|\byou(?:[’']re|\s+are)\s+being\s+(?:so\s+|very\s+|"
        r"really\s+)?(?:childish|ridiculous|unreasonable|difficult|stubborn|obtuse|rude|paranoid|dramatic|"
        r"hysterical|silly|absurd)\b|\byou(?:[’']re|\s+are)\s+lying\b|"
        r"\byou(?:[’']re|\s+are)?\s+(?:a\s+|such\s+a\s+)?(?:\w+\s+)?liars?\b(?![’']s)|\b(?:bunch|pack)\s+of\s+liars\b",
        _EXPLAIN["insult"],
        unless_before=_NEGATED,
    ),
    _Phrase(
        "insult",
        "who wrong problem dare shame ashamed clue life idea doing talking",
        r"\bwho\s+(?:the\s+hell\s+)?(?:are\s+you\s+to|do\s+you\s+think\s+you\s+are)\b|"
        r"\bwho\s+(?:the\s+hell\s+)?are\s+you\s*\?|\bhow\s+dare\s+you\b|\bdon[’']t\s+you\s+dare\b|"
        r"\bshame\s+on\s+you\b|\byou\s+should\s+be\s+ashamed\b|\bget\s+a\s+(?:clue|life)\b|"
        r"\byou\s+(?:clearly\s+|obviously\s+)?(?:have\s+no|haven[’']t\s+(?:got\s+)?(?:a|any)|don[’']t\s+have\s+(?:a|any|"
        r"the\s+(?:slightest|faintest)))\s+clue\b|\byou\s+(?:clearly|obviously)\s+have\s+no\s+idea\b|"
        r"\byou\s+have\s+no\s+idea\s+(?:what\s+you(?:[’']re|\s+are)\s+(?:talking|doing)|how\s+to)\b|"
        r"\byou\s+(?:clearly\s+|obviously\s+)?(?:don[’']t|do\s+not)\s+know\s+what\s+you(?:[’']re|\s+are)\s+"
        r"(?:doing|talking\s+about)\b|\bwhat\s+(?:the\s+hell\s+)?are\s+you\s+(?:even\s+)?talking\s+about\s*\?|"
        r"\bwhat(?:[’']s|\s+is|\s+the\s+hell\s+is)\s+wrong\s+with\s+you\b(?!r)|"
        r"\bwhat(?:[’']s|\s+is)\s+your\s+problem\s*\?",
        _EXPLAIN["insult"],
    ),
    # Swearing, whole words only ("Scunthorpe", "assessment" and "hello" are safe).
    _Phrase(
        "profanity",
        "fuck fucks fucked fucker fuckers fucking fuckin motherfucker motherfucking fck fcking fuk fuking f "
        "effing shit shits shitty shitter shithead shitheads shitting shite bullshit horseshit chickenshit "
        "damn damns damned damnit dammit goddamn goddamned goddamnit god crap craps crappy crappier crappiest "
        "ass asses asshole assholes asshat asshats arse arsehole arseholes dumbass jackass smartass assed "
        "bitch bitches bitchy bitching bitched bastard bastards piss pissed pisses pissing cunt cunts twat "
        "twats wanker wankers bollocks dickhead dickheads douche douchebag douchebags frigging friggin "
        "freaking wtf stfu gtfo ffs omfg",
        r"\b(?:(?:mother)?fuck(?:s|ed|er|ers|ing|in)?|fck(?:ing)?|fuk(?:ing)?|f[’']n|f[’']ing|effing|"
        r"(?:bull|horse|chicken)?shit(?:s|ty|ter|head|heads|ting|e)?|damn(?:s|ed|it)?|dammit|"
        r"god\s*damn(?:ed|it)?|crap(?:s|py|pier|piest)?|ass(?:es|hole|holes|hat|hats)?|arse(?:hole|holes)?|"
        r"dumbass|jackass|smartass|half[- ]?assed|bitch(?:es|y|ing|ed)?|bastards?|piss(?:ed|es|ing)?|"
        r"cunts?|twats?|wankers?|bollocks|dickheads?|douche(?:bag|bags)?|frigg?in[g’']?|freaking|"
        r"wtf|stfu|gtfo|ffs|omfg)\b",
        _EXPLAIN["profanity"],
    ),
    _Phrase(
        "profanity",
        "hell heck screw sake",
        r"\b(?:bloody\s+hell|hell\s+no|(?:the|to|like)\s+hell|(?:what|why|who|how|where)\s+the\s+heck|screw\s+(?:you|this|that)|"
        r"for\s+(?:god|christ|pete|heaven|fuck)[’']?s\s+sake|son\s+of\s+a\s+bitch)\b",
        _EXPLAIN["profanity"],
    ),
    # Sarcasm and condescension aimed at the reader.
    _Phrase(
        "sarcasm",
        "nothing luck respect offense offence",
        r"\bthanks?\s+(?:you\s+)?(?:a\s+lot\s+)?for\s+nothing\b|\bgood\s+luck\s+with\s+that\b|"
        r"\bwith\s+(?:all\s+)?(?:due|the\s+greatest)\s+respect\b|\bno\s+offen[cs]e\s*(?:intended\s*)?,?\s+but\b",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "last previous earlier prior below original",
        r"\b(?:as\s+)?per\s+my\s+(?:last|previous|earlier|prior|below|original)\s+(?:e-?mail|mail|message|note|"
        r"reply)\b|\b(?:as\s+)?(?:stated|mentioned|explained|said)\s+in\s+my\s+(?:last|previous|earlier|prior)\s+"
        r"(?:e-?mail|mail|message|note|reply)s?\b",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "know seen noticed read bothered cared taken looked listened",
        r"\bas\s+you\s+(?:would|should|might|could)\s+(?:already\s+)?(?:know|have\s+(?:seen|noticed|read|known))\s+"
        r"if\s+you\b|\bif\s+you\s+(?:had|[’']d)\s+(?:actually\s+|even\s+|only\s+)?(?:bothered|cared|taken\s+the\s+"
        r"time|read|looked|listened)\b|\bif\s+you\s+(?:ever\s+)?(?:bothered|cared)\s+to\b",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "clearly",
        rf"\bclearly\s+{_YOU}\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_CLAUSE_END})|"
        rf"\b{_YOU}\s+clearly\s+{_NEG_PAST}\s+(?:{_CHECKED}|{_CLAUSE_END})",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "breaking ruining losing deleting crashing screwing messing wasting ignoring",
        r"\bcongratulations\s+(?:on|for)\s+(?:\w+\s+){0,2}?(?:breaking|ruining|losing|deleting|crashing|"
        r"screwing|messing|wasting|ignoring)\b|"
        r"\b(?:great|nice|good|brilliant|fantastic|excellent|wonderful|amazing)\s+(?:job|work|going)\s+"
        r"(?:on\s+)?(?:breaking|ruining|losing|deleting|crashing|ignoring|wasting)\b",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "finally eventually last bother nice",
        r"\b(?:thanks?|thank\s+you)\s+(?:so\s+much\s+)?for\s+(?:finally|eventually|at\s+last)\b|"
        r"\bnice\s+of\s+you\s+to\s+(?:finally|eventually|bother)\b|\bmust\s+be\s+nice\b",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "helped yeah",
        r"\bthat\s+(?:really\s+)?helped,?\s+didn[’']t\s+it\b|\byeah,?\s+right\s*[.!]",
        _EXPLAIN["sarcasm"],
    ),
    _Phrase(
        "sarcasm",
        "part even hard difficult ask earth world",
        r"\bwhat\s+part\s+of\s+(?:\S+\s+){1,8}?(?:(?:don[’']t|do\s+not|didn[’']t|did\s+not)\s+you\s+(?:understand|"
        r"get)|(?:didn[’']t|did\s+not)\s+get\s+through)\b|"
        r"\b(?:do(?:es)?|did|have|had)\s+(?:you|anyone\s+there|anybody\s+there)\s+even\s+(?:bother\w*|read|look\w*|"
        r"check\w*|listen\w*|understand|know|care|test\w*|tr(?:y|ied)|glance\w*|open\w*)\b|"
        r"(?<!\bwhy\s)\bis\s+(?:that|this|it)\s+(?:really\s+)?(?:too\s+much\s+to\s+ask|(?:so|that)\s+(?:hard|difficult)\s+"
        r"to)\b|"
        r"\b(?:why|what|how)\s+(?:on\s+earth|in\s+the\s+world)\s+(?:would|did|do|does|are|were|have|could)\s+you\b",
        _EXPLAIN["rhetorical"],
    ),
    _Phrase(
        "sarcasm",
        "let slowly spell",
        r"\blet\s+me\s+(?:say|explain|put|spell)\s+(?:this|it|that)\s+(?:out\s+)?(?:again\s+)?(?:slowly|"
        r"one\s+(?:more|last)\s+time|very\s+simply|in\s+simple\s+terms|for\s+you)\b|"
        r"\bI(?:[’']ll|\s+will)\s+(?:type|speak|say\s+(?:this|it))\s+slowly\b",
        _EXPLAIN["rhetorical"],
    ),
    _Phrase(
        "sarcasm",
        "excuse got clear understood capisce comprende seriously hello sigh care nice",
        r"\b(?:excuse\s+me|got\s+(?:it|that)|is\s+that\s+(?:clear|understood)|understood|capisce|comprende|"
        r"seriously|hello)\s*\?+|\bsigh\s*[.!…,]|\bcare\s+to\s+(?:explain|elaborate)\b|\bnice\s+try\b",
        _EXPLAIN["rhetorical"],
        unless_before=_MID_SENTENCE,
    ),
    _Phrase(
        "sarcasm",
        "kidding joking sigh",
        r"\bare\s+you\s+(?:kidding|joking)(?:\s+me)?\s*\?|\byou(?:[’']ve|\s+have)\s+(?:got|gotta)\s+(?:to\s+)?be\s+"
        r"kidding\b|\byou\s+must\s+be\s+(?:kidding|joking)\b|\*sigh\*|\(sigh\)",
        _EXPLAIN["rhetorical"],
    ),
    _Phrase(
        "sarcasm",
        "realise realize guess mind",
        r"\byou\s+do\s+reali[sz]e\b|\b(?:am\s+I|are\s+we|is\s+anyone)\s+supposed\s+to\s+(?:guess|read\s+your\s+"
        r"mind)\b|\b(?:I|we)(?:[’']m|[’']re|\s+am|\s+are)\s+not\s+mind\s*readers?\b|\bread\s+your\s+mind\b",
        _EXPLAIN["rhetorical"],
    ),
    # Brushing the reader off.
    _Phrase(
        "dismissive",
        "whatever deal live grow what",
        r"\b(?:(?:fine|ok|okay|yeah|sure)\s*,?\s*)?whatever\s*(?=[.!?,]|$)|"
        r"\b(?:just\s+)?(?:deal|live)\s+with\s+it\s*(?=[.!,;]|$)|\b(?:just\s+)?grow\s+up\b|\bso\s+what\s*\?",
        _EXPLAIN["dismissive"],
        unless_before=_MID_SENTENCE,
    ),
    _Phrase(
        "dismissive",
        "whatever deal live",
        r"\bwhatever\s+you\s+say\b|"
        r"\byou(?:[’']ll|\s+will)?\s+(?:just\s+)?(?:have|need|got)\s+to\s+(?:deal|live)\s+with\s+it\s*(?=[.!,;]|$)",
        _EXPLAIN["dismissive"],
    ),
    _Phrase(
        "dismissive",
        "problem job concern department headache lookout",
        r"\bnot\s+(?:my|our)\s+(?:problem|job|concern|department|headache)\b|"
        r"\b(?:that|this|it)(?:[’']s|\s+is)\s+(?:entirely\s+|totally\s+)?your\s+(?:problem|headache|lookout)\b|"
        r"\byour\s+problem,?\s+not\s+(?:ours|mine)\b",
        _EXPLAIN["dismissive"],
    ),
    _Phrase(
        "dismissive",
        "over suck tough leave care cares shut break",
        r"\bget\s+over\s+it\b|\bsuck\s+it\s+up\b|\btough\s+luck\b|\btake\s+it\s+or\s+leave\s+it\b|"
        r"\b(?:I|we)\s+(?:couldn[’']t|could\s+not)\s+care\s+less\b|"
        r"\b(?:I|we)\s+(?:really\s+)?(?:don[’']t|do\s+not)\s+care\s*(?=[.!]|$)|\bwho\s+cares\s*[?.!,]|"
        r"\bshut\s+up\b|\bgive\s+(?:me|us)\s+a\s+break\b",
        _EXPLAIN["dismissive"],
    ),
    _Phrase(
        "dismissive",
        "time better stop waste wasted wasting yourself yourselves google",
        r"\b(?:I|we)\s+(?:don[’']t|do\s+not)\s+have\s+time\s+for\s+(?:this|that|you)\b|"
        r"\b(?:have|got)\s+(?:nothing\s+)?better\s+things\s+to\s+do\b|\bstop\s+(?:wasting\s+(?:my|our)\s+time|"
        r"(?:e-?mailing|bothering|pestering|harass\w*|spamming)\s+(?:me|us)|whining|complaining)\b|"
        r"\bwast(?:e|ed|ing)\s+(?:my|our)\s+time\b|\bfigure\s+it\s+out\s+yoursel(?:f|ves)\b|\bgoogle\s+it\b",
        _EXPLAIN["dismissive"],
    ),
)


class _NonLettersToSpace(dict[int, str]):
    """A `str.translate` table that blanks everything but letters, filled in as characters are met
    (so `text.translate(...).split()` lists the words, several times faster than a regex)."""

    def __missing__(self, code: int) -> str:
        value = chr(code) if chr(code).isalpha() else " "
        self[code] = value
        return value


_WORDS_ONLY = _NonLettersToSpace()

# --- masked swearing ("f***", "sh*t", "a$$hole") ------------------------------------------

_MASKABLE = "fuck fucking fucked fucker shit shitty bullshit damn crap ass asshole bitch bastard piss pissed cunt dick hell"
_MASK_CHARS = "*#@$%!"
# A masking symbol; "!" counts only before a letter ("sh!t"). The word around it is then taken.
_MASK_MARK = re.compile(r"[*#@$%]|!(?=[A-Za-z])")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + _MASK_CHARS)
_MASKED_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _word in _MASKABLE.split():
    _MASKED_BY_LENGTH[len(_word)] = (*_MASKED_BY_LENGTH.get(len(_word), ()), _word)


# A run of mixed symbols standing in for a swear word ("#$%&!"), as in comics.
_GRAWLIX = re.compile(r"[#$%&*@!]{4,}")


def _unmask(token: str) -> str | None:
    """The swear word a masked token stands for ("f***ing" -> "fucking"), or None."""
    lower = token.lower()
    if not any(c in _MASK_CHARS for c in lower):
        return None
    for word in _MASKED_BY_LENGTH.get(len(lower), ()):
        if all(c == w or c in _MASK_CHARS for c, w in zip(lower, word, strict=True)):
            return word
    return None


def _masked_swearing(text: str) -> list[ToneHit]:
    hits: list[ToneHit] = []
    done = 0
    for m in _MASK_MARK.finditer(text):
        if m.start() < done:
            continue
        start, end = m.start(), m.end()
        while start > 0 and text[start - 1] in _TOKEN_CHARS:
            start -= 1
        while end < len(text) and text[end] in _TOKEN_CHARS:
            end += 1
        done = end
        token = text[start:end].rstrip("!")
        end = start + len(token)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        after2 = text[end + 1] if end + 1 < len(text) else " "
        # Not part of an address, a path, a domain or a number ("bob@acme.com", "$5", "a/b*c").
        if (
            before.isalnum()
            or before in "_./"
            or after.isalnum()
            or after in "_@/"
            or (after == "." and after2.isalnum())
        ):
            continue
        if token[:1].isalpha() and _unmask(token):
            hits.append(
                ToneHit(start, end, "profanity", token, "A masked swear word still reads as swearing.")
            )
    for m in _GRAWLIX.finditer(text):
        start, end = m.start(), m.end()
        if (
            len(set(m.group())) >= 3
            and not (start and text[start - 1].isalnum())
            and not text[end : end + 1].isalnum()
        ):
            hits.append(ToneHit(start, end, "profanity", m.group(), "Symbols standing in for swearing."))
    return hits


# --- punctuation --------------------------------------------------------------------------

# "!!!", "?!?!", "??!": stacked marks read as a raised voice. "!!" alone is common enthusiasm, and
# "???" alone is more often confusion than anger.
_EXCLAIM = re.compile(r"!{3,}|(?=[!?]{3,})(?:[!?]*\?![!?]*|[!?]*!\?[!?]*)")
# Stacked exclamation marks in a thank-you or a congratulation are warmth, not heat.
_WARM = re.compile(
    r"\b(?:thanks?|thank\s+you|thx|congrat\w*|welcome|great|good|nice|cool|fun|awesome|excellent|amazing|"
    r"wonderful|fantastic|brilliant|perfect|lovely|beautiful|happy|glad|love|enjoy\w*|excited|appreciate\w*|"
    r"yay|hooray|woo+|cheers|well\s+done|birthday|holidays?|christmas|new\s+year|best\s+wishes)\b",
    re.IGNORECASE,
)

# --- shouting -----------------------------------------------------------------------------

# An all-caps token of 2+ letters standing alone: not part of a code ("INC-4821", "ERR_TIMEOUT",
# "HTTP/2", "file.PDF", "PDFs") or an address.
# (The pattern starts with the letters so that the regex engine can skip ahead to capitals; the
# character before the token is checked in `_shouting`.)
_CAPS_TOKEN = re.compile(r"[A-Z]{2,}(?:['’][A-Z]{1,2})?(?![\w\-/@#$]|\.\w)")
_CAPS_NOT_AFTER = frozenset("-./@#$'’_")
_CODE_SPAN = re.compile(r"`[^`\n]*`")

# Short words that are ordinary English, so an all-caps one is emphasis rather than an acronym.
# Left out on purpose: words that are also common abbreviations (IT, US, AM, PM, OK, ID, OR, IN,
# ME, HI, CAN, NET, SEC, MAX, ...), which read as codes in business mail.
_COMMON_SHORT_WORDS = """
    a an as at be by do go he i'm if is my no of on to up we all and any are ask bad big but
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
# Longer ordinary words: emphasis when in capitals, like the short ones above.
_COMMON_LONG_WORDS = """
    answer anymore anyone anything because before believe doesn't haven't instead listen people
    please really should someone without wouldn't
"""
# Words that are shouting even on their own ("This is UNACCEPTABLE").
_EMPHATIC_WORDS = """
    absolutely already clearly completely disgrace disgraceful everyone everything extremely
    horrible immediately incompetent nobody nothing obviously outrageous pathetic ridiculous
    seriously terrible totally unacceptable unbelievable useless
"""
_EMPHATIC = frozenset(_EMPHATIC_WORDS.split())
_COMMON = frozenset(_COMMON_SHORT_WORDS.split()) | frozenset(_COMMON_LONG_WORDS.split()) | _EMPHATIC

# Longer all-caps words that are acronyms, product names or labels rather than shouting.
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
_HEADING_MAX_WORDS = 8
# ... unless it speaks to someone, asks or insists, or is a sentence (headings rarely have a verb).
_HEADING_ADDRESSED = re.compile(
    r"\b(?:YOU|YOUR|YOU'RE|NOT|NEVER|STOP|DON'T|WHY|NO|IS|ARE|WAS|WERE|HAVE|HAS|HAD|DO|DOES|DID)\b|[!?]\s*$"
)
# Emphasised words further apart than this are separate emphasis, not a raised voice.
_MAX_GAP_WORDS = 3
_SENTENCE_BREAK = re.compile(r"[.!?;:]\s|\n")

_STRONG, _WEAK, _NOT_SHOUTED = 2, 1, 0


def _shout_strength(token: str) -> int:
    """How much an all-caps token counts as shouting: a known word is strong; an unknown long
    word (a name in capitals, "ALSTOM") is weak; acronyms, codes and labels do not count."""
    word = token.lower().replace("’", "'")
    if word in _CAPS_ALLOW:
        return _NOT_SHOUTED
    if word in _COMMON:
        return _STRONG
    # Short unknown tokens are acronyms ("SLA", "NYMEX"); long ones without a vowel are codes.
    if len(word.replace("'", "")) <= 5 or not any(v in word for v in "aeiouy"):
        return _NOT_SHOUTED
    return _WEAK


def _is_heading(line: str) -> bool:
    """An all-caps short line that addresses no one (called only for lines with capitals)."""
    return (
        line == line.upper()
        and sum(1 for w in line.split() if any(c.isalpha() for c in w)) <= _HEADING_MAX_WORDS
        and not _HEADING_ADDRESSED.search(line)
        and _EMPHATIC.isdisjoint(line.lower().split())
    )


def _shouting(text: str) -> list[ToneHit]:
    if "`" in text:  # inline code (`IF X IS NOT`) is not prose
        text = _CODE_SPAN.sub(lambda m: " " * len(m.group()), text)
    hits: list[ToneHit] = []
    cluster: list[tuple[re.Match[str], int]] = []

    def flush() -> None:
        strong = [m for m, s in cluster if s == _STRONG]
        # Two or more words with at least one ordinary English word among them, or one long
        # emphatic word on its own.
        if (len(cluster) >= 2 and strong) or (
            len(cluster) == 1 and strong and strong[0].group().lower() in _EMPHATIC
        ):
            start, end = cluster[0][0].start(), cluster[-1][0].end()
            hits.append(
                ToneHit(start, end, "shouting", text[start:end], "Words in capitals read as shouting.")
            )
        cluster.clear()

    skip_line: dict[int, bool] = {}
    for m in _CAPS_TOKEN.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in _CAPS_NOT_AFTER):
            continue
        strength = _shout_strength(m.group())
        if strength == _NOT_SHOUTED:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if line_start not in skip_line:
            line_end = text.find("\n", m.start())
            line = text[line_start : len(text) if line_end < 0 else line_end]
            skip_line[line_start] = _is_heading(line) or bool(_BOILERPLATE.search(line))
        if skip_line[line_start]:
            continue
        if cluster:
            gap = text[cluster[-1][0].end() : m.start()]
            # Normal-case words in between end the run at a sentence break, or after a few words.
            # A stretch written entirely in capitals stays one run, however long: one finding.
            lowercase_words = 0 if gap == gap.upper() else sum(1 for w in gap.split() if w != w.upper())
            if lowercase_words > _MAX_GAP_WORDS or (lowercase_words and _SENTENCE_BREAK.search(gap)):
                flush()
        cluster.append((m, strength))
    flush()
    return hits


# --- the detector -------------------------------------------------------------------------


def _phrase_regex(phrase: str) -> str:
    """An org phrase as a pattern: whole words, any run of whitespace between them."""
    return r"(?<!\w)" + r"\s+".join(re.escape(w) for w in phrase.split()) + r"(?!\w)"


def _overlaps(hit: ToneHit, kept: list[ToneHit]) -> bool:
    return any(hit.start < k.end and k.start < hit.end for k in kept)


def _lowercase_pattern(pattern: str) -> str:
    """The pattern for lower-cased text: literal capitals lowered, escapes such as \\S, \\W kept."""
    return re.sub(r"(?<!\\)[A-Z]", lambda m: m.group().lower(), pattern)


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern ("a|(?:b|c)d" -> ["a", "(?:b|c)d"])."""
    parts, depth, in_class, escaped, start = [], 0, False, False, 0
    for i, c in enumerate(pattern):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def _compile_fast(pattern: str) -> list[tuple[re.Pattern[str], bool]]:
    """Compile each alternative of a lower-case pattern on its own, without a leading \\b.

    A pattern that starts with a literal lets the regex engine jump straight to candidate
    positions; a leading \\b makes it try every position, about ten times slower. The dropped
    \\b is checked by the caller instead (the flag says which alternatives had one).
    """
    compiled = []
    for alternative in _alternatives(_lowercase_pattern(pattern)):
        bounded = alternative.startswith("\\b")
        compiled.append((re.compile(alternative[2:] if bounded else alternative), bounded))
    return compiled


def _starts_word(text: str, pos: int) -> bool:
    """True when a \\b holds at `pos` before a word character (the check `_compile_fast` drops)."""
    return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")


def _lower_same_length(text: str) -> str:
    """`text.lower()` with every offset unchanged (a few characters, such as "İ", lengthen)."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


# Phrase patterns run only near an occurrence of one of their anchor words: a match may start at
# most this many characters before the anchor and end at most this many after it.
_SPAN_BEFORE = 100
_SPAN_AFTER = 150


class ToneDetector:
    """Finds hostile phrasing in text. Build once (it compiles its patterns), then call `detect()`."""

    def __init__(self, extra_phrases: Iterable[str] = ()) -> None:
        phrases = list(_PHRASES)
        for extra in extra_phrases:
            words = extra.lower().translate(_WORDS_ONLY).split()
            if words:
                phrases.append(
                    _Phrase(
                        "phrase",
                        max(words, key=len),
                        _phrase_regex(extra),
                        "This phrase is on your organisation's list of phrases to avoid with customers.",
                    )
                )
        self._phrases = phrases
        # Matching lower-cased text without IGNORECASE is about twice as fast.
        self._regex = [_compile_fast(p.pattern) for p in phrases]
        self._before = [
            re.compile(_lowercase_pattern(p.unless_before)) if p.unless_before else None for p in phrases
        ]
        self._after = [
            re.compile(_lowercase_pattern(p.unless_after)) if p.unless_after else None for p in phrases
        ]
        self._by_anchor: dict[str, list[int]] = {}
        for i, p in enumerate(phrases):
            for anchor in p.anchors.split():
                self._by_anchor.setdefault(anchor, []).append(i)
        self._anchors = frozenset(self._by_anchor)

    def _guarded(self, lower: str, index: int, start: int, end: int) -> bool:
        before = self._before[index]
        if before is not None:
            window = lower[max(0, start - _GUARD_WINDOW) : start]
            boundary = _SENTENCE_START.search(window)
            if boundary:
                window = window[boundary.end() :]
            if before.search(window):
                return True
        after = self._after[index]
        return after is not None and after.match(lower, end) is not None

    def _spans(self, lower: str) -> dict[int, list[tuple[int, int]]]:
        """For each phrase that can match, the stretches of text around its anchor words."""
        spans: dict[int, list[tuple[int, int]]] = {}
        for anchor in self._anchors.intersection(lower.translate(_WORDS_ONLY).split()):
            pos = lower.find(anchor)
            while pos >= 0:
                end = pos + len(anchor)
                # Whole words only: "on" must not anchor inside "only".
                if not (pos and lower[pos - 1].isalpha()) and not (end < len(lower) and lower[end].isalpha()):
                    for index in self._by_anchor[anchor]:
                        spans.setdefault(index, []).append((max(0, pos - _SPAN_BEFORE), end + _SPAN_AFTER))
                pos = lower.find(anchor, end)
        return spans

    def _phrase_hits(self, text: str, lower: str) -> list[ToneHit]:
        hits: dict[tuple[int, int, str], ToneHit] = {}
        for index, spans in self._spans(lower).items():
            phrase = self._phrases[index]
            spans.sort()
            merged = [list(spans[0])]
            for lo, hi in spans[1:]:
                if lo <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            for regex, bounded in self._regex[index]:
                for lo, hi in merged:
                    pos, hi = lo, min(hi, len(lower))
                    while (m := regex.search(lower, pos, hi)) is not None:
                        # Some alternatives start with optional whitespace; report the words only.
                        start = m.start() + len(m.group()) - len(m.group().lstrip())
                        if (bounded and not _starts_word(lower, m.start())) or self._guarded(
                            lower, index, start, m.end()
                        ):
                            pos = m.start() + 1  # a rejected match must not hide an overlapping one
                            continue
                        hits[(start, m.end(), phrase.kind)] = ToneHit(
                            start, m.end(), phrase.kind, text[start : m.end()], phrase.explanation
                        )
                        pos = max(m.end(), m.start() + 1)
        return list(hits.values())

    def detect(self, text: str) -> list[ToneHit]:
        """All hostile spans in `text` (a line or a whole message), in order of position."""
        hits = self._phrase_hits(text, _lower_same_length(text))

        if any(c in text for c in _MASK_CHARS):
            hits.extend(_masked_swearing(text))

        if "!!!" in text or "?!" in text or "!?" in text:
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

        # Wording first: where a phrase and a shouted run overlap, the phrase says more.
        hits.sort(key=lambda h: (h.start, -h.end))
        kept: list[ToneHit] = []
        for hit in hits:
            if not _overlaps(hit, kept):
                kept.append(hit)
        kept.extend(h for h in _shouting(text) if not _overlaps(h, kept))
        kept.sort(key=lambda h: (h.start, h.end))
        return kept


_DEFAULT = ToneDetector()


def detect_hostility(text: str) -> list[ToneHit]:
    """Hostile spans in `text` with the built-in patterns (see `ToneDetector` for org phrases)."""
    return _DEFAULT.detect(text)
