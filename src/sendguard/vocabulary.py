"""Learn an organisation's vocabulary from its own mail, for `[vocabulary] file`.

Trade terms, product, place and people's names that a team reads and writes every day are not
in any dictionary, and the spelling rule would warn on each of them. `sendguard vocabulary
ARCHIVE` reads an archive of the team's mail, sent and received (a maildir, an mbox or a folder
of .eml files), and proposes the words the spelling rule could report that the new text of at
least `--min-messages` different messages uses, and the names of the people its headers show as
often. It leaves out what looks like a typo: a slip for a very common word (alot, thier), or for
a word the same mail writes at least as often. A typo someone makes every time can still be
learned, so the list is for a person to review.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sendguard.errors import ConfigError, InputError
from sendguard.guard import Guard
from sendguard.message.model import Message
from sendguard.rules.spelling import Spelling
from sendguard.scan import open_archive, parsed_messages


@dataclass
class Learned:
    words: list[str]
    messages: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)


def learn(guard: Guard, archive: str | Path, *, min_messages: int = 3) -> Learned:
    rule = next((r for r in guard.rules if isinstance(r, Spelling)), None)
    if rule is None:
        raise ConfigError("the spelling rule is off in this configuration, so there is nothing to learn for")
    if min_messages < 1:
        raise InputError(f"--min-messages must be at least 1 (not {min_messages})")
    learned = Learned([])
    _, messages = open_archive(archive)

    def parsed() -> Iterator[Message]:
        for _, msg in parsed_messages(guard, messages, learned.unreadable):
            if msg is not None:
                learned.messages += 1
                yield msg

    learned.words = learn_from(rule, parsed(), min_messages=min_messages)
    return learned


def learn_from(rule: Spelling, messages: Iterable[Message], *, min_messages: int = 3) -> list[str]:
    """The vocabulary `rule` would learn from these messages: their written text and header names."""
    texts: list[str] = []
    names: list[str] = []
    for msg in messages:
        texts.append(rule.written_text(msg))
        people = {a.display_name for a in [msg.sender, *msg.recipients] if a is not None and a.display_name}
        names.append(" ".join(sorted(people)))  # one string per message: a name counts once per message
    return rule.checker.learn_vocabulary(texts, min_texts=min_messages, names=names)


def run_vocabulary(guard: Guard, archive: str, *, min_messages: int, output: str | None) -> int:
    learned = learn(guard, archive, min_messages=min_messages)
    text = (
        f"# Learned by `sendguard vocabulary` from {archive}\n"
        f"# Words the spelling rule reported in {min_messages} or more of {learned.messages} messages.\n"
        "# Review before use (a typo made every time is learned too), then name this file in\n"
        '# sendguard.toml: [vocabulary] file = "..."\n' + "".join(f"{w}\n" for w in learned.words)
    )
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", path=output) from None
    skipped = f", {len(learned.unreadable)} unreadable skipped" if learned.unreadable else ""
    print(
        f"{len(learned.words)} word{'' if len(learned.words) == 1 else 's'} from {learned.messages} messages{skipped}"
        + (f"; written to {output}" if output else ""),
        file=sys.stderr,
    )
    return 0
