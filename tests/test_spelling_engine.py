"""The spelling engine on email text: what it flags, what it leaves alone, and what it suggests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sendguard.spelling import Misspelling, SpellChecker, find_dictionary


@pytest.fixture(scope="module")
def checker() -> SpellChecker:
    return SpellChecker(["Acme Corp", "Northwind Telecom", "RevCalc", "onboarding", "Okafor", "nwtel"])


def flagged(checker: SpellChecker, text: str) -> list[str]:
    return [m.word for m in checker.check(text)]


@pytest.mark.parametrize(
    ("text", "typo", "best"),
    [
        ("We have recieved your report.", "recieved", "received"),
        ("Our enginers are looking into it.", "enginers", "engineers"),
        ("It will definately be fixed.", "definately", "definitely"),
        ("I will call you tommorow morning.", "tommorow", "tomorrow"),
        ("We can accomodate that change.", "accomodate", "accommodate"),
        ("Please send teh logs.", "teh", "the"),
        ("We dont charge for that.", "dont", "don't"),
        ("The invoice is seperate from the contract.", "seperate", "separate"),
        ("Becasue of the outage, we credited your account.", "Becasue", "Because"),
    ],
)
def test_flags_typos_with_the_right_first_suggestion(
    checker: SpellChecker, text: str, typo: str, best: str
) -> None:
    found = checker.check(text)
    assert [m.word for m in found] == [typo]
    assert found[0].kind == "spelling"
    assert found[0].suggestions[0] == best


def test_spans_index_the_original_text(checker: SpellChecker) -> None:
    text = "Hi Peter,\n\nWe’ve recieved it and we’ll acknowlege it today."
    found = checker.check(text)
    assert [text[m.start : m.end] for m in found] == ["recieved", "acknowlege"]
    assert all(m.word == text[m.start : m.end] for m in found)


def test_suggestions_are_ranked_unique_and_capped(checker: SpellChecker) -> None:
    suggestions = checker.suggest("recieve")
    assert suggestions[0] == "receive"
    assert len(suggestions) == len(set(suggestions)) <= checker.max_suggestions
    assert "recieve" not in suggestions
    assert checker.suggest("recieve") is suggestions  # cached: Hunspell's suggest is slow


def test_suggestions_keep_sentence_case(checker: SpellChecker) -> None:
    assert checker.suggest("Recieve")[0] == "Receive"


@pytest.mark.parametrize(
    "text",
    [
        "The colour of the organisation's logo was cancelled; we sent a cheque.",  # British
        "The color of the organization's logo was canceled; we sent a check.",  # American
        "See https://status.acme.com/incidents/INC-4821?ref=mail and www.revcalc.io/help.",
        "Write to billing@revcalc.io or support@nwtel.co.uk about it.",
        "The file invoice_2026-11.pdf is on acme-corp.co.uk, see report.xlsx too.",
        "Ticket INC-4821, order PO#12345, release v2.3 and build 7f3a9c2 are linked.",
        "You paid $1,240.50 and €400 on the 21st; 3x faster, 4G, Q3 and 2FA.",
        "The SLA and GDPR terms cover SSO, MFA and the API.",
        "RevCalc runs on your iPhone, in PowerPoint and in JavaScript.",
        "Anna Berg and Julia Meyer met Tom Okafor and Jawad Qureshi on Monday.",
        "Hi Jawad,\n\nThanks for the call.\n\nBest,\nSiobhan",
        "Thanks,\nKevin Presto",
        "Acme and acme corp and ACME and Northwind's team use the onboarding runbook at nwtel.",
        "Our follow-up and re-send steps are well-known and self-service.",
        "We don't know; they're sure it's the customer's and the customers' fault.",
        "We don’t know; they’re sure it’s the customer’s.",
        "Run:\n    for (i = 0; i < n; i++) { printf(x); }\n    $ grep -rn foo /etc",
        "FYI, pls send the PDFs asap; btw the mtg is TBD.",
        "Dorin Danesan said it is fine. Mr. Carleson agreed, and so did Laurance S. Rockefeller.",
        "It was a rockin' show, like in the good ol' days.",
        '<hr noshade size=1><span class="article">layoffs in the pipline</span>',
        "Wenn Sie den Newsletter abbestellen wollen, klicken Sie bitte auf den Knopf und dann auf Daten löschen.",
    ],
)
def test_leaves_alone_what_is_not_a_typo(checker: SpellChecker, text: str) -> None:
    assert flagged(checker, text) == []


def test_capitalised_unknown_words_mid_sentence_are_names(checker: SpellChecker) -> None:
    assert flagged(checker, "I spoke with Ngozi and Siobhan about it.") == []
    # ... and the same name at the start of a sentence is still a name.
    assert flagged(checker, "Ngozi agreed. I spoke with Ngozi again.") == []


def test_unknown_words_that_are_not_near_a_word_are_left_alone(checker: SpellChecker) -> None:
    # Trade jargon and product names are not typos for anything; add them to the vocabulary if you like.
    assert flagged(checker, "The topock and physindex positions moved.") == []


def test_vocabulary_is_case_insensitive_and_per_component() -> None:
    words = "Zorbulon and zorbulon's team at ZORBULON met the Quixly folks"
    plain = SpellChecker()
    assert plain.is_known("Zorbulon") is False
    own = SpellChecker(["Zorbulon Quixly Ltd"])
    assert own.check(words) == []
    assert own.is_known("zorbulon") and own.is_known("Quixly") and own.is_known("zorbulon's")


def test_the_same_unknown_word_twice_is_deliberate(checker: SpellChecker) -> None:
    assert flagged(checker, "The socal desk and the socal book.") == []
    assert flagged(checker, "The socal desk.") == ["socal"]


def test_a_word_the_conversation_shares_is_not_a_slip(checker: SpellChecker) -> None:
    text = "The enpower schedule is late, and the traceback came back."
    assert flagged(checker, text) == ["enpower", "traceback"]
    assert [m.word for m in checker.check(text, shared={"traceback", "schedule"})] == ["enpower"]
    assert checker.check(text, shared={"enpower", "traceback"}) == []


def test_a_line_mostly_in_another_language_is_left_alone(checker: SpellChecker) -> None:
    assert flagged(checker, "Merci pour votre réponse rapide, nous avons reçu la facture.") == []


@pytest.mark.parametrize(
    ("text", "word", "fix"),
    [
        ("Sorry about yesterdays outage.", "yesterdays", "yesterday's"),
        ("Todays call is moved.", "Todays", "Today's"),
        ("Please pay last weeks invoice.", "last weeks", "last week's"),
        ("This months report is attached.", "This months", "This month's"),
        ("After tonights maintenance window.", "tonights", "tonight's"),
    ],
)
def test_missing_possessive_apostrophe(checker: SpellChecker, text: str, word: str, fix: str) -> None:
    found = checker.check(text)
    assert found == [Misspelling(text.index(word), text.index(word) + len(word), word, (fix,), "possessive")]


@pytest.mark.parametrize(
    "text",
    [
        "Sorry about yesterday's outage.",
        "Sorry about yesterday.",
        "It happened yesterday, before the call.",
        "The last weeks of the year are busy.",
        "Over the last weeks we have fixed it.",
        "In the coming months, we will migrate.",
        "Last weeks were hard for everyone.",
        "It took three years.",
    ],
)
def test_possessive_near_misses(checker: SpellChecker, text: str) -> None:
    assert checker.check(text) == []


def test_a_typical_clean_email_checks_in_well_under_five_ms(checker: SpellChecker) -> None:
    paragraph = (
        "Thanks for your note about the invoice. We reviewed the account yesterday and found that the "
        "credit from last month was applied twice. I have asked our billing team to reverse the duplicate "
        "entry, and you should see the corrected balance on your next statement. If anything still looks "
        "wrong, reply to this email and I will call you to go through it line by line.\n\n"
    )
    body = "Hi Peter,\n\n" + paragraph * 3 + "Best regards,\nSam Carter\n"
    assert 190 <= len(body.split()) <= 210
    assert checker.check(body) == []
    best = min(_timed(checker, body) for _ in range(5))
    assert best < 0.005, f"{best * 1000:.1f} ms"


def _timed(checker: SpellChecker, text: str) -> float:
    start = time.perf_counter()
    checker.check(text)
    return time.perf_counter() - start


def test_missing_dictionary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no Hunspell dictionary en_ZZ"):
        find_dictionary("en_ZZ", [tmp_path])
    with pytest.raises(OSError, match="en_US"):
        SpellChecker(dictionary_dirs=[tmp_path])


def test_the_word_frequency_list_is_required() -> None:
    with pytest.raises(OSError, match="install pyspellchecker"):
        SpellChecker(frequencies={})


@pytest.mark.parametrize(
    ("typo", "best"),
    [
        ("acomodation", "accommodation"),  # two letters left out
        ("tommorow", "tomorrow"),  # one added, one left out
        ("permenant", "permanent"),  # two vowels changed
        ("definatly", "definitely"),  # one changed, one left out
    ],
)
def test_two_slips_in_a_long_word_are_found_without_hunspell(
    checker: SpellChecker, typo: str, best: str
) -> None:
    found = checker.check(f"It is {typo} now.")
    assert [m.word for m in found] == [typo]
    assert found[0].suggestions[0] == best


class _NoSuggest:
    """A dictionary whose suggest() must not be called (it costs 30-60+ ms a word)."""

    def __init__(self, dictionary: object) -> None:
        self.spell = dictionary.spell  # type: ignore[attr-defined]

    def suggest(self, word: str) -> list[str]:
        raise AssertionError(f"Hunspell's suggest was called for {word!r}")


def test_checking_never_asks_hunspell_for_suggestions() -> None:
    own = SpellChecker()
    own._dictionaries = [_NoSuggest(d) for d in own._dictionaries]  # type: ignore[misc]
    text = (
        "We have recieved the new adress of the office in your neigbourhood, and the people on the socal "
        "desk told us that they will definately find a way to acommodate all of the extra staff next week."
    )
    assert flagged(own, text) == ["recieved", "adress", "neigbourhood", "socal", "definately", "acommodate"]


def test_suggest_also_asks_hunspell(checker: SpellChecker) -> None:
    assert "Cincinnati" in checker.suggest("Cincinatti")
    assert "phenomenal" in checker.suggest("phenomenonal")
    assert "phenomenon al" not in checker.suggest("phenomenonal")  # Hunspell's split, on a fragment


def test_at_most_max_examined_distinct_unknown_words_per_text() -> None:
    text = (
        "We have recieved the new adress of the office and the invoce for the work, and it will definately "
        "be kept seperate from the other costs so that the extra staff can be acommodated next week."
    )
    assert len(flagged(SpellChecker(), text)) == 6
    assert flagged(SpellChecker(max_examined=2), text) == ["recieved", "adress"]


def test_a_message_full_of_unknown_words_stays_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    own = SpellChecker()
    own.check("A warm-up: the candidate index is built on the first unknown wrod.")
    searched: list[str] = []
    near_words = own._near_words
    monkeypatch.setattr(
        own, "_near_words", lambda word, **kw: searched.append(word) or near_words(word, **kw)
    )
    words = [f"zorblax{c}{d}quent" for c in "abcdefghij" for d in "klmnopqrst"]  # 100 unknown long words
    text = "Hi Peter,\n\n" + "\n".join(f"The {w} is fine." for w in words) + "\n"
    own.check(text)
    # The cost is the number of words searched (bench/spelling_bench.py times one: ~1-3 ms).
    assert len(searched) == own.max_examined  # 25 words, not 100


def test_learn_vocabulary_keeps_consistent_terms_not_habitual_typos(checker: SpellChecker) -> None:
    texts = [f"The socal book is long and thats fine ({i})." for i in range(3)] + ["The socal desk."]
    assert checker.learn_vocabulary(texts) == ["socal"]
    assert checker.learn_vocabulary(texts[:2]) == []  # fewer than three messages


def test_learn_vocabulary_counts_copies_of_one_message_once(checker: SpellChecker) -> None:
    """Enron's folders hold the same sent message in several places (sent, all_documents, ...)."""
    assert checker.learn_vocabulary(["The socal book is long."] * 5) == []


def test_learn_vocabulary_leaves_out_slips_for_words_the_same_mail_writes(checker: SpellChecker) -> None:
    texts = [f"Please acitvate the account ({i})." for i in range(3)]
    texts += [f"We activate accounts on Mondays ({i})." for i in range(3)]
    assert checker.learn_vocabulary(texts) == []
    assert checker.learn_vocabulary(texts[:3]) == ["acitvate"]  # nothing shows the right form


def test_learn_vocabulary_counts_every_use_not_only_the_reported_ones(checker: SpellChecker) -> None:
    """Written as a name mid-sentence, "Enpower" is never reported; the team's term is still learned
    for the texts that write it in lower case."""
    texts = [
        "The deal is not in enpower yet.",
        "We booked it in Enpower today.",
        "Check Enpower for the P&L.",
    ]
    assert [m.word for m in checker.check(texts[0])] == ["enpower"]
    assert checker.learn_vocabulary(texts) == ["enpower"]


def test_learn_vocabulary_learns_a_term_the_mail_writes_with_a_capital_inside(checker: SpellChecker) -> None:
    """Enron's traders write "socal" and "SoCal"; "social" is written more often, so without the
    capital inside the ratio test takes "socal" for a slip."""
    texts = [f"SoCal basis is weak today ({i})." for i in range(3)] + ["Buy more socal gas."]
    texts += [f"The social event is on Friday ({i})." for i in range(5)]
    assert [m.word for m in checker.check(texts[3])] == ["socal"]
    assert checker.learn_vocabulary(texts) == ["socal"]
    # Near misses: a capital only at the start (a sentence start or a name), or inside in fewer texts.
    assert checker.learn_vocabulary([t.replace("SoCal", "Socal") for t in texts]) == []
    assert checker.learn_vocabulary(texts[1:]) == []


def test_learn_vocabulary_a_space_left_out_before_i_is_not_a_capital_inside(checker: SpellChecker) -> None:
    texts = [f"Where canI find the report ({i})?" for i in range(3)]
    assert [m.word for m in checker.check(texts[0].replace("canI", "cani"))] == ["cani"]
    assert checker.learn_vocabulary(texts) == []
    assert checker.learn_vocabulary([t.replace("canI", "caNi") for t in texts]) == ["cani"]


def test_learn_vocabulary_learns_names_the_headers_show_in_enough_messages(checker: SpellChecker) -> None:
    names = ["Gorte, David", "David Gorte Kim Ward", "David Gorte"]
    assert checker.learn_vocabulary([], names=names) == ["gorte"]  # David and Ward are known words
    assert checker.learn_vocabulary([], names=names[:2]) == []


def test_the_dictionaries_are_searched_for_a_few_words_per_text(monkeypatch: pytest.MonkeyPatch) -> None:
    own = SpellChecker(max_dictionary_searches=1)
    calls: list[tuple[str, bool]] = []
    near_words = own._near_words
    monkeypatch.setattr(
        own,
        "_near_words",
        lambda word, dictionaries=True: calls.append((word, dictionaries)) or near_words(word, dictionaries),
    )
    text = "The neigbourhood office and the zorblaxquent one are in the harbour, next to the flurbleworth."
    own.check(text)
    assert calls == [("neigbourhood", True), ("zorblaxquent", False), ("flurbleworth", False)]
    assert flagged(own, "The neigbourhood office.") == ["neigbourhood"]


def test_suggestions_are_the_same_in_every_process() -> None:
    """Candidates tied on score come from sets, whose order follows the per-process string hash;
    a message must still get the same suggestions from the CLI, the relay and every campaign worker."""
    words = ["guage", "aeriel", "burried", "concider", "compatability", "eyar"]  # words with tied candidates
    script = (
        "import sys\nfrom sendguard.spelling import SpellChecker\nc = SpellChecker()\n"
        "for w in sys.argv[1:]:\n    print(w, [m.suggestions for m in c.check(w)])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, *words],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (0, 1, 2, 3)
    }
    assert len(outputs) == 1, outputs
