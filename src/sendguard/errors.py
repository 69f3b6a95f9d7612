"""Errors sendguard reports to a person instead of a traceback.

SendguardError            exit code 2, printed as one line
├── ConfigError           sendguard.toml or a file/table it names is wrong (file, line)
└── InputError            a message or data file cannot be read or parsed (path, reason)
"""

from __future__ import annotations

from pathlib import Path


class SendguardError(Exception):
    """Base class: a problem a user can fix, reported in one line with exit code 2."""

    exit_code = 2

    def __init__(self, reason: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple:
        # Errors raised in campaign or check worker processes cross back pickled: keep path and line.
        return (_rebuild, (type(self), self.reason, self.path, self.line))

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.reason


class ConfigError(SendguardError):
    """The configuration, or a directory/ledger source it points at, is unusable."""


class InputError(SendguardError):
    """A message, archive or data file could not be read."""


def _rebuild(cls: type[SendguardError], reason: str, path: str | None, line: int | None) -> SendguardError:
    return cls(reason, path=path, line=line)
