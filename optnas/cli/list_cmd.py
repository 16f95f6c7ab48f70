"""`optnas list [KIND]`: every registered name of each family, its description and its parameters with ranges."""

from __future__ import annotations

import argparse
import importlib

FAMILIES = ("algorithms", "activations", "blocks", "schedules", "tasks")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=FAMILIES, help="which registry (default: all)")


def run(args: argparse.Namespace) -> int:
    for family in [args.kind] if args.kind else FAMILIES:
        registry = importlib.import_module(f"optnas.{family}")
        print(f"{family}:")
        for name in registry.names():
            entry, info = registry.entry(name), registry.describe(name)
            kind = getattr(entry, "kind", None)
            tags = f" [{kind}]" if family == "schedules" and kind else ""
            tags += " [implicit]" if getattr(entry, "implicit", False) else ""
            print(f"  {name}{tags}: {info.description or '(no description)'}")
            for param in info.params:
                print(f"      {param}")
    return 0
