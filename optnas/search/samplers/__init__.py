"""optnas's own Optuna samplers: strong NAS baselines usable in a space file (``sampler: {name: ...}``).

- `EvolutionSampler` (``evolution``): regularized evolution (Real et al. 2019).
- `LocalSearchSampler` (``local``): best-first local search, neighbours differing in one choice.

Both are written on Optuna's public sampler API, honour a ``constraints_func`` and keep no search state
in process memory (several worker processes may share one study).
"""

from .evolution import EvolutionSampler
from .local import LocalSearchSampler

__all__ = ["EvolutionSampler", "LocalSearchSampler"]
