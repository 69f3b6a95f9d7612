"""Errors of the relay's queue, reported like every sendguard error: one line, exit code 2.

SendguardError
├── QueueError            a queue action that cannot be done
│   ├── MessageNotFound   no message with that id
│   └── WrongState        the message is not in a state that allows the action
└── StoreError            the database cannot be opened or used
"""

from __future__ import annotations

from collections.abc import Sequence

from sendguard.errors import SendguardError


class QueueError(SendguardError):
    """A queue action that cannot be done: unknown id, or the message is in the wrong state."""


class MessageNotFound(QueueError):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"no message with id {message_id!r} in the queue")
        self.message_id = message_id


class WrongState(QueueError):
    def __init__(self, message_id: str, verb: str, state: str, allowed: Sequence[str]) -> None:
        super().__init__(f"cannot {verb} {message_id}: it is {state}, not {' or '.join(allowed)}")
        self.message_id = message_id
        self.state = state


class StoreError(SendguardError):
    """The database cannot be opened or used (bad path or URL, server down)."""
