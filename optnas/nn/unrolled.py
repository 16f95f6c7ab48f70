"""The unrolled skeleton: L iterations of an algorithm given by its coefficient tables (torch-only).

One layer k, over a state of m slots s (the algorithm's sequences and their history):

    f = T_k(Σ_j c_j s_j)                                       (explicit)
    f = T_k(x+), x+ = u + c_f·T_k(x+) solved by fixed point    (implicit)
    s <- (A0 + h_k·A1) s + (b0 + h_k·b1) f                     (each sweep in order)

The tables are the algorithm's own named rows (`.tableau`), run as written: only the rows a sweep names
change a slot, only the terms a row names are added, and unit coefficients cost no multiply, so a depth-L
skeleton does little more tensor work than a hand-written residual loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from .tableau import Layer, Row


@contextmanager
def _statistics_kept(block: nn.Module, active: bool) -> Iterator[None]:
    """Inside, batch-norm layers of ``block`` use batch statistics but leave their running ones unchanged.

    The solver calls T on every trial iterate of a fixed-point solve; only the call at the fixed point may
    update running statistics, or each training step would move them ~max_iter times (towards one batch,
    from iterates that are not the network's). Momentum 0 stops the update in torch's batch norm and in
    `GainCappedBatchNorm2d`; the batch counter is put back so a cumulative (momentum None) average holds."""
    norms = [m for m in block.modules() if isinstance(getattr(m, "running_mean", None), torch.Tensor)] if active else []
    saved = [(m, getattr(m, "momentum", None), getattr(m, "num_batches_tracked", None)) for m in norms]
    counts = [None if n is None else n.clone() for _, _, n in saved]
    try:
        for m in norms:
            setattr(m, "momentum", 0.0)  # noqa: B010 - Module's typing has no momentum
        yield
    finally:
        for (m, momentum, tracked), count in zip(saved, counts, strict=True):
            setattr(m, "momentum", momentum)  # noqa: B010
            if tracked is not None and count is not None:
                tracked.copy_(count)


def _combine(pairs: list[tuple[Any, torch.Tensor | None]]) -> torch.Tensor | None:
    """Σ coef·tensor, skipping zero coefficients and empty (zero) slots, in as few kernels as possible.

    Unit coefficients cost no multiply; two terms whose float coefficients sum to 1 (every consistent
    momentum row) are one ``lerp``; later terms accumulate in place into the fresh result tensor.
    """
    live = [(c, t) for c, t in pairs if t is not None and not (isinstance(c, float) and c == 0.0)]
    if not live:
        return None
    out: torch.Tensor
    owned = True  # whether `out` is a fresh tensor we may update in place
    if len(live) >= 2 and all(isinstance(c, float) for c, _ in live[:2]) and live[0][0] + live[1][0] == 1.0:
        (a, x), (_, y) = live[0], live[1]
        if x.dtype != y.dtype:  # under autocast a block may return bf16 beside an fp32 slot; lerp takes one dtype
            dtype = torch.promote_types(x.dtype, y.dtype)
            x, y = x.to(dtype), y.to(dtype)
        out, rest = torch.lerp(y, x, a), live[2:]
    else:
        (c, t), rest = live[0], live[1:]
        owned = not (isinstance(c, float) and c == 1.0)
        out = t * c if owned else t
    for c, t in rest:
        # in place only when it keeps out's dtype what out-of-place promotion gives (bf16 += fp32 would round)
        if isinstance(c, float) and owned and torch.promote_types(out.dtype, t.dtype) == out.dtype:
            out.add_(t, alpha=c)
        elif isinstance(c, float):
            out, owned = torch.add(out, t, alpha=c), True
        else:
            out, owned = out + c * t, True
    return out


def _coef(a0: float, a1: float, h: Any) -> Any:
    return a0 if a1 == 0.0 else a0 + h * a1


class Unrolled(nn.Module):
    """L unrolled iterations of one algorithm with learnable modules T_0..T_{L-1}.

    Args:
        blocks: the modules T_k, one per layer.
        layers: per layer, its `Layer` of named rows (kept as ``self.layers``: what the certificate reads back).
        equilibrium: the initial state is ``equilibrium[j] · x`` (0 marks an empty slot).
        steps: a module returning the L step sizes (floats, or a tensor when learnable).
        implicit: T is applied to the new iterate x+ (slot 0), found by fixed-point iteration.
        max_iter, tol: fixed-point solver budget and relative tolerance (forward and adjoint).
    """

    def __init__(
        self,
        blocks: list[nn.Module],
        layers: Sequence[Layer],
        equilibrium: list[float],
        steps: nn.Module,
        implicit: bool = False,
        max_iter: int = 30,
        tol: float = 1e-4,
    ) -> None:
        super().__init__()
        if len(blocks) != len(layers):
            raise ValueError(f"{len(blocks)} blocks for {len(layers)} layers")
        self.blocks = nn.ModuleList(blocks)
        self.steps = steps
        self.equilibrium = [float(e) for e in equilibrium]
        self.implicit, self.max_iter, self.tol = implicit, int(max_iter), float(tol)
        wrong = next((layer.slots for layer in layers if layer.slots != len(self.equilibrium)), None)
        if wrong is not None:
            raise ValueError(f"a layer of {wrong} slots for a state of {len(self.equilibrium)}")
        self.layers = tuple(layers)
        # DenseNet-like layers: learnable logits of a convex combination of the previous iterates,
        # initialised to favour the latest one (a ResNet at initialisation).
        self.mix_logits = nn.ParameterList(
            [nn.Parameter(torch.tensor([3.0] + [0.0] * (layer.mix - 1))) for layer in layers if layer.mix]
        )
        self.last_residual = 0.0  # worst relative fixed-point residual of the last forward (implicit)
        self.last_iterations = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s: list[torch.Tensor | None] = [None if e == 0.0 else (x if e == 1.0 else x * e) for e in self.equilibrium]
        hs = self.steps()
        self.last_residual, self.last_iterations = 0.0, 0
        mix_index = 0
        for k, (block, layer) in enumerate(zip(self.blocks, self.layers, strict=True)):
            h = hs[k]
            weights = None
            if layer.mix:
                weights = torch.softmax(self.mix_logits[mix_index], 0)
                mix_index += 1
            if self.implicit:
                s = self._implicit_layer(block, layer.sweeps[0], s, h, weights)
                continue
            z = _combine([(c, s[j]) for j, c in layer.c.items()])
            assert z is not None, "T's input is an empty combination"
            f = block(z)
            for rows in layer.sweeps:
                s = self._sweep(rows, s, f, h, weights)
        out = s[0]
        assert out is not None
        return out

    def step_values(self) -> tuple[float, ...]:
        """The h_k this skeleton runs now (learnable steps: their current values)."""
        hs = self.steps()
        return tuple(float(h) for h in (hs.detach().tolist() if isinstance(hs, torch.Tensor) else hs))

    def _row_pairs(self, i: int, row: Row, s: list[torch.Tensor | None], h: Any, weights: torch.Tensor | None) -> list:
        if i == 0 and weights is not None:
            return [(weights[j], s[j]) for j in range(weights.numel())]
        return [(_coef(a0, a1, h), s[j]) for j, a0, a1 in row.terms]

    def _sweep(self, rows: Mapping[int, Row], s: list, f: torch.Tensor, h: Any, weights: torch.Tensor | None) -> list:
        new = list(s)
        for i, row in rows.items():
            new[i] = _combine([*self._row_pairs(i, row, s, h, weights), (_coef(row.b0, row.b1, h), f)])
        return new

    def _implicit_layer(self, block: nn.Module, rows: Mapping[int, Row], s: list, h: Any, weights: Any) -> list:
        row0 = rows[0]
        u = _combine(self._row_pairs(0, row0, s, h, weights))
        assert u is not None
        x_new = self._solve(block, u, _coef(row0.b0, row0.b1, h))
        new = list(s)
        for i, row in rows.items():  # the other rows (history shifts) read the old state only
            if i != 0:
                new[i] = _combine(self._row_pairs(i, row, s, h, weights))
        new[0] = x_new
        return new

    def _solve(self, block: nn.Module, u: torch.Tensor, c: Any) -> torch.Tensor:
        """x = u + c·T(x) by fixed-point iteration; gradients by implicit differentiation."""
        residual, iterations = float("inf"), 0
        with torch.no_grad(), _statistics_kept(block, self.training):
            z = u
            for iterations in range(1, self.max_iter + 1):  # noqa: B007 - the count is reported
                z_next = u + c * block(z)
                residual = float((z_next - z).norm() / (z_next.norm() + 1e-12))
                z = z_next
                if residual <= self.tol:
                    break
        self.last_residual = max(self.last_residual, residual)
        self.last_iterations = max(self.last_iterations, iterations)
        if not torch.is_grad_enabled():
            return z
        z_star = z
        out = u + c * block(z_star)  # one step re-attaches u, c and T's parameters to the graph (and the
        if out.requires_grad:        # one call that updates running statistics)
            z0 = z_star.detach().requires_grad_()
            with _statistics_kept(block, self.training):
                g0 = c * block(z0)

            def adjoint(grad: torch.Tensor) -> torch.Tensor:
                # Solve g = grad + (c·∂T/∂z)ᵀ g: the vector-Jacobian product of (I − c·∂T/∂z)^{-1}.
                g = grad
                for _ in range(self.max_iter):
                    g_next = torch.autograd.grad(g0, z0, g, retain_graph=True)[0] + grad
                    done = float((g_next - g).norm()) <= self.tol * (float(g_next.norm()) + 1e-12)
                    g = g_next
                    if done:
                        break
                return g

            out.register_hook(adjoint)
        return out


class Network(nn.Module):
    """stem -> stage_0 -> transition -> stage_1 ... -> head."""

    def __init__(
        self, stem: nn.Module, stages: Sequence[nn.Module], transitions: Sequence[nn.Module], head: nn.Module
    ) -> None:
        super().__init__()
        self.stem, self.head = stem, head
        self.stages, self.transitions = nn.ModuleList(stages), nn.ModuleList(transitions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i, stage in enumerate(self.stages):
            if i:
                x = self.transitions[i - 1](x)
            x = stage(x)
        return self.head(x)

    def stage_steps(self) -> list[tuple[float, ...]]:
        """The h_k each stage runs, one tuple per stage (equal to ``certificate.stages[i].steps``).

        Example:
            >>> import optnas
            >>> spec = optnas.ArchSpec(algorithm="gd", block="preact_conv", depth=3, width=4, stages=2,
            ...                        schedule_params={"horizon": 1.5})
            >>> optnas.build(spec, (3, 8, 8), 2).stage_steps()
            [(0.75, 0.75), (1.5,)]
        """
        return [stage.step_values() for stage in self.stages]  # type: ignore[operator]

    def solver_residual(self) -> float:
        """Worst fixed-point residual of the last forward (0.0 for explicit networks)."""
        return max((float(getattr(st, "last_residual", 0.0)) for st in self.stages), default=0.0)
