"""sendguard.toml -> Config. Every error names the file and, where it can, the line."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sendguard.errors import ConfigError

CONFIG_ENV = "SENDGUARD_CONFIG"
DEFAULT_NAME = "sendguard.toml"

# Keys of the core sections. Shells (campaign, relay, console) validate their own sections with
# `Config.section(name, allowed)`, so a typo there is caught too.
CORE_KEYS: dict[str, set[str]] = {
    "organization": {"name", "internal_domains", "mailing_lists", "currency", "max_message_mb"},
    "directory": {"accounts", "contacts", "url", "accounts_query", "contacts_query"},
    "ledger": {"path", "url", "query"},
    "vocabulary": {"words", "file"},
}
SHELL_SECTIONS = {"rules", "campaign", "relay", "console", "incident"}


@dataclass
class Config:
    path: Path
    data: dict[str, Any]
    text: str = field(repr=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @classmethod
    def load(cls, path: str | Path | None = None) -> Config:
        resolved = locate(path)
        try:
            text = resolved.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("config file not found", path=resolved) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc}", path=resolved) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = _toml_error_line(str(exc))
            raise ConfigError(f"invalid TOML: {exc}", path=resolved, line=line) from None
        config = cls(resolved, data, text)
        config._validate_core()
        return config

    def _validate_core(self) -> None:
        for section, value in self.data.items():
            if section not in CORE_KEYS and section not in SHELL_SECTIONS:
                known = ", ".join(sorted([*CORE_KEYS, *SHELL_SECTIONS]))
                raise self.error(f"unknown section [{section}] (known: {known})", section=section)
            if not isinstance(value, dict):
                raise self.error(f"[{section}] must be a table", section=section)
        for section, allowed in CORE_KEYS.items():
            self.section(section, allowed)
        if "organization" not in self.data:
            raise self.error("missing [organization] section (name, internal_domains)")

    def section(self, name: str, allowed: set[str] | None = None) -> dict[str, Any]:
        """The table `[name]` ({} when absent); with `allowed`, an unknown key is an error."""
        table = self.data.get(name, {})
        if allowed is not None:
            for key in table:
                if key not in allowed:
                    raise self.error(
                        f"unknown key {key!r} in [{name}] (expected one of: {', '.join(sorted(allowed))})",
                        section=name,
                        key=key,
                    )
        return table

    def get(self, section: str, key: str, expected: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.data.get(section, {}).get(key, default)
        if value is not None and not isinstance(value, expected):
            names = (
                expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
            )
            raise self.error(
                f"[{section}] {key} must be a {names} (not {type(value).__name__} {value!r})",
                section=section,
                key=key,
            )
        return value

    def resolve_path(self, value: str) -> Path:
        """Paths in the config are relative to the config file."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def error(self, reason: str, *, section: str | None = None, key: str | None = None) -> ConfigError:
        return ConfigError(reason, path=self.path, line=self.line_of(section, key))

    def line_of(self, section: str | None, key: str | None = None) -> int | None:
        """Best-effort line number of `[section]` or of `key` inside it (tomllib keeps none)."""
        if section is None:
            return None
        lines = self.text.splitlines()
        header = re.compile(r"^\s*\[\s*" + re.escape(section).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        any_header = re.compile(r"^\s*\[")
        start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
        if start is None:
            return None
        if key is None:
            return start + 1
        key_re = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for i in range(start + 1, len(lines)):
            if any_header.match(lines[i]):
                break
            if key_re.match(lines[i]):
                return i + 1
        return start + 1


def locate(path: str | Path | None) -> Path:
    """--config, else $SENDGUARD_CONFIG, else ./sendguard.toml."""
    if path is not None:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    candidate = Path.cwd() / DEFAULT_NAME
    if candidate.exists():
        return candidate
    raise ConfigError(f"no config given: pass --config PATH, set {CONFIG_ENV}, or create ./{DEFAULT_NAME}")


def _toml_error_line(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def rule_settings(config: Config) -> Mapping[str, dict[str, Any]]:
    """`[rules.<id>]` tables, each a dict of options (including `severity`)."""
    rules = config.section("rules")
    for rule_id, table in rules.items():
        if not isinstance(table, dict):
            raise config.error(f"[rules] {rule_id} must be a table like [rules.{rule_id}]", section="rules")
    return rules
