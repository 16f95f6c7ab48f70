"""A condition the call could not check is never printed as holding (issue 13: nothing it did not check)."""

from __future__ import annotations

import pytest

import optnas
from optnas.certify import Certificate


def test_width_lift_without_an_input_shape_is_open_not_ok():
    cert = optnas.certify(optnas.ArchSpec(algorithm="gd", width=16))
    lift = next(c for c in cert.conditions if c.name == "width_lift")
    assert lift.deferred and "not checked" in lift.detail and "d <= 15" in lift.detail
    line = next(x for x in cert.format().splitlines() if "width_lift" in x)
    assert line.strip().startswith("[open]")
    assert Certificate.from_dict(cert.to_dict()).conditions == cert.conditions  # round-trips with the flag


@pytest.mark.parametrize(("width", "holds"), [(16, True), (15, False)])
def test_with_the_input_shape_the_lift_is_checked(width, holds):
    cert = optnas.certify(optnas.ArchSpec(algorithm="gd", width=width), input_shape=(15,))
    lift = next(c for c in cert.conditions if c.name == "width_lift")
    assert not lift.deferred and lift.holds is holds and cert.ok is holds
    with pytest.raises(optnas.UncertifiedArchitecture, match="width_lift") if not holds else _nothing():
        optnas.build(optnas.ArchSpec(algorithm="gd", width=width), input_shape=(15,), num_outputs=2)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
