"""A user's optnas plugin: an algorithm, an activation (class and function), a block and a task."""

import torch
from mylab_nn import GatedMLP, Snake, wave

import optnas
from optnas.algorithms import LinearMultistep
from optnas.blocks import Block

NAMES = {"algorithms": ["halfstep"], "activations": ["snake", "wave"], "blocks": ["gated_mlp"], "tasks": ["blobs"]}


@optnas.algorithms.register("halfstep")
class HalfStep(LinearMultistep):
    """x+ = 0.5x + 0.5x− + h·T(x)"""

    a = (0.5, 0.5)
    b = (1.0,)


optnas.activations.register("snake", lipschitz=2.0, polynomial=False)(Snake)
optnas.activations.register("wave", lipschitz=1.0, polynomial=False)(wave)


@optnas.blocks.register("gated_mlp")
class GatedMLPBlock(Block):
    """A two-layer MLP with a learnable output gate."""

    inputs = frozenset({"vector"})
    structure = "T(z) = g·(W2·σ(W1·z + b1) + b2)"

    def make(self, width: int, act: torch.nn.Module, kind: str) -> torch.nn.Module:
        return GatedMLP(width, self.hidden_width(width), act)


@optnas.tasks.register("blobs")
def blobs(n: int = 300, seed: int = 0) -> optnas.tasks.TensorTask:
    """Three Gaussian blobs in the plane, on a large offset (standardized by from_tensors)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[0.0, 0.0], [2.5, 0.0], [0.0, 2.5]])
    x = torch.randn(n, 2, generator=g) + centers[y] + 100.0
    return optnas.tasks.from_tensors(x, y, name="blobs", seed=seed)
