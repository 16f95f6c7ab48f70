"""The Ray Tune backend's parts (entry point: `optnas.search.ray_backend.run_ray_search`).

- `cluster`: flags, joining or starting Ray, per-trial resources, where Ray keeps its experiments;
- `driver`: the searcher, callback and schedulers that map Ray trials onto the Optuna study (driver side);
- `worker`: the trainable that trains one trial with checkpoints (worker side);
- `run`: one search: the Tune experiment, fresh or restored for ``--resume``.

This package imports Ray; `optnas.search` does not, so the optuna backend never pays for it.
"""
