"""Zero-cost proxies of a network at initialization, written from their papers, plus optnas's own score.

Each proxy is a function (model, x, y, loss) -> float over one fixed batch, registered in `PROXIES`.
Sums run over every trainable parameter (or every activation layer for NASWOT / fisher), as in the
papers' reference definitions; a proxy that cannot be computed (non-finite) is recorded as NaN, never
raised, because a network that explodes at init is itself a recorded outcome.

- grad_norm: Σ_θ ‖∂L/∂θ‖₂ (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
- snip: Σ |θ ⊙ ∂L/∂θ| (Lee et al., "SNIP", ICLR 2019), the connection sensitivity summed over weights.
- synflow: with θ -> |θ|, an all-ones input and R = Σ f(1), Σ θ ⊙ ∂R/∂θ (Tanaka et al., NeurIPS 2020),
  recorded in the log domain: **log** of the sum (natural log), the sum taken as a log-sum-exp of the
  per-parameter terms in float64, so it never overflows in the summation. Where the float64 forward itself
  overflows (R = inf: RePU/MRePU networks of depth 8 raise the all-ones input to powers beyond 1.8e308)
  the value is +inf, "larger than float64", never NaN: a bound that ranks above every finite value.
  NaN means "could not be computed" and is never ranked (analyses leave it out; screens keep it).
- fisher: Σ_layers Σ_channels ½·mean_n(a·∂L/∂a)² over the outputs a of every linear layer that carries a
  gradient (Theis et al. 2018, as used by Turner et al. 2020 and Abdelfattah et al. 2021). An implicit
  network's fixed-point solver iterates T without autograd and then takes one differentiable step: only
  that step's outputs enter the sum (proxy versions before 3 tried to retain the solver's gradient-free
  outputs, raised, and recorded NaN on every implicit row).
- naswot: log|det K_H|, K_H[i,j] = number of units where samples i and j share the sign of the
  activation's input (N_A − Hamming distance of the binary codes; Mellor et al., ICML 2021). For smooth
  activations the code is the sign of the pre-activation, which is the ReLU case's on/off pattern.
- jacob_cov: −Σ_i [log(λ_i + k) + 1/(λ_i + k)], λ the eigenvalues of the correlation matrix of the
  per-sample input Jacobians of Σ outputs, k = 1e-5 (Mellor et al., arXiv:2006.04647v1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Proxy = Callable[[nn.Module, torch.Tensor, torch.Tensor, Loss], float]
PROXIES: dict[str, Proxy] = {}


def register(name: str) -> Callable[[Proxy], Proxy]:
    def add(fn: Proxy) -> Proxy:
        PROXIES[name] = fn
        return fn

    return add


def _params(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _loss_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> list[torch.Tensor | None]:
    model.zero_grad(set_to_none=True)
    loss(model(x), y).backward()
    return [p.grad for p in _params(model)]


@register("grad_norm")
def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> float:
    grads = _loss_grads(model, x, y, loss)
    return float(sum(g.norm().item() for g in grads if g is not None))


@register("snip")
def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> float:
    grads = _loss_grads(model, x, y, loss)
    return float(sum((p.detach() * g).abs().sum().item() for p, g in zip(_params(model), grads, strict=True)
                     if g is not None))


@register("synflow")
def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> float:
    params = _params(model)
    saved = [p.detach().clone() for p in params]
    model.double()
    try:
        with torch.no_grad():
            for p in params:
                p.abs_()
        model.zero_grad(set_to_none=True)
        r = model(torch.ones((1, *x.shape[1:]), dtype=torch.float64)).sum()  # one all-ones input
        if not torch.isfinite(r):
            return math.inf  # the forward overflowed float64: the sum exceeds every representable value
        r.backward()
        terms = torch.cat([(p.detach() * p.grad).reshape(-1) for p in params if p.grad is not None])
        return _log_sum(terms)
    finally:
        model.float()
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)


def _log_sum(terms: torch.Tensor) -> float:
    """log Σ terms without forming the sum: log-sum-exp of the positive and of the negative terms apart."""
    if not bool(torch.isfinite(terms).all()):
        return math.inf  # a term overflowed (the gradient of an overflowing R)
    pos, neg = terms[terms > 0], -terms[terms < 0]
    lp = float(torch.logsumexp(pos.log(), 0)) if pos.numel() else -math.inf
    ln = float(torch.logsumexp(neg.log(), 0)) if neg.numel() else -math.inf
    if ln == -math.inf:
        return lp  # the usual case: |θ| and an all-ones input keep every term >= 0
    if ln >= lp:
        return math.nan  # a sum <= 0 has no log
    return lp + math.log1p(-math.exp(ln - lp))


@register("fisher")
def fisher(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> float:
    acts: list[torch.Tensor] = []

    def keep(_: nn.Module, __: object, out: torch.Tensor) -> None:
        if out.requires_grad:  # an implicit network's solver iterates without autograd: no ∂L/∂a there
            out.retain_grad()
            acts.append(out)

    hooks = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        _loss_grads(model, x, y, loss)
    finally:
        for h in hooks:
            h.remove()
    total = 0.0
    for a in acts:
        if a.grad is None:
            continue
        per_channel = (a * a.grad).reshape(a.shape[0], a.shape[-1], -1).sum(-1)  # (N, C), spatial dims summed
        total += float(0.5 * per_channel.pow(2).mean(0).sum().item())
    return total


def _activation_types(model: nn.Module) -> tuple[type[nn.Module], ...]:
    # the σ of T: every MLP2/conv block keeps it as `act`; fall back to torch's own activation modules
    found: set[type[nn.Module]] = set()
    for m in model.modules():
        act = getattr(m, "act", None)
        if isinstance(act, nn.Module):
            found.add(type(act))
    return tuple(found) or (nn.ReLU, nn.GELU, nn.Tanh)


@register("naswot")
def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> float:
    codes: list[torch.Tensor] = []

    def code(_: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes.append((inputs[0].detach() > 0).reshape(inputs[0].shape[0], -1).double())

    types = _activation_types(model)
    hooks = [m.register_forward_pre_hook(code) for m in model.modules() if isinstance(m, types)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    if not codes:
        return math.nan
    c = torch.cat(codes, dim=1)
    k = c @ c.T + (1 - c) @ (1 - c).T  # units where two samples agree = N_A − Hamming distance
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet.item()) if sign.item() > 0 else -math.inf


@register("jacob_cov")
def jacob_cov(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> float:
    xg = x.detach().clone().requires_grad_(True)
    model.zero_grad(set_to_none=True)
    model(xg).sum().backward()
    assert xg.grad is not None
    jac = xg.grad.reshape(x.shape[0], -1).double()
    corr = torch.corrcoef(jac)
    eig = torch.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-(torch.log(eig + k) + 1.0 / (eig + k)).sum().item())


def compute(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss) -> dict[str, float]:
    """Every registered proxy of ``model`` (left as it was) on the batch ``(x, y)``; NaN where one fails,
    ±inf where a proxy's value is beyond float range (synflow's overflowing forward, naswot's singular K).

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        >>> x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
        >>> sorted(compute(net, x, y, nn.functional.cross_entropy))[:3]
        ['fisher', 'grad_norm', 'jacob_cov']
    """
    was_training = model.training
    model.train()  # proxies are defined on the training-mode forward
    out: dict[str, float] = {}
    for name, proxy in PROXIES.items():
        try:
            value = proxy(model, x, y, loss)
        except (FloatingPointError, RuntimeError, torch.linalg.LinAlgError):
            value = math.nan  # a network that cannot run its init forward has no score
        out[name] = float(value)  # NaN: not computable; ±inf: a bound the analyses report apart
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return out
