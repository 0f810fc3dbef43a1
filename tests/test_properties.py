"""Property-based tests: random stable systems, random junk configurations, random bytes."""

import tomllib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctnn import config
from ctnn.config import ConfigError
from ctnn.data import DataError, read_idx
from solvers import SETTLED, settle

from .solvers.fields import linear_field


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    batch=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    contraction=st.floats(0.0, 0.8),
    method=st.sampled_from(["euler", "heun", "rk4", "dopri5", "fixed_point"]),
)
def test_random_stable_linear_systems_settle_to_their_fixed_point(n, batch, seed, contraction, method):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    M *= contraction / max(np.linalg.norm(M, 2), 1e-12)
    A = -np.eye(n) + M  # y ← y + f(y) = M y + d contracts, and A is stable
    d = rng.standard_normal((n, batch))
    ystar = -np.linalg.solve(A, d)
    r = settle(linear_field, rng.standard_normal((n, batch)), A.ravel(), np.array([n, n]), d,
               method=method, step=1.0 if method == "fixed_point" else 0.5, atol=1e-10,
               max_steps=100000, step_atol=1e-12, step_rtol=1e-10)
    assert np.all(r.status == SETTLED)
    assert np.abs(r.y - ystar).max() < 1e-8 * (1 + np.abs(ystar).max()) / (1 - contraction)


junk_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
known_keys = st.sampled_from(
    [f"{section}.{key}" for section, keys in config.DEFAULTS.items() for key in keys] + ["model", "nope.x", "a..b", ""]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.tuples(known_keys, junk_values | st.text(max_size=12)), max_size=4))
def test_configuration_junk_gives_a_valid_config_or_a_clean_error(items):
    sets = [f"{key}={value}" for key, value in items]
    try:
        cfg = config.resolve(None, None, sets)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    config.validate(cfg)  # whatever came through is a valid configuration


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64))
def test_idx_parsing_of_random_bytes_never_crashes(raw, tmp_path_factory):
    path = tmp_path_factory.mktemp("idx") / "f"
    path.write_bytes(raw)
    try:
        a = read_idx(path)
    except DataError:
        return
    assert a.dtype == np.uint8 and a.size == len(raw) - 4 - 4 * a.ndim


@settings(max_examples=100, deadline=None)
@given(header=st.lists(st.integers(0, 5), min_size=1, max_size=3), tail=st.binary(max_size=40))
def test_idx_with_a_valid_header_and_random_payload(header, tail, tmp_path_factory):
    raw = bytes([0, 0, 8, len(header)]) + b"".join(n.to_bytes(4, "big") for n in header) + tail
    path = tmp_path_factory.mktemp("idx") / "g"
    path.write_bytes(raw)
    try:
        a = read_idx(path)
    except DataError as exc:
        assert "truncated" in str(exc)
        return
    assert a.shape == tuple(header)


def test_toml_parse_of_set_values_is_what_tomllib_reads():
    assert config.parse_set("x.y=1e-3") == {"x": {"y": tomllib.loads("v = 1e-3")["v"]}}
