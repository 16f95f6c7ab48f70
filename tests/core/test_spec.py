import json

import pytest

from optnas import ArchSpec


def test_json_round_trip():
    spec = ArchSpec(
        algorithm="heavy_ball", algorithm_params={"beta": 0.9}, schedule="cosine", schedule_params={"horizon": 2.0},
        block="convnext", block_params={"hidden": 32}, activation="mrepu", activation_params={"p": 3},
        depth=12, width=48, init="critical", stages=2,
    )
    again = ArchSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and hash(again) == hash(spec)


def test_spec_does_not_share_caller_dicts():
    params = {"beta": 0.5}
    spec = ArchSpec(algorithm="heavy_ball", algorithm_params=params)
    params["beta"] = 0.99
    assert spec.algorithm_params == {"beta": 0.5}


def test_unknown_key_named():
    with pytest.raises(ValueError, match=r"unknown ArchSpec key\(s\) \['dept'\]; valid keys: .*depth"):
        ArchSpec.from_dict({"dept": 3})


@pytest.mark.parametrize(
    ("field", "value"), [("depth", 0), ("width", -1), ("width", 2.5), ("stages", 0), ("depth", True)]
)
def test_integer_fields(field, value):
    with pytest.raises(ValueError, match=f"ArchSpec.{field}={value!r} is invalid"):
        ArchSpec(**{field: value})


def test_stem_and_stages_rules():
    with pytest.raises(ValueError, match="valid stems: lift, none"):
        ArchSpec(stem="conv")
    with pytest.raises(ValueError, match="must not exceed depth"):
        ArchSpec(depth=2, stages=3)


def test_replace_validates():
    assert ArchSpec().replace(depth=5).depth == 5
    with pytest.raises(ValueError):
        ArchSpec().replace(width=0)
