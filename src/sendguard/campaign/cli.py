"""`sendguard campaign check TEMPLATE AUDIENCE`: campaign pre-flight on the command line.

Exit codes as `sendguard check`: 0 the campaign may be sent (to the recipients not held), 1 it is
blocked, 2 the input or configuration is unusable.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_BLOCKED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    campaign = subparsers.add_parser("campaign", help="campaign pre-flight: a template and its audience")
    commands = campaign.add_subparsers(dest="campaign_command", required=True, parser_class=type(campaign))
    check = commands.add_parser(
        "check",
        help="check a campaign template against its audience before sending",
        description="Check a campaign template (.eml with a +++ TOML header, or a .toml manifest) against its "
        "audience (CSV, Parquet or a SQL query). Exit 0: may be sent to the recipients not held; 1: blocked; 2: unusable input.",
    )
    check.add_argument("template", metavar="TEMPLATE")
    check.add_argument(
        "audience", metavar="AUDIENCE", help="CSV or Parquet file (one row per recipient), or sql:QUERY"
    )
    check.add_argument(
        "--config", metavar="PATH", help="sendguard.toml (default: $SENDGUARD_CONFIG or ./sendguard.toml)"
    )
    check.add_argument("--mode", choices=("test", "live"), help="default: the template's mode, else live")
    check.add_argument("--engine", choices=("local", "dask"), default="local")
    check.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (default: a LocalCluster)")
    check.add_argument("--workers", type=_count(1), metavar="N", help="processes (default: all cores)")
    check.add_argument(
        "--segment",
        action="append",
        metavar="COND",
        help="COLUMN=VALUE, COLUMN~VALUE (list column contains) or a named segment; repeatable, all must hold",
    )
    check.add_argument(
        "--expect-size", type=_count(0), metavar="N", help="expected audience size (volume guard)"
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--no-progress", action="store_true", help="no progress bar")
    check.set_defaults(run=cmd_campaign_check)


def _count(minimum: int):  # noqa: ANN202 - an argparse type
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number (not {text!r})") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (not {value})")
        return value

    return parse


def cmd_campaign_check(args: argparse.Namespace) -> int:
    from rich.console import Console

    from sendguard.campaign.report import print_campaign
    from sendguard.guard import load

    guard = load(args.config)
    report = guard.check_campaign(
        args.template,
        args.audience,
        mode=args.mode,
        segment=args.segment,
        expect_size=args.expect_size,
        engine=args.engine,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress and args.format == "text",
    )
    if args.format == "json":
        json.dump(report.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_campaign(Console(highlight=False), report)
    return EXIT_BLOCKED if report.verdict == "block" else EXIT_OK
