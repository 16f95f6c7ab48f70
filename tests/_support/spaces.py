"""The small search spaces the search, Ray and artifact tests run: a real task, real training, 1-3 epochs.

    >>> "trials: 4" in FAST and "epochs: 2" in FAST
    True
    >>> "trials: 1" in fast_space(trials=1)
    True
"""

from __future__ import annotations


def fast_space(*, epochs: int = 2, trials: int = 4, n_samples: int = 300) -> str:
    """A space of two algorithms, two activations, depth 2-3 and width 4 or 8 on 300 rings samples."""
    return f"""
task: {{name: rings, params: {{n_samples: {n_samples}}}}}
train: {{epochs: {epochs}, batch_size: 64, lr: 0.01}}
space:
  algorithm: {{gd: {{}}, heavy_ball: {{beta: {{low: 0.0, high: 0.9}}}}}}
  block: {{mlp2: {{hidden: 8}}}}
  activation: [relu, tanh]
  depth: {{low: 2, high: 3}}
  width: [4, 8]
pruner: {{name: none}}
trials: {trials}
"""


FAST = fast_space()
# epochs long enough (~0.1-0.3 s each here) to act on a trial while it runs
SLOW = fast_space(epochs=12, n_samples=3000)
