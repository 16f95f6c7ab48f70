"""The ``optnas`` command line: one module per subcommand, registered in `COMMANDS`.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``. Bad input (a
ValueError, including `optnas.errors.UsageError`, or a missing file) and a failed storage write (a full
disk: `optnas.errors.StorageWriteError`) print one line on stderr and exit 2; a negative answer (a failing
certificate, a search whose workers died short of its count) exits 1. A reader that closes stdout early
(``optnas list | head -3``) ends any command quietly, with no traceback (exit 141, as a process SIGPIPE ends).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from optnas import plugins
from optnas._validate import LINE_MAX
from optnas.errors import OptnasWarning, OutputWriteError, StorageWriteError

# name -> (module under optnas.cli, one-line help). Modules are imported lazily: `optnas list` must not
# pay for Ray or Dash.
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list_cmd", "list registered algorithms, activations, blocks, schedules or tasks"),
    "certify": ("certify_cmd", "print the universality certificate of a spec (JSON) or a search space (YAML)"),
    "search": ("search_cmd", "run a stored, resumable search over a search-space file"),
    "dashboard": ("dashboard_cmd", "serve the Plotly dashboard of the studies in a storage (read-only)"),
    "report": ("report_cmd", "write a static, self-contained HTML report of a study"),
    "export": ("export_cmd", "export a stored trial as a plain PyTorch module (model.py + safetensors weights)"),
    "theory": ("theory_cmd", "effective-theory report of an activation: critical C_b, C_W, class, depth"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own usage dump is several lines; keep bad flags to one clear line
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="optnas", description="Certified NAS over optimization-inspired networks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"optnas.cli.{module_name}")
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
        cmd.add_argument(
            "--plugin", action="append", default=[], metavar="MODULE",
            help="import MODULE first (it registers your algorithms, blocks, activations, tasks); repeatable",
        )
        cmd.set_defaults(_module=module)
    return parser


def _one_line(text: str) -> str:
    """An error as one line of at most `LINE_MAX` characters: messages echo values cut already, this is
    the backstop for any that does not (a library's message quoting a huge input)."""
    text = " ".join(text.split("\n"))
    return text if len(text) <= LINE_MAX else f"{text[: LINE_MAX - 30]}... ({len(text)} characters cut)"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that left (`| head`) shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        return _reader_gone()


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning(args.command)
        return _run(args)


def _one_line_warning(command: str) -> Any:
    """optnas's own warnings (a cut journal read) as one line on stderr; others as Python shows them."""
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *rest: Any, **kw: Any) -> None:
        if issubclass(category, OptnasWarning):
            print(f"optnas {command}: warning: {_one_line(str(message))}", file=sys.stderr, flush=True)
        else:
            shown(message, category, *rest, **kw)

    return show


def _run(args: argparse.Namespace) -> int:
    try:
        plugins.load_entry_points()
        plugins.load(args.plugin, folder=os.getcwd())  # a module the user names may sit in their folder
        return int(args._module.run(args))
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError, StorageWriteError,
            OutputWriteError) as exc:
        print(f"optnas {args.command}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"optnas {args.command}: interrupted", file=sys.stderr)
        return 130


def _reader_gone() -> int:
    """stdout's reader closed the pipe (``optnas list | head -3``): stop quietly, as `cat` does.

    What is still buffered for stdout goes to /dev/null, so the interpreter's flush at exit raises nothing;
    the exit code is the shell's for a process ended by SIGPIPE (128 + 13).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind sys.stdout (an embedding caller's stream)
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
