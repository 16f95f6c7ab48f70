"""Every registered algorithm × block × activation builds, runs forward and backward, on each input kind.

By default a pairwise set of the three factors (algorithm, block on an input kind, activation) runs: every
algorithm meets every block kind and every activation, every block kind every activation (115 cases of the
972 of 12 algorithms, 9 block kinds and 9 activations). The full cross product runs under ``-m slow``.
"""

import pytest
import torch

import optnas
from optnas import ArchSpec, activations, algorithms, blocks
from tests._support.covering import pairwise

SHAPES = {"vector": (5,), "image": (3, 8, 8), "token": (6, 7), "signal": optnas.Signal(3, 12)}
ACT_PARAMS = {"repu": {"p": 2}, "mrepu": {"p": 2}}
BLOCK_KINDS = [(block, kind) for block in blocks.names() for kind in sorted(blocks.entry(block).inputs)]
CASES = [
    (alg, block, act, kind)
    for alg in algorithms.names()
    for block, kind in BLOCK_KINDS
    for act in activations.names()
]
PAIRWISE = [
    (alg, block, act, kind)
    for alg, (block, kind), act in pairwise([algorithms.names(), BLOCK_KINDS, activations.names()])
]


def _spec(alg, block, act, depth=3, width=8, **kw):
    return ArchSpec(
        algorithm=alg, block=block, activation=act, activation_params=ACT_PARAMS.get(act, {}),
        block_params={"heads": 2, "hidden": 8} if block == "transformer" else {"hidden": 8},
        depth=depth, width=width, **kw,
    )


def _forward_backward(spec, kind, device="cpu"):
    net = optnas.build(spec, SHAPES[kind], 3).to(device)
    x = torch.randn(4, *SHAPES[kind], device=device)
    y = net(x)
    assert y.shape == (4, 3) and torch.isfinite(y).all()
    y.square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def _check_case(alg, block, act, kind):
    spec = _spec(alg, block, act)
    no_bound = activations.info(act, **ACT_PARAMS.get(act, {})).lipschitz is None or isinstance(
        blocks.get(block).lipschitz(1.0), str)
    if algorithms.entry(alg).implicit and no_bound:
        # implicit layers need a contraction: an activation without a global Lipschitz constant, or a block
        # whose Lip(T) has no bound (attention, per-sample normalization), fails
        with pytest.raises(optnas.UncertifiedArchitecture, match="contraction"):
            optnas.build(spec, SHAPES[kind], 3)
        return
    _forward_backward(spec, kind)


@pytest.mark.parametrize(("alg", "block", "act", "kind"), PAIRWISE)
def test_builds_forward_backward(alg, block, act, kind):
    _check_case(alg, block, act, kind)


@pytest.mark.slow
@pytest.mark.parametrize(("alg", "block", "act", "kind"), [c for c in CASES if c not in PAIRWISE])
def test_builds_forward_backward_full_product(alg, block, act, kind):
    """The cases the pairwise set leaves out: with it, the whole cross product."""
    _check_case(alg, block, act, kind)


def test_pairwise_cases_cover_every_pair_of_factors():
    """Not a hand-picked subset: the default cases meet each pair of factor values at least once."""
    def factors(cases):
        return [(alg, (block, kind), act) for alg, block, act, kind in cases]

    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert {(r[i], r[j]) for r in factors(PAIRWISE)} == {(r[i], r[j]) for r in factors(CASES)}
    assert set(PAIRWISE) <= set(CASES) and len(PAIRWISE) < len(CASES) / 4


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")  # as every other gpu test
@pytest.mark.parametrize(("alg", "block", "kind"), [(a, b, k) for a, b, _, k in CASES if _ == "gelu"])
def test_builds_forward_backward_cuda(alg, block, kind):
    _forward_backward(_spec(alg, block, "gelu"), kind, device="cuda")


def test_image_stages_downsample():
    spec = _spec("heavy_ball", "preact_conv", "relu", depth=4, width=8, stages=2)
    net = optnas.build(spec, (3, 16, 16), 10)
    assert len(net.stages) == 2 and net.head.fc.in_features == 16
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_signal_stages_downsample():
    spec = _spec("heavy_ball", "preact_conv", "relu", depth=4, width=8, stages=3)
    net = optnas.build(spec, optnas.Signal(2, 40), 10)
    assert len(net.stages) == 3 and net.head.fc.in_features == 32
    assert isinstance(net.stem, torch.nn.Conv1d)
    assert net(torch.randn(2, 2, 40)).shape == (2, 10)


def test_signal_and_token_shapes_differ_only_by_declaration():
    # the same two numbers are a token sequence (6 tokens of 7 features) or a signal (6 channels, length 7)
    spec = _spec("gd", "mlp2", "relu", width=8)
    tokens, signal = optnas.build(spec, (6, 7), 3), optnas.build(spec, optnas.Signal(6, 7), 3)
    assert type(tokens.head).__name__ == "TokenHead" and type(signal.head).__name__ == "SignalHead"
    assert signal.stem.in_channels == 6 and tokens.stem.proj.in_features == 7


def test_stages_only_for_images():
    with pytest.raises(ValueError, match="only images and signals have stages"):
        optnas.build(_spec("gd", "mlp2", "relu", depth=4, stages=2), (5,), 2)


def test_block_kind_mismatch_is_clear():
    with pytest.raises(ValueError, match="does not apply to vector inputs; it takes: image, signal"):
        optnas.build(_spec("gd", "preact_conv", "relu"), (5,), 2)


def test_critical_init_is_recorded():
    net = optnas.build(_spec("gd", "mlp2", "tanh", init="critical"), (5,), 2)
    assert net.init_record["init"] == "critical" and net.init_record["c_w"] == pytest.approx(1.0, rel=1e-3)


def test_zero_last_init_is_identity_flow():
    spec = _spec("heavy_ball", "mlp2", "relu", init="zero_last")
    net = optnas.build(spec, (5,), 2)
    x = torch.randn(3, 5)
    torch.testing.assert_close(net(x), net.head(net.stem(x)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": -3}, r"width=-3 is invalid: it must be an integer in \[1, "),
        ({"depth": 0}, r"depth=0 is invalid"),
        ({"algorithm": "heavy_ball", "algorithm_params": {"beta": 2}}, r"beta=2 is invalid: .*\[-1.0, 1.0\]"),
        ({"activation": "repu", "activation_params": {"p": 0}}, r"p=0 is invalid: p must be an integer >= 1"),
        ({"algorithm": "nope"}, r"unknown algorithm 'nope'; valid names: .*heavy_ball"),
        ({"block": "nope"}, r"unknown block 'nope'; valid names: .*mlp2"),
        ({"schedule": "nope"}, r"unknown schedule 'nope'; valid names: .*constant"),
        ({"schedule": "apg_theta"}, r"momentum sequence, not a step schedule"),
        ({"block_params": {"hidden": -1}}, r"hidden=-1 is invalid"),
        ({"algorithm_params": {"beta": 0.5}}, r"invalid parameter\(s\) \['beta'\] for algorithm 'gd'"),
        ({"init": "nope"}, r"init='nope' is unknown; valid inits: critical, default, zero_last"),
    ],
)
def test_bad_input_names_value_and_rule(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optnas.build(ArchSpec(**kwargs), (5,), 2)


@pytest.mark.parametrize("shape", [(), (0,), (1, 2, 3, 4), "abc", (2.5,)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape=.* is invalid"):
        optnas.build(ArchSpec(), shape, 2)


def test_implicit_network_reports_residual():
    net = optnas.build(_spec("bdf2", "mlp2", "tanh", depth=4, width=8), (5,), 2)
    net(torch.randn(3, 5))
    assert 0 < net.solver_residual() <= 1e-4


def test_an_implicit_solve_moves_batch_norm_statistics_once_per_forward():
    """Only the fixed point's batch statistics reach the running ones, not those of every trial iterate."""
    torch.manual_seed(0)
    net = optnas.build(_spec("proximal_point", "preact_conv", "relu", depth=2, width=4), (3, 8, 8), 2).train()
    norms = [m for m in net.modules() if isinstance(getattr(m, "running_mean", None), torch.Tensor)]
    assert norms
    calls = {m: [] for m in norms}
    for m in norms:
        m.register_forward_pre_hook(lambda mod, args: calls[mod].append((torch.is_grad_enabled(), args[0].detach())))
    net(torch.randn(16, 3, 8, 8)).square().mean().backward()
    assert 0 < net.solver_residual() <= 1e-4
    for m in norms:
        assert len(calls[m]) > 3  # the solver called T on several iterates ...
        at_fixed_point = [z for grad, z in calls[m] if grad]  # ... then twice at the fixed point, with autograd
        # (equal up to the power iteration of OperatorNormConv2d, which takes a step each call)
        assert len(at_fixed_point) == 2 and torch.allclose(*at_fixed_point, atol=1e-4)
        z = at_fixed_point[0]  # the call that updates the running statistics
        assert torch.allclose(m.running_mean, 0.1 * z.mean(dim=(0, 2, 3)), atol=1e-6)
        assert torch.allclose(m.running_var, 0.9 + 0.1 * z.var(dim=(0, 2, 3), unbiased=True), atol=1e-5)
        assert m.momentum == 0.1
