"""`optnas certify SPEC.json|SPACE.yaml`: print the certificate(s); exit 1 when one fails."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from optnas._shapes import as_shape
from optnas.certify import certify
from optnas.spec import ArchSpec

from .search_cmd import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="an ArchSpec as JSON, or a search-space YAML file")
    parser.add_argument("--json", action="store_true", help="print the certificate(s) as JSON")
    parser.add_argument(
        "--input-shape", default=None,
        help="e.g. 2, 3,32,32, or signal:1,40 for a 1-D signal (channels, length): also check the width lift",
    )
    parser.add_argument(
        "--limit", type=positive_int, default=None,
        help="a search space: certify at most this many corners (default 20000; the report says how many of how many)",
    )


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    kind, _, numbers = text.rpartition(":")  # "signal:1,40" is Signal(1, 40); a bare 2-tuple is tokens
    try:
        if kind not in ("", "signal"):
            raise ValueError
        return as_shape([int(v) for v in numbers.split(",")], kind or None)
    except ValueError:
        raise ValueError(
            f"--input-shape {text!r} is invalid: use comma-separated positive integers, e.g. 3,32,32, or "
            "signal:CHANNELS,LENGTH"
        ) from None


def _load_spec(path: Path) -> ArchSpec:

    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return ArchSpec.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (give an ArchSpec .json or a search-space .yaml)")
    if path.suffix in (".yaml", ".yml"):
        # lazy: loaded when this command runs (the parser imports every command's module)
        from optnas.cli._space import load_space
        from optnas.search.corners import LIMIT, check_corners

        report = check_corners(load_space(path, "certify"), args.limit or LIMIT)
        if args.json:
            print(json.dumps([c.to_dict() for c in report.certificates], indent=2, ensure_ascii=False))
        else:  # one line a distinct corner result, then the count
            print("\n".join(report.lines()))
            print(report.summary(path))
        return 0 if report.ok else 1
    if path.suffix != ".json":
        raise ValueError(f"{path}: unknown file type {path.suffix!r}; valid: .json (ArchSpec), .yaml (search space)")
    cert = certify(_load_spec(path), input_shape=_shape(args.input_shape))
    print(json.dumps([cert.to_dict()], indent=2, ensure_ascii=False) if args.json else cert.format())
    return 0 if cert.ok else 1
