"""Which shipped rows retrain to their numbers with this machine's own kernels, and with oneMKL's Intel ones.

A diagnosis, not part of optnas: torch's CPU wheel links oneMKL, which takes another code path for its
matrix products on a CPU it does not find to be Intel's. To run the Intel path on an AMD CPU this script
preloads a two-line library that answers oneMKL's internal vendor check (`mkl_serv_intel_cpu_true`: not an
API, it may stop working with another oneMKL; it needs gcc). Each row is retrained with `optnas.train`, its
own ``train`` options and one thread, as tests/bench does, and compared on every stored curve. Output of the
run of 2026-12-07 on a 2-core AMD EPYC (Zen 4): arithmetic_check.txt.
    python benchmarks/optnas_bench/arithmetic_check.py [--rows 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHIM = "int mkl_serv_intel_cpu_true(void) { return 1; }\nint mkl_serv_intel_cpu(void) { return 1; }\n"
TABLES = ("mnist1d", "digits", "mnist1d_signal")


def worker(rows: int) -> None:
    import torch

    import optnas
    import optnas.bench
    from optnas.bench.arithmetic import arithmetic

    torch.set_num_threads(1)
    print("arithmetic", arithmetic(), flush=True)
    for name in TABLES:
        df = optnas.bench.load(name)
        for idx, row in df[df["status"] == "complete"].sample(rows, random_state=3).iterrows():
            kwargs = dict(row["train"])
            task = optnas.tasks.get(kwargs["task"]["name"], **kwargs.pop("task")["params"])
            r = optnas.train(row["spec"], task, device="cpu", **kwargs)
            loss = max(abs(a - b) for a, b in zip(r.curves["train_loss"], row["train_loss"], strict=True))
            acc = max(abs(a - b) for a, b in zip(r.curves["val_metric"], row["val_curve"], strict=True))
            same = loss <= 5e-7 and acc <= 5e-7  # the stored numbers have 6 decimals
            print(json.dumps({"table": name, "row": int(idx), "algorithm": row["spec"]["algorithm"],
                              "val_metric": [r.metrics["val_metric"], row["val_metric"]],
                              "max_loss_diff": float(f"{loss:.2g}"), "max_val_diff": float(f"{acc:.2g}"),
                              "reproduces": same}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4, help="trained rows sampled per table")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.rows)
    tmp = Path(tempfile.mkdtemp())
    (tmp / "intel.c").write_text(SHIM)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp / "intel.so"), str(tmp / "intel.c")], check=True)
    modes = (("this machine's own kernels", {}), ("oneMKL's Intel code path", {"LD_PRELOAD": str(tmp / "intel.so")}))
    for label, env in modes:
        print(f"== {label}", flush=True)
        out = subprocess.run([sys.executable, __file__, "--worker", "--rows", str(args.rows)],
                             env={**os.environ, **env}, capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            if line.startswith("arithmetic"):
                print(line)
                continue
            r = json.loads(line)
            print(f"{r['table']:15} row {r['row']:5} {r['algorithm']:17} val {r['val_metric'][0]:.6f} "
                  f"(stored {r['val_metric'][1]:.6f})  max |loss diff| {r['max_loss_diff']:.1e}  "
                  f"max |val diff| {r['max_val_diff']:.1e}  {'reproduces' if r['reproduces'] else 'DIFFERS'}")


if __name__ == "__main__":
    main()
