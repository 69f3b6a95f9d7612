"""Campaign templates: a message with Jinja2 merge tags, plus an optional TOML header.

Two forms are read:

* an `.eml` file, optionally opened by a TOML front matter between `+++` lines::

      +++
      name = "SecureHome Plus: thank you"
      segment = "customers-with-product:SecureHome Plus"
      expected_size = 1200
      mode = "live"
      +++
      From: RevCalc <news@revcalc.io>
      To: {{ first_name }} {{ last_name }} <{{ email }}>
      Subject: Thank you for your purchase, {{ first_name }}
      ...

* a `.toml` manifest naming the parts: `subject`, `from`, `text = "body.txt"`,
  `html = "body.html"` (paths relative to the manifest), plus the same campaign keys.

Merge tags are `{{ expression }}`. Each tag occurrence is given a *sentinel*, one private-use
character, so the template can be parsed and checked once with the sentinels standing in for the
values, and each recipient's message differs from it only where a sentinel is.
"""

from __future__ import annotations

import contextlib
import email
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from jinja2 import meta, nodes

from sendguard.errors import InputError

FRONT_MATTER = re.compile(rb"\A\+\+\+[ \t]*\r?\n(.*?)^\+\+\+[ \t]*\r?\n", re.S | re.M)
META_KEYS = {"name", "segment", "expected_size", "mode"}
MANIFEST_KEYS = META_KEYS | {"subject", "from", "reply_to", "cc", "bcc", "to", "text", "html"}
MODES = ("test", "live")
# One private-use character per merge-tag occurrence; templates may not use this range themselves.
SENTINEL_BASE = 0xE000
SENTINEL_LIMIT = 0xF8FF
SENTINEL_RE = re.compile("[\ue000-\uf8ff]")
LINE_BREAKS = re.compile(r"[\r\n]+")
ANGLE_ADDR = re.compile(r"^(?P<display>.*?)\s*<(?P<addr>[^<>]*)>\s*$", re.S)
# Headers the campaign builds itself; every other header of the template is carried over.
HEADER_PART = "header:"  # parts for other templated headers (List-Unsubscribe, ...) are "header:<Name>"
BUILT_HEADERS = {"to", "subject", "mime-version", "content-type", "content-transfer-encoding"}


@dataclass(frozen=True)
class CampaignMeta:
    """What the template's header declares about the campaign (all optional)."""

    name: str | None = None
    segment: tuple[str, ...] = ()
    expected_size: int | None = None
    mode: str | None = None


@dataclass
class Expression:
    """One merge-tag occurrence: `{{ source }}` in a part, standing as `sentinel` in the parsed template."""

    index: int
    source: str  # the expression as written, e.g. "first_name | title"
    part: str  # the part it is in: "subject", "to_display", "text", "html" or "header:<Name>"
    column: str | None  # the column, when the tag is a bare name (`{{ first_name }}`)
    names: frozenset[str]  # every audience column the expression reads
    escape: bool  # rendered into HTML (autoescaped)
    compiled: jinja2.Template | None = field(default=None, repr=False)

    @property
    def sentinel(self) -> str:
        return chr(SENTINEL_BASE + self.index)

    @property
    def tag(self) -> str:
        return "{{ " + self.source + " }}"

    def render(self, row: Mapping[str, Any]) -> str:
        """What Jinja inserts for this tag (HTML-escaped in HTML). A null or absent value is undefined."""
        if self.column is not None:
            value = row.get(self.column)
            if value is None:
                return ""
            text = str(value)
            return str(markupsafe.escape(text)) if self.escape else text
        assert self.compiled is not None
        return self.compiled.render({k: row[k] for k in self.names if row.get(k) is not None})


@dataclass
class Part:
    """A templated string: static text with expressions between, or a template with statements."""

    name: str
    source: str
    pieces: list[str | Expression]  # flat templates only
    template: jinja2.Template = field(repr=False)
    flat: bool  # only `{{ }}` tags: no `{% %}` statements
    names: frozenset[str] = frozenset()  # every variable the part reads

    def with_sentinels(self) -> str:
        """The part with a sentinel for each tag; a part with statements cannot be cut into pieces,
        so it stands as rendered with no values."""
        if not self.flat:
            return self.template.render({})
        return "".join(p if isinstance(p, str) else p.sentinel for p in self.pieces)

    def render(self, row: Mapping[str, Any]) -> str:
        """The reference rendering, by Jinja itself."""
        return self.template.render({k: v for k, v in row.items() if v is not None})


@dataclass
class Template:
    path: Path
    meta: CampaignMeta
    parts: dict[str, Part]  # "subject", "to_display", "text", "html", and templated headers
    headers: list[tuple[str, str]]  # other headers, as written (unfolded, decoded)
    attachments: list[tuple[str, str, bytes, bool]]  # (filename, content type, payload, inline)
    email_column: str
    expressions: list[Expression]

    @property
    def flat(self) -> bool:
        return all(p.flat for p in self.parts.values())

    @property
    def columns(self) -> set[str]:
        return {n for p in self.parts.values() for n in p.names}

    def unsentinel(self, text: str) -> str:
        """Show a text from the parsed template with its merge tags as written."""
        return SENTINEL_RE.sub(lambda m: self.expressions[ord(m.group(0)) - SENTINEL_BASE].tag, text)

    def build(self, render: Callable[[Part], str], address: str) -> EmailMessage:
        """The message for one recipient; `render(part)` gives each part's text."""
        msg = EmailMessage()

        def header(part: str) -> str:
            # A line break in a merged header value would inject headers: it is sent as a space.
            return LINE_BREAKS.sub(" ", render(self.parts[part])) if part in self.parts else ""

        for name, value in self.headers:
            msg[name] = header(HEADER_PART + name) if HEADER_PART + name in self.parts else value
        display = header("to_display").strip()
        msg["To"] = formataddr((display, address)) if display else address
        msg["Subject"] = header("subject")
        text = render(self.parts["text"]) if "text" in self.parts else None
        html = render(self.parts["html"]) if "html" in self.parts else None
        if text is not None:
            msg.set_content(text)
            if html is not None:
                msg.add_alternative(html, subtype="html")
        elif html is not None:
            msg.set_content(html, subtype="html")
        else:
            msg.set_content("")
        for filename, ctype, payload, inline in self.attachments:
            maintype, subtype = ctype.split("/", 1)
            msg.add_attachment(
                payload,
                maintype=maintype,
                subtype=subtype,
                filename=filename,
                disposition="inline" if inline else "attachment",
            )
        return msg

    def render_message(self, row: Mapping[str, Any]) -> EmailMessage:
        """The message a recipient would get, rendered by Jinja: the reference the fast path must match."""
        address = str(row.get(self.email_column) or "").strip()
        return self.build(lambda part: part.render(row), address)

    def sentinel_message(self, probe_address: str) -> EmailMessage:
        """The template with every merge tag replaced by its sentinel, addressed to `probe_address`."""
        return self.build(lambda part: part.with_sentinels(), probe_address)


def load_template(path: str | Path, default_email_column: str = "email") -> Template:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("template not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read template: {exc.strerror}", path=path) from None
    if path.suffix.lower() == ".toml":
        meta_data, source, offset = _manifest(path, raw), None, 0
    else:
        meta_data, offset = {}, 0
        m = FRONT_MATTER.match(raw)
        if m:
            meta_data = _toml(m.group(1), path, first_line=2)
            offset = raw[: m.end()].count(b"\n")
            raw = raw[m.end() :]
        source = raw
    unknown = set(meta_data) - (MANIFEST_KEYS if source is None else META_KEYS)
    if unknown:
        allowed = ", ".join(sorted(MANIFEST_KEYS if source is None else META_KEYS))
        raise InputError(
            f"unknown key {sorted(unknown)[0]!r} in the template header (expected: {allowed})", path=path
        )
    meta = _meta(meta_data, path)
    if source is None:
        headers, bodies, attachments = _from_manifest(meta_data, path)
    else:
        headers, bodies, attachments = _from_eml(source, path, offset)
    return _compile(path, meta, headers, bodies, attachments, default_email_column)


def _toml(data: bytes, path: Path, first_line: int = 1) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("the template header is not UTF-8", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) + first_line - 1 if m else None
        raise InputError(f"invalid TOML in the template header: {exc}", path=path, line=line) from None


def _manifest(path: Path, raw: bytes) -> dict[str, Any]:
    data = _toml(raw, path)
    if "text" not in data and "html" not in data:
        raise InputError('a template manifest needs text = "body.txt" and/or html = "body.html"', path=path)
    return data


def _meta(data: dict[str, Any], path: Path) -> CampaignMeta:
    segment = data.get("segment", ())
    if isinstance(segment, str):
        segment = (segment,)
    if not isinstance(segment, (list, tuple)) or not all(isinstance(s, str) for s in segment):
        raise InputError("segment must be a string or a list of strings", path=path)
    size = data.get("expected_size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise InputError(f"expected_size must be a whole number (not {size!r})", path=path)
    mode = data.get("mode")
    if mode is not None and mode not in MODES:
        raise InputError(f'mode must be "test" or "live" (not {mode!r})', path=path)
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError("name must be a string", path=path)
    return CampaignMeta(name, tuple(segment), size, mode)


def _from_manifest(
    data: dict[str, Any], path: Path
) -> tuple[list[tuple[str, str]], dict[str, str], list[tuple[str, str, bytes, bool]]]:
    headers: list[tuple[str, str]] = []
    for key, header in (
        ("from", "From"),
        ("reply_to", "Reply-To"),
        ("cc", "Cc"),
        ("bcc", "Bcc"),
        ("to", "To"),
    ):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise InputError(f"{key} must be a string", path=path)
            headers.append((header, value))
    subject = data.get("subject", "")
    if not isinstance(subject, str):
        raise InputError("subject must be a string", path=path)
    headers.append(("Subject", subject))
    bodies: dict[str, str] = {}
    for key in ("text", "html"):
        if key in data:
            part = path.parent / str(data[key])
            try:
                bodies[key] = part.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise InputError(f"{key} file not found: {part}", path=path) from None
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read {key} file {part}: {exc}", path=path) from None
    return headers, bodies, []


def _from_eml(
    raw: bytes, path: Path, offset: int
) -> tuple[list[tuple[str, str]], dict[str, str], list[tuple[str, str, bytes, bool]]]:
    if not re.match(rb"^[!-9;-~]+:", raw.lstrip(b"\r\n")):
        raise InputError(
            "the template is not an RFC 5322 message (no header fields)", path=path, line=offset + 1
        )
    msg = email.message_from_bytes(raw, policy=policy.default)
    headers: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        if name.lower() in {"mime-version", "content-type", "content-transfer-encoding"}:
            continue
        text = re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()
        with contextlib.suppress(ValueError, LookupError, UnicodeError):  # else keep it as written
            text = str(make_header(decode_header(text)))
        headers.append((name, text))
    bodies: dict[str, str] = {}
    attachments: list[tuple[str, str, bytes, bool]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            key = "text" if ctype == "text/plain" else "html"
            if key not in bodies:
                bodies[key] = part.get_content()
                continue
        payload = part.get_payload(decode=True) or b""
        attachments.append((filename or "attachment", ctype, payload, disposition == "inline"))
    return headers, bodies, attachments


def _compile(
    path: Path,
    meta: CampaignMeta,
    headers: list[tuple[str, str]],
    bodies: dict[str, str],
    attachments: list[tuple[str, str, bytes, bool]],
    default_email_column: str,
) -> Template:
    text_env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)
    html_env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    expressions: list[Expression] = []
    parts: dict[str, Part] = {}
    kept: list[tuple[str, str]] = []
    email_column = default_email_column
    to_seen = False

    def compile_part(name: str, source: str, env: jinja2.Environment) -> None:
        if SENTINEL_RE.search(source):
            raise InputError(f"the {name} uses private-use Unicode characters (U+E000-U+F8FF)", path=path)
        parts[name] = _part(name, source, env, expressions, path)

    for name, value in headers:
        lname = name.lower()
        if lname == "to":
            if to_seen:
                raise InputError("the template has more than one To header", path=path)
            to_seen = True
            email_column = _to_header(value, path, text_env, compile_part)
        elif lname == "subject":
            compile_part("subject", value, text_env)
        elif lname in BUILT_HEADERS:
            continue
        else:
            if "{{" in value or "{%" in value:
                if lname in ("cc", "bcc", "from", "reply-to"):
                    raise InputError(
                        f"merge tags in {name} are not supported: only To carries the recipient", path=path
                    )
                compile_part(HEADER_PART + name, value, text_env)
            kept.append((name, value))
    if "text" in bodies:
        compile_part("text", bodies["text"], text_env)
    if "html" in bodies:
        compile_part("html", bodies["html"], html_env)
    if not bodies:
        raise InputError("the template has no text or HTML body", path=path)
    if len(expressions) > SENTINEL_LIMIT - SENTINEL_BASE:
        raise InputError(
            f"the template has {len(expressions)} merge tags; at most 6,399 are supported", path=path
        )
    return Template(path, meta, parts, kept, attachments, email_column, expressions)


def _to_header(value: str, path: Path, env: jinja2.Environment, compile_part: Any) -> str:
    """`To: {{ first_name }} <{{ email }}>` -> the email column; the display name becomes a part."""
    m = ANGLE_ADDR.match(value)
    display, addr = (m.group("display"), m.group("addr")) if m else ("", value)
    tag = re.fullmatch(r"\s*\{\{-?\s*([A-Za-z_]\w*)\s*-?\}\}\s*", addr)
    if tag is None:
        raise InputError(
            f"To must be the recipient's address as a merge tag, e.g. To: {{{{ first_name }}}} <{{{{ email }}}}> (not {value!r})",
            path=path,
        )
    display = display.strip().strip('"')
    if display:
        compile_part("to_display", display, env)
    return tag.group(1)


def _part(name: str, source: str, env: jinja2.Environment, expressions: list[Expression], path: Path) -> Part:
    try:
        tree = env.parse(source)
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            f"merge tag syntax error in the {name}: {exc.message}", path=path, line=exc.lineno
        ) from None
    flat = all(isinstance(node, nodes.Output) for node in tree.body)
    pieces: list[str | Expression] = []
    if flat:
        sources = iter(_tag_sources(env, source))
        for output in tree.body:
            for node in output.nodes:  # type: ignore[attr-defined]
                if isinstance(node, nodes.TemplateData):
                    pieces.append(node.data)
                    continue
                expr_source = next(sources)
                column = node.name if isinstance(node, nodes.Name) else None
                names = frozenset(n.name for n in node.find_all(nodes.Name) if n.ctx == "load") | (
                    {node.name} if isinstance(node, nodes.Name) else frozenset()
                )
                compiled = None if column is not None else env.from_string("{{ " + expr_source + " }}")
                expr = Expression(
                    len(expressions), expr_source, name, column, names, bool(env.autoescape), compiled
                )
                expressions.append(expr)
                pieces.append(expr)
    return Part(name, source, pieces, template, flat, frozenset(meta.find_undeclared_variables(tree)))


def _tag_sources(env: jinja2.Environment, source: str) -> list[str]:
    """The text of each `{{ ... }}` tag in order, as written (the lexer keeps whitespace tokens)."""
    out: list[str] = []
    current: list[str] | None = None
    for _, kind, value in env.lex(source):
        if kind == "variable_begin":
            current = []
        elif kind == "variable_end" and current is not None:
            out.append("".join(current).strip())
            current = None
        elif current is not None:
            current.append(value)
    return out
