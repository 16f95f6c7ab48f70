"""Per-spec `optnas.certify` time for the built-in blocks: cold (fresh process state, structure probe
not cached) and warm (the probe cached, as on every later draw of a search with the same block/width).

    python benchmarks/certify_time/run.py [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import optnas
from optnas.certify import structure

SPECS = [
    ("gd mlp2 relu w16 (vector)", optnas.ArchSpec(algorithm="gd", block="mlp2", width=16, depth=8), (2,)),
    ("heavy_ball mlp2 gelu w128 (vector)", optnas.ArchSpec(algorithm="heavy_ball", block="mlp2", activation="gelu",
                                                             width=128, depth=12), (64,)),
    ("nesterov mlp2 mrepu w64 (vector)", optnas.ArchSpec(algorithm="nesterov", block="mlp2", activation="mrepu",
                                                           width=64, depth=12), (40,)),
    ("proximal_point mlp2 tanh w32 (vector)", optnas.ArchSpec(algorithm="proximal_point", block="mlp2",
                                                                activation="tanh", width=32, depth=8), (2,)),
    ("heavy_ball preact_conv relu w32 3x32x32", optnas.ArchSpec(algorithm="heavy_ball", block="preact_conv",
                                                                  width=32, depth=6, stages=2), (3, 32, 32)),
    ("gd convnext gelu w32 3x32x32", optnas.ArchSpec(algorithm="gd", block="convnext", activation="gelu",
                                                       width=32, depth=4), (3, 32, 32)),
    ("gd transformer gelu w64 (16 tokens x 8)", optnas.ArchSpec(algorithm="gd", block="transformer",
                                                                  activation="gelu", width=64, depth=4), (16, 8)),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    optnas.certify(SPECS[0][1], input_shape=SPECS[0][2])  # imports and first-call setup outside the timings
    rows = []
    for name, spec, shape in SPECS:
        cold, warm = [], []
        for _ in range(args.repeats):
            structure._CACHE.clear()
            t = time.perf_counter()
            cert = optnas.certify(spec, input_shape=shape)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            optnas.certify(spec, input_shape=shape)
            warm.append(time.perf_counter() - t)
        rows.append({"spec": name, "ok": cert.ok, "cold_ms": round(1e3 * statistics.median(cold), 2),
                     "warm_ms": round(1e3 * statistics.median(warm), 2)})
        print(f"{name:45s} ok={cert.ok}  cold {rows[-1]['cold_ms']:8.2f} ms   warm {rows[-1]['warm_ms']:8.2f} ms")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
                       "torch": __import__("torch").__version__, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
