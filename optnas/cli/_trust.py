"""``--trust-plugins``: the one flag that lets a command import the plugin modules a study names."""

from __future__ import annotations

import argparse

HELP = ("import the plugin modules the study records (printed first); only for a storage you trust: a "
        "study's list is data anyone who can write the storage can set. Prefer --plugin MODULE")


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-plugins", action="store_true", help=HELP)
