"""Every algorithm's skeleton reproduces its textbook recurrence, written out independently here.

T is a fixed contraction T(x) = tanh(W x) (float64), so explicit and implicit updates can be computed by
hand; implicit references solve their fixed point to 1e-13 by plain iteration.
"""

import math

import numpy as np
import pytest
import torch

from optnas import algorithms, schedules
from optnas.build import skeleton
from optnas.nn.steps import FixedSteps

DEPTH, H, DIM = 7, 0.15, 5
torch.manual_seed(0)
W = 0.6 * torch.linalg.qr(torch.randn(DIM, DIM, dtype=torch.float64))[0]


def T(x):
    return torch.tanh(x @ W.T)


class FixedT(torch.nn.Module):
    def forward(self, x):
        return T(x)


def solve(u, c):
    z = u.clone()
    for _ in range(500):
        z_next = u + c * T(z)
        if (z_next - z).abs().max() < 1e-14:
            return z_next
        z = z_next
    return z


def beta_seq(name):
    return schedules.get(name).values(DEPTH)


def ref_multistep(x, a, b, implicit=False):
    xs, fs = [x], []
    for k in range(DEPTH):
        aa, bb = (a, b) if k >= max(len(a), len(b)) - 1 else ((1.0,), (1.0,))
        hist = xs[::-1]
        u = sum(aa[j] * hist[j] for j in range(len(aa)))
        if implicit:
            x_new = solve(u, H * bb[0])
        else:
            f = T(xs[-1])
            fs.append(f)
            fh = fs[::-1]
            x_new = u + H * sum(bb[j] * fh[j] for j in range(len(bb)))
        xs.append(x_new)
    return xs[-1]


def ref_nesterov(x, betas, implicit=False):
    x_prev = x
    for k in range(DEPTH):
        y = x + betas[k] * (x - x_prev)
        x_prev, x = x, (solve(y, H) if implicit else y + H * T(y))
    return x


def ref_apg2(x):
    z = x
    for th in schedules.get("apg_theta").values(DEPTH):
        y = (1 - th) * x + th * z
        z = z + H * T(y) / th
        x = (1 - th) * x + th * z
    return x


def ref_ladmm(x, rho=1.0):
    y, lam = x, torch.zeros_like(x)
    for _ in range(DEPTH):
        x = x + H * (T(x) - lam - rho * (x - y))
        y = y + H * (lam + rho * (x - y))
        lam = lam + H * rho * (x - y)
    return x


def ref_dense(x):
    xs = [x]
    for k in range(DEPTH):
        logits = torch.tensor([3.0] + [0.0] * k, dtype=torch.float64)
        w = torch.softmax(logits, 0)
        xs.append(sum(w[j] * xs[-1 - j] for j in range(k + 1)) + H * T(xs[-1]))
    return xs[-1]


REFERENCES = {
    "gd": lambda x: ref_multistep(x, (1.0,), (1.0,)),
    "heavy_ball": lambda x: ref_multistep(x, (1.9, -0.9), (1.0,)),
    "lm_resnet": lambda x: ref_multistep(x, (0.5, 0.5), (1.0,)),
    "adams_bashforth2": lambda x: ref_multistep(x, (1.0,), (1.5, -0.5)),
    "nesterov": lambda x: ref_nesterov(x, beta_seq("nesterov_momentum")),
    "fista": lambda x: ref_nesterov(x, beta_seq("fista_momentum")),
    "apg2": ref_apg2,
    "ladmm": ref_ladmm,
    "dense": ref_dense,
    "proximal_point": lambda x: ref_multistep(x, (1.0,), (1.0,), implicit=True),
    "bdf2": lambda x: ref_multistep(x, (4 / 3, -1 / 3), (2 / 3,), implicit=True),
    "accel_proximal": lambda x: ref_nesterov(x, beta_seq("nesterov_momentum"), implicit=True),
}
PARAMS = {"heavy_ball": {"beta": 0.9}, "lm_resnet": {"k": 0.5}}


def test_every_builtin_has_a_reference():
    assert set(REFERENCES) == set(algorithms.names())


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_skeleton_matches_textbook_recurrence(name):
    solver = {"tol": 1e-12, "max_iter": 500} if algorithms.entry(name).implicit else {}
    alg = algorithms.get(name, **PARAMS.get(name, {}), **solver)
    net = skeleton(alg, [FixedT() for _ in range(DEPTH)], FixedSteps([H] * DEPTH)).double()
    x = torch.randn(3, DIM, dtype=torch.float64)
    with torch.no_grad():
        got = net(x)
    torch.testing.assert_close(got, REFERENCES[name](x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("beta", "roots"), [(0.9, {1.0, 0.9}), (-0.5, {1.0, -0.5})])
def test_heavy_ball_roots(beta, roots):
    got = algorithms.get("heavy_ball", beta=beta).characteristic_roots()
    assert {round(float(r), 12) for r in got} == roots


def test_lm_resnet_and_bdf2_roots():
    assert sorted(np.round(algorithms.get("lm_resnet", k=0.25).characteristic_roots(), 12)) == [-0.25, 1.0]
    assert sorted(np.round(algorithms.entry("bdf2")().characteristic_roots(), 12)) == [round(1 / 3, 12), 1.0]


def test_history_is_bounded():
    # the skeleton keeps only the slots its algorithm needs
    sizes = {n: len(algorithms.get(n, **PARAMS.get(n, {})).slot_names(50)) for n in algorithms.names()}
    assert sizes["gd"] == 1 and sizes["heavy_ball"] == 2 and sizes["adams_bashforth2"] == 2
    assert sizes["ladmm"] == 3 and sizes["apg2"] == 2 and sizes["dense"] == 51


@pytest.mark.parametrize("name", ["proximal_point", "bdf2", "accel_proximal"])
def test_implicit_gradient_matches_unrolled_solve(name):
    """Implicit differentiation at the fixed point equals autograd through a fully converged solve."""
    torch.manual_seed(1)
    lin = torch.nn.Linear(DIM, DIM).double()
    with torch.no_grad():
        lin.weight.mul_(0.5)

    class Block(torch.nn.Module):
        def forward(self, z):
            return torch.tanh(lin(z))

    alg = algorithms.get(name, tol=1e-12, max_iter=400)
    net = skeleton(alg, [Block() for _ in range(4)], FixedSteps([0.5] * 4)).double()
    x = torch.randn(2, DIM, dtype=torch.float64)
    net(x).square().sum().backward()
    implicit_grad = lin.weight.grad.clone()

    # reference: unroll the fixed-point iteration 200 times inside autograd
    lin.weight.grad = None
    net.max_iter, net.implicit = 200, True
    ref = _unrolled_reference(alg, lin, x, 4, 0.5)
    ref.square().sum().backward()
    torch.testing.assert_close(implicit_grad, lin.weight.grad, rtol=1e-6, atol=1e-9)
    assert net.last_residual <= 1e-12 or math.isclose(net.last_residual, 0.0, abs_tol=1e-12)


def _unrolled_reference(alg, lin, x, depth, h):
    def t(z):
        return torch.tanh(lin(z))

    betas = schedules.get("nesterov_momentum").values(depth)
    xs = [x]
    for k in range(depth):
        if alg.params.get("momentum") or isinstance(alg, algorithms.entry("accel_proximal")):
            prev = xs[-2] if len(xs) > 1 else xs[-1]
            u, c = xs[-1] + betas[k] * (xs[-1] - prev), h
        elif len(alg.a) == 2 and k >= 1:
            u, c = alg.a[0] * xs[-1] + alg.a[1] * xs[-2], h * alg.b[0]
        else:
            u, c = xs[-1], h
        z = u
        for _ in range(200):
            z = u + c * t(z)
        xs.append(z)
    return xs[-1]
