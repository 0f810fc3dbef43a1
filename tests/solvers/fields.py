import numpy as np
from numba import njit, types

from solvers import field_signature

_SIGS = [field_signature(types.float64), field_signature(types.float32)]


def _linear(y, theta, meta, data, out, block):
    """dy/dt = A y + d, A = theta reshaped (n, n); block k: rows [k·m, (k+1)·m), m = meta[1]."""
    n = meta[0]
    A = theta.reshape((n, n))
    if block < 0:
        out[:] = A @ y + data
    else:
        m = meta[1]
        lo = block * m
        out[lo : lo + m] = A[lo : lo + m] @ y + data[lo : lo + m]


linear_field = njit(_SIGS, cache=True)(_linear)


class Linear:
    """A stable linear system with its closed-form solution."""

    def __init__(self, n=4, batch=3, seed=0, blocks=2):
        rng = np.random.default_rng(seed)
        M = rng.standard_normal((n, n))
        # A = −I + M with ‖M‖₂ = 0.6: stable, and y ← y + f(y) = M y + d contracts
        self.A = -np.eye(n) + 0.6 * M / np.linalg.norm(M, 2)
        self.d = rng.standard_normal((n, batch))
        self.y0 = rng.standard_normal((n, batch))
        self.meta = np.array([n, n // blocks])
        self.blocks = np.arange(0, n + 1, n // blocks)
        self.ystar = -np.linalg.solve(self.A, self.d)

    def exact(self, t):
        from scipy.linalg import expm

        return self.ystar + expm(self.A * t) @ (self.y0 - self.ystar)

    def args(self):
        return linear_field, self.y0, self.A.ravel(), self.meta, self.d
