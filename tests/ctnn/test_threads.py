"""The BLAS thread limits of the hot loop."""

import pytest
from threadpoolctl import threadpool_info

from ctnn.threads import blas_threads


def _pools():
    return {info["filepath"]: info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


def test_only_the_engines_blas_gets_more_threads_and_limits_are_restored():
    before = _pools()
    with blas_threads(2):
        inside = _pools()
    assert _pools() == before
    scipy_pools = [p for p in inside if "numpy" not in p]
    numpy_pools = [p for p in inside if "numpy" in p]
    if not (scipy_pools and numpy_pools):
        pytest.skip("NumPy and SciPy share one BLAS here: nothing to keep apart")
    assert all(inside[p] == 2 for p in scipy_pools) and all(inside[p] == 1 for p in numpy_pools)
