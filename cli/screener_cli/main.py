"""`screener`: screen photos locally, invoke a template function without Docker, run the demo, work review/.

Each command lives in its own module exposing ``add_parser(subparsers)``; a new command is one
more module in COMMANDS.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("screen", "invoke", "demo", "backfill", "review")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="screener", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"screener_cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `screener screen ... | head`
        sys.stderr.close()
        return 0
