"""Configuration: presets, files, --set, and one clear error for every bad value."""

import pytest

from ctnn import config
from ctnn.config import ConfigError, resolve


def test_presets_carry_the_reference_settings():
    cfg = resolve("ep-2h")
    assert cfg["model"]["hidden"] == [500, 500]
    assert cfg["free"]["max_steps"] == 150 and cfg["signal"]["max_steps"] == 6
    assert cfg["free"]["method"] == "euler" and cfg["free"]["step"] == 0.5 and not cfg["free"]["check"]
    assert cfg["learning"]["lr"] == [0.8, 0.2, 0.02] and cfg["learning"]["beta"] == 2.0 and cfg["train"]["batch_size"] == 20
    adaptive = resolve("ep-1h-adaptive")
    assert adaptive["free"]["check"] and adaptive["model"]["hidden"] == [500]


def test_layering_order_file_then_set(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[learning]\nbeta = 0.25\n[model]\nactivation = "tanh"\n')
    cfg = resolve("ep-1h", f, ["learning.beta=0.75", "free.method=rk4"], **{"train.epochs": 3})
    assert cfg["learning"]["beta"] == 0.75 and cfg["model"]["activation"] == "tanh"
    assert cfg["free"]["method"] == "rk4" and cfg["train"]["epochs"] == 3


@pytest.mark.parametrize(
    "sets, message",
    [
        (["learning.betta=1"], "did you mean learning.beta"),
        (["modle.hidden=[3]"], "did you mean model"),
        (["learning.beta=0"], "learning.beta must be non-zero"),
        (["learning.gamma=0.0"], "learning.gamma must be non-zero"),
        (["model.hidden=[0]"], "positive integers"),
        (["model.hidden=[10, 10]"], "learning.lr needs 3"),
        (["train.batch_size=0"], "batch_size >= 1"),
        (["free.step=-1"], "free.step must be > 0"),
        (["free.max_steps=1.5"], "free.max_steps must be int"),
        (["free.method=rk45"], "free.method = 'rk45' is not one of"),
        (["model.activation=relu"], "is not one of"),
        (["train.persistent=true"], "unknown configuration key 'train.persistent'"),
        (["learning=3"], "is a section"),
        (["learning.rule=vector_field"], "needs model.connectivity = 'asymmetric'"),
        (["nothing"], "--set expects key=value"),
        (["free.check=1"], "free.check must be bool"),
    ],
)
def test_bad_values_give_one_clear_error(sets, message):
    with pytest.raises(ConfigError, match=message):
        resolve(None, None, sets)


def test_unknown_preset_suggests_the_nearest():
    with pytest.raises(ConfigError, match="did you mean ep-1h"):
        resolve("ep-1")


def test_bad_toml_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve(None, f)
    with pytest.raises(ConfigError, match="cannot read config file"):
        resolve(None, tmp_path / "missing.toml")


def test_set_reads_toml_values_or_strings():
    assert config.parse_set("a.b=[1, 2]") == {"a": {"b": [1, 2]}}
    assert config.parse_set("a=tanh") == {"a": "tanh"}
    assert config.parse_set("a=true") == {"a": True}
