"""Fetch, here, the wheels the GPU machine lacks into ``.whl/`` (it reaches no package index), slimmed to fit.

The H200 image (/work/.library/device/KINDS.md) has torch, numpy, scipy, pandas, pyarrow, scikit-learn,
safetensors, pyyaml, rich, pytest and nvidia-ml-py, but not optuna, ray, pydantic or their own needs. The
versions are this machine's, so the GPU run uses the code the tests here ran. The tree that travels with
``run`` holds at most 64 MiB: ray's wheel (~76 MiB) is repacked without its Java jar, RLlib, Serve, the LLM
library and the dashboard's web client, none of which a Tune search loads, and recompressed with LZMA
(~29 MiB; minutes of CPU here, once).

    echo /.whl/ >> .git/info/exclude && python benchmarks/gpu/wheels.py      # then carry ".whl" in run
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEST = REPO / ".whl"
# what optnas (core, ray extra) and the benchmark import that the image lacks, and what those need in turn
NEEDED = ("optuna", "alembic", "sqlalchemy", "mako", "colorlog", "pydantic", "pydantic-core", "annotated-types",
          "typing-inspection", "ray", "jsonschema", "jsonschema-specifications", "referencing", "rpds-py",
          "tensorboardx")
DROP = ("ray/jars/", "ray/rllib/", "ray/serve/", "ray/llm/", "ray/dashboard/client/", "ray/tests/")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")


def download(names: tuple[str, ...]) -> None:
    pins = [f"{n}=={importlib.metadata.version(n)}" for n in names]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(DEST), *pins],
                   check=True)


def slim(wheel: Path) -> None:
    """Rewrite ``wheel`` without the DROP folders, its RECORD listing only what is left."""
    out = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w") as dst:
        record_name = next(n for n in src.namelist() if n.endswith(".dist-info/RECORD"))
        kept = [i for i in src.infolist() if not i.filename.startswith(DROP) and i.filename != record_name]
        lines = []
        for info in kept:
            data = src.read(info)
            # LZMA takes ray from 40 to 29 MiB (pip unpacks it with zipfile); the ZipInfo keeps the mode bits that
            # make gcs_server and raylet executable
            info.compress_type = zipfile.ZIP_LZMA
            dst.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            lines.append(f"{info.filename},sha256={digest},{len(data)}")
        lines.append(f"{record_name},,")
        dst.writestr(record_name, "\n".join(lines) + "\n")
    out.replace(wheel)


def main() -> int:
    DEST.mkdir(exist_ok=True)
    download(NEEDED)
    for wheel in DEST.glob("ray-*.whl"):
        slim(wheel)
    total = sum(p.stat().st_size for p in DEST.glob("*.whl"))
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    tree = sum((REPO / f).stat().st_size for f in tracked.decode().split("\0") if f and (REPO / f).is_file())
    print(f"{DEST}: {len(list(DEST.glob('*.whl')))} wheels, {total / 2**20:.1f} MiB; tracked tree "
          f"{tree / 2**20:.1f} MiB; together {(total + tree) / 2**20:.1f} MiB of the 64 MiB that may travel")
    return 0 if total + tree < 62 * 2**20 else 1


if __name__ == "__main__":
    sys.exit(main())
