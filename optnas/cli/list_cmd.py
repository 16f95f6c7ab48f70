"""`optnas list [KIND]`: the registered names of each family, with one line of description."""

from __future__ import annotations

import argparse
import importlib

FAMILIES = ("algorithms", "activations", "blocks", "schedules", "tasks")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=FAMILIES, help="which registry (default: all)")


def _summary(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else ""


def run(args: argparse.Namespace) -> int:
    for family in [args.kind] if args.kind else FAMILIES:
        registry = importlib.import_module(f"optnas.{family}")
        print(f"{family}:")
        for name in registry.names():
            entry = registry.entry(name)
            kind = getattr(entry, "kind", None)
            tag = f" [{kind}]" if family == "schedules" and kind else ""
            implicit = " [implicit]" if getattr(entry, "implicit", False) else ""
            print(f"  {name:<20}{tag}{implicit} {_summary(entry)}".rstrip())
    return 0
