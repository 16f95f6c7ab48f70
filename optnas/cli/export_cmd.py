"""`optnas export`: write a stored trial as a plain PyTorch module (model.py + weights.safetensors + JSON)."""

from __future__ import annotations

import argparse
import sys

from ._trust import add_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=None, metavar="URL",
                        help="journal file path or RDB URL (default: ./optnas-runs/journal.log)")
    parser.add_argument("--study", required=True, metavar="NAME", help="the study (search) name")
    parser.add_argument("--trial", default="best", metavar="best|NUMBER",
                        help="'best' (default) or a trial number. best: the best value of --objective, ties "
                             "broken by the other objectives in order, then the lower trial number (Pareto-optimal)")
    parser.add_argument("--objective", default=None, metavar="NAME",
                        help="the objective that picks 'best' (default: the study's first, the task metric)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (must be empty or new unless --force)")
    parser.add_argument("--format", default="", dest="formats", metavar="pt2,onnx",
                        help="extra formats, comma-separated: pt2 (torch.export), onnx (needs onnx, onnxscript)")
    parser.add_argument("--force", action="store_true", help="overwrite an earlier export in a non-empty --out")
    parser.add_argument("--retrain", action="store_true",
                        help="for a trial stored without weights: train its spec again with the study's task "
                             "and budget, then export")
    parser.add_argument("--device", default="auto", help="device for --retrain: auto, cpu or cuda (default auto)")
    add_flag(parser)


def run(args: argparse.Namespace) -> int:
    # lazy: loaded when this command runs (the parser imports every command's module)
    from optnas.export import export_trial

    done = export_trial(
        args.storage, args.study, args.trial, out=args.out, objective=args.objective, force=args.force,
        retrain=args.retrain, formats=args.formats, device=args.device, trust_plugins=args.trust_plugins,
    )
    source = done.info.get("source", {})
    values = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in source.get("values", {}).items()
    )
    print(f"exported trial {source.get('trial')} of study {args.study!r}" + (f" ({values})" if values else "")
          + f" to {done.out}")
    print(f"  files: {', '.join(done.files)}")
    print(f"  checked: loaded back, outputs match the stored network within {done.max_abs_diff:.2g}")
    for name, reason in done.skipped.items():
        print(f"optnas export: note: {name} not written: {reason}", file=sys.stderr)
    return 0
