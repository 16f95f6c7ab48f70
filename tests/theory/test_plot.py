from __future__ import annotations

import numpy as np
import pytest

from optnas.theory import plot_theory, theory_plot_data


def test_plot_data_follows_the_report_initialization() -> None:
    data = theory_plot_data("repu", depth=40, p=2)
    assert data.report.init.source == "fallback"
    assert set(data.flows) == {0.01, 0.1, 1.0, 10.0}
    np.testing.assert_allclose(data.flows[1.0], 1.0, rtol=1e-12)  # K* = 1 is a fixed point...
    assert data.flows[10.0][-1] == np.inf  # ...an unstable one
    np.testing.assert_allclose(data.chi_par / data.chi_perp, 1.5, rtol=1e-12)


def test_figure_has_both_panels() -> None:
    fig = plot_theory(theory_plot_data("tanh", depth=10, ks=np.logspace(-2, 2, 9)))
    names = [trace.name for trace in fig.data]
    assert names == ["K0 = 0.01", "K0 = 0.1", "K0 = 1", "K0 = 10", "χ∥", "χ⊥"]
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis2.type == "log"
    assert len(fig.data[4].x) == 9


def test_bad_depth() -> None:
    with pytest.raises(ValueError, match="depth=0"):
        theory_plot_data("relu", depth=0)


def test_flat_susceptibility_gets_a_fixed_axis_not_autoscaled_noise() -> None:
    relu = plot_theory(theory_plot_data("relu", depth=10))  # χ = 1 at every K, up to rounding
    low, high = relu.layout.yaxis2.range
    assert 10**low < 1.0 < 10**high and high - low == pytest.approx(np.log10(4.0))
    tanh = plot_theory(theory_plot_data("tanh", depth=10))  # χ varies by orders of magnitude: autoscale
    assert tanh.layout.yaxis2.range is None
