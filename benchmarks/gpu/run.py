"""The GPU benchmark in one run (benchmarks/gpu/README.md): GPU tests, training throughput and MFU, trial
packing; writes results.json here (and to $OUT when set).

    python benchmarks/gpu/run.py                          # on a CUDA machine: the full run, under 10 minutes
    python benchmarks/gpu/run.py --tiny --device cpu      # the same code at a tiny size (the tests run this)

Sections run in order, each within its share of ``--budget-s``; a measurement that does not fit is recorded as
skipped with the reason, one that fails is recorded with its error, and results.json is written in any case.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(HERE), str(REPO)]  # the sections beside this file; optnas from this tree if not installed
# ... and for the processes the sections start (pytest, `python -m optnas search`, Ray's workers)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)

import gpu_tests  # noqa: E402
import packing  # noqa: E402
import throughput  # noqa: E402
import torch  # noqa: E402
from _common import device_info, measure_peak, versions, write_synthetic_cifar  # noqa: E402

SECTIONS = ("gpu_tests", "throughput", "packing")
# shares of the budget, in run order (packing is the longest: 4 searches of 16 trials)
SHARES = {"gpu_tests": 0.2, "throughput": 0.37, "packing": 0.43}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: the CPU check of this script")
    p.add_argument("--budget-s", type=float, default=None, help="wall budget of all sections (default 540, tiny 300)")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--packing", default="ray,optuna", help="backends of the packing section: ray, optuna or both")
    p.add_argument("--out", type=Path, default=HERE / "results.json", help="results file (default: beside this)")
    args = p.parse_args(argv)
    if os.environ.get("OPTNAS_GPU_BENCH_TINY") == "1":
        args.tiny = True
    bad = sorted(set(args.sections.split(",")) - set(SECTIONS))
    if bad:
        p.error(f"--sections {args.sections!r}: unknown {bad}; valid: {', '.join(SECTIONS)}")
    bad = sorted(set(args.packing.split(",")) - {"ray", "optuna"})
    if bad:
        p.error(f"--packing {args.packing!r}: unknown {bad}; valid: ray, optuna")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        print("run.py: --device cuda, but torch sees no CUDA device here (use --tiny --device cpu)", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cpu":  # tiny CPU models: intra-op threads only contend (tests/training/conftest.py)
        torch.set_num_threads(1)
    budget = args.budget_s or (300.0 if args.tiny else 540.0)
    start = time.monotonic()
    sections = [s for s in SECTIONS if s in args.sections.split(",")]
    record: dict[str, Any] = {
        "benchmark": "optnas GPU path: GPU tests, CIFAR-10-shaped training throughput and MFU, trial packing",
        "command": "python benchmarks/gpu/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "tiny": args.tiny,
        "budget_s": budget,
        "device": device_info(device),
        "versions": versions(),
    }
    with tempfile.TemporaryDirectory(prefix="optnas-gpu-bench-") as tmp:
        work = Path(tmp)
        root = write_synthetic_cifar(work / "cifar", *((160, 40) if args.tiny else (20000, 2000)))
        record["data"] = f"synthetic CIFAR-10 binary batches written locally ({root.name}/, _common.py)"
        peak = measure_peak(device)
        record["peak"] = peak
        used = 0.0
        for name in SECTIONS:
            if name not in sections:
                record[name] = {"skipped": "not asked for (--sections)"}
                continue
            used += SHARES[name] / sum(SHARES[s] for s in sections)
            deadline = start + budget * used
            begin = time.monotonic()
            print(f"run.py: {name} (until {deadline - start:.0f} s of {budget:.0f} s)", flush=True)
            record[name] = _section(name, args, device, work, root, deadline, peak)
            record[name]["section_s"] = round(time.monotonic() - begin, 2)
    record["wall_s"] = round(time.monotonic() - start, 2)
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    args.out.write_text(text)
    if os.environ.get("OUT"):
        shutil.copy(args.out, Path(os.environ["OUT"]) / "results.json")
    print(json.dumps(_headline(record), indent=2))
    return 0


def _section(name: str, args: argparse.Namespace, device: torch.device, work: Path, root: Path, deadline: float,
             peak: dict[str, Any]) -> dict[str, Any]:
    if name == "gpu_tests":
        return gpu_tests.run(work, device=device.type, tiny=args.tiny, deadline=deadline)
    if name == "throughput":
        import optnas.tasks

        task = optnas.tasks.get("cifar10", root=str(root), augment=True)
        return throughput.run(task, device, tiny=args.tiny, deadline=deadline, peak_tflops=peak["mfu_peak_tflops"])
    return packing.run(root, work, cuda=device.type == "cuda", tiny=args.tiny,
                       include=set(args.packing.split(",")), deadline=deadline)


def _headline(record: dict[str, Any]) -> dict[str, Any]:
    """The numbers the README reports against."""
    tests = record.get("gpu_tests", {})
    return {
        "device": record["device"].get("name"),
        "gpu_tests": {k: {c: v.get(c) for c in ("passed", "failed", "errors", "skipped")}
                      for k, v in tests.items() if isinstance(v, dict)},
        "throughput": record.get("throughput", {}).get("summary"),
        "packing": record.get("packing", {}).get("summary"),
        "wall_s": record["wall_s"],
    }


if __name__ == "__main__":
    sys.exit(main())
