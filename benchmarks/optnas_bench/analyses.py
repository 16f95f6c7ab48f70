"""Rerun the table analyses on every table with data and regenerate the README: one command for a new table.

    python benchmarks/optnas_bench/analyses.py     # proxies.py, screen.py, papers.py, then report.py

The search strategies (search.py) are run apart: they take hours.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import papers
import proxies
import report
import screen

if __name__ == "__main__":
    for step in (proxies, screen, papers, report):
        step.main()
