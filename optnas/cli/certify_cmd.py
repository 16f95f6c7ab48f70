"""`optnas certify SPEC.json|SPACE.yaml`: print the certificate(s); exit 1 when one fails."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from optnas.spec import ArchSpec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="an ArchSpec as JSON, or a search-space YAML file")
    parser.add_argument("--json", action="store_true", help="print the certificate(s) as JSON")
    parser.add_argument("--input-shape", default=None, help="e.g. 2 or 3,32,32: also check the width lift")


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--input-shape {text!r} is invalid: use comma-separated integers, e.g. 3,32,32") from None


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
    from optnas.certify import certify

    path: Path = args.path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (give an ArchSpec .json or a search-space .yaml)")
    if path.suffix in (".yaml", ".yml"):
        from optnas.cli._space import load_space

        certificates = load_space(path, "certify").certificates()
    elif path.suffix == ".json":
        certificates = [certify(_load_spec(path), input_shape=_shape(args.input_shape))]
    else:
        raise ValueError(f"{path}: unknown file type {path.suffix!r}; valid: .json (ArchSpec), .yaml (search space)")
    if args.json:
        print(json.dumps([c.to_dict() for c in certificates], indent=2, ensure_ascii=False))
    elif len(certificates) == 1:
        print(certificates[0].format())
    else:  # a search space: one line per corner of the space, then the count
        print("\n".join(c.summary() for c in certificates))
        failing = sum(not c.ok for c in certificates)
        print(f"{len(certificates) - failing} of {len(certificates)} corners of {path} certified")
    return 0 if all(c.ok for c in certificates) else 1
