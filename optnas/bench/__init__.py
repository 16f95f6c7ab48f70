"""optnas-bench: tabular benchmarks of optnas's certified space (MNIST-1D and scikit-learn digits).

Example:
    >>> import optnas.bench
    >>> df = optnas.bench.load("digits")                       # one row per (architecture, seed)
    >>> row = df.iloc[0]
    >>> bool(optnas.bench.query("digits", row["spec"], seed=int(row["seed"]))["test_metric"] == row["test_metric"])
    True
"""

from . import proxies, quality
from .simulate import Simulation, simulate
from .table import architectures, load, names, query

__all__ = ["Simulation", "architectures", "load", "names", "proxies", "quality", "query", "simulate"]
