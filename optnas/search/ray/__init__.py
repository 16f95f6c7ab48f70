"""The Ray Tune backend's parts (entry point: `optnas.search.ray_backend.run_ray_search`).

- `cluster`: flags, joining or starting Ray, per-trial resources, where Ray keeps its experiments;
- `bridge`: `OptunaBridge`, the Ray searcher that asks the Optuna study and draws certified specs;
- `writer`: `StudyWriter`, the Ray callback that records and tells each trial (the only storage writer);
- `schedulers`: ASHA for one objective, the dominance rule for several;
- `session`: the state of one run that those three share (bound around ``tuner.fit()``);
- `worker`: the trainable that trains one trial with checkpoints (worker side, the Ray workers' entry point);
- `run`: one search: the Tune experiment, fresh or restored for ``--resume``;
- `user_searcher`: `searcher(space, storage=, study=)`, optnas as the search algorithm of your own Tune job.

This package imports Ray; `optnas.search` does not, so the optuna backend never pays for it.
"""

from .user_searcher import OptnasSearcher, searcher

__all__ = ["OptnasSearcher", "searcher"]
