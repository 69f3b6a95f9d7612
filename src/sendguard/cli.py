"""The `sendguard` command line: check, scan, rules, explain (and the shells' commands)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from rich.console import Console

from sendguard import __doc__ as package_doc
from sendguard.errors import InputError, SendguardError
from sendguard.guard import Guard, load
from sendguard.render import print_report, print_summary
from sendguard.report import Report
from sendguard.rules import RULES

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"sendguard: {message} (see `{self.prog} --help`)\n")


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="PATH", help="sendguard.toml (default: $SENDGUARD_CONFIG or ./sendguard.toml)"
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; `command` names the subcommand about to run, so only its shell is loaded."""
    parser = _Parser(prog="sendguard", description=(package_doc or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check .eml messages before they are sent")
    add_config_option(check)
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=cmd_check)

    scan = sub.add_parser("scan", help="run the guard over an archive of sent mail (maildir, mbox or folder)")
    add_config_option(scan)
    scan.add_argument("archive", metavar="MAILDIR|MBOX|DIR")
    scan.add_argument("--format", choices=("text", "json"), default="text")
    scan.add_argument("--limit", type=int, default=None, help="check at most N messages")
    scan.add_argument("--examples", type=int, default=5, help="worst examples to show per rule")
    scan.set_defaults(run=cmd_scan)

    vocabulary = sub.add_parser(
        "vocabulary", help="propose [vocabulary] words from an archive of your own sent mail"
    )
    add_config_option(vocabulary)
    vocabulary.add_argument("archive", metavar="MAILDIR|MBOX|DIR")
    vocabulary.add_argument(
        "--min-messages", type=int, default=3, help="learn a word reported in at least N messages (3)"
    )
    vocabulary.add_argument("--output", metavar="FILE", help="write the list here instead of stdout")
    vocabulary.set_defaults(run=cmd_vocabulary)

    rules = sub.add_parser("rules", help="list the rules with their id, severity and summary")
    rules.add_argument("--config", metavar="PATH", help="show severities as configured in this file")
    rules.set_defaults(run=cmd_rules)

    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule_id", metavar="ID")
    explain.set_defaults(run=cmd_explain)

    _add_shells(sub, command)
    return parser


# The shells' commands: command -> (module with `register(subparsers)`, one-line help). Only the shell
# being run is imported, so `sendguard check` does not pay for Dask, SQLAlchemy or FastAPI.
SHELLS = {
    "campaign": ("sendguard.campaign.cli", "campaign pre-flight: check a template against its audience"),
    "relay": ("sendguard.relay.cli", "SMTP relay in front of your mail server: forwards, holds or refuses"),
    "queue": ("sendguard.relay.cli", "the relay's queue: list, show, release, discard, recall, log"),
    "console": ("sendguard.console.cli", "web console to review held mail"),
}


def _add_shells(sub: argparse._SubParsersAction, command: str | None) -> None:
    if command in SHELLS:
        importlib.import_module(SHELLS[command][0]).register(sub)
    for name, (_, help_text) in SHELLS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)  # named for --help; built in full only when run


def cmd_check(args: argparse.Namespace) -> int:
    guard = load(args.config)
    reports: list[Report] = []
    errors: list[InputError] = []
    for path in args.files:
        try:
            reports.append(guard.check(path))
        except InputError as exc:
            errors.append(exc)
    if args.format == "json":
        out = {"results": [r.to_dict() for r in reports]}
        if errors:
            out["errors"] = [{"path": e.path, "error": e.reason} for e in errors]
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        console = Console(highlight=False)
        for report in reports:
            print_report(console, report)
        if len(args.files) > 1:
            print_summary(console, reports, len(errors))
    for e in errors:
        print(f"sendguard: {e.one_line()}", file=sys.stderr)
    if errors:
        return EXIT_USAGE
    worst = {r.verdict for r in reports}
    if "block" in worst or (args.strict and "warn" in worst):
        return EXIT_BLOCKED
    return EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    from sendguard.scan import run_scan

    return run_scan(
        load(args.config), args.archive, fmt=args.format, limit=args.limit, examples=args.examples
    )


def cmd_vocabulary(args: argparse.Namespace) -> int:
    from sendguard.vocabulary import run_vocabulary

    return run_vocabulary(load(args.config), args.archive, min_messages=args.min_messages, output=args.output)


def cmd_rules(args: argparse.Namespace) -> int:
    severities = {r.id: r.default_severity for r in RULES}
    if args.config:
        guard: Guard = load(args.config)
        configured = {r.id: r.severity for r in guard.rules}
        severities = {rid: configured.get(rid, "off") for rid in severities}
    width = max(len(r.id) for r in RULES)
    for rule in RULES:
        print(f"{rule.id:<{width}}  {str(severities[rule.id]):<5}  {rule.summary()}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    for rule in RULES:
        if rule.id == args.rule_id:
            print(f"{rule.id} (default severity: {rule.default_severity})\n")
            print(rule.doc())
            return EXIT_OK
    known = ", ".join(r.id for r in RULES)
    print(f"sendguard: unknown rule {args.rule_id!r} (known: {known})", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SendguardError as exc:
        print(f"sendguard: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sendguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
