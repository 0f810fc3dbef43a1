"""Explicit Runge–Kutta methods as data: one Butcher tableau each, one driver for all.

A step of size h from y with stages k_i = f(y + h Σ_j A_ij k_j) gives
y⁺ = y + h Σ_i b_i k_i; an embedded method adds the error estimate h Σ_i e_i k_i
(e = b − b̂), which the adaptive driver scales by atol + rtol·max(|y|, |y⁺|).
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Tableau:
    name: str
    A: np.ndarray  # (stages, stages), strictly lower triangular
    b: np.ndarray  # (stages,)
    c: np.ndarray  # (stages,)
    order: int  # order of the solution b
    e: np.ndarray | None = None  # b − b̂ for an embedded error estimate
    error_order: int = 0  # order of the embedded estimate b̂

    @property
    def adaptive(self) -> bool:
        return self.e is not None

    @property
    def stages(self) -> int:
        return len(self.b)

    @cached_property
    def fsal(self) -> bool:
        """First same as last: the last stage is evaluated at y⁺ itself."""
        return bool(np.array_equal(self.A[-1], self.b) and self.c[-1] == 1.0)


def _tableau(name, A, b, c, order, e=None, error_order=0):
    A = np.array(A, dtype=np.float64)
    n = len(b)
    full = np.zeros((n, n))
    full[: A.shape[0], : A.shape[1]] = A
    return Tableau(
        name,
        full,
        np.array(b, dtype=np.float64),
        np.array(c, dtype=np.float64),
        order,
        None if e is None else np.array(e, dtype=np.float64),
        error_order,
    )


EULER = _tableau("euler", [[0.0]], [1.0], [0.0], 1)

HEUN = _tableau("heun", [[0, 0], [1, 0]], [0.5, 0.5], [0.0, 1.0], 2)

RK4 = _tableau(
    "rk4",
    [[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]],
    [1 / 6, 1 / 3, 1 / 3, 1 / 6],
    [0.0, 0.5, 0.5, 1.0],
    4,
)

# Dormand & Prince (1980), the 5(4) pair with the 5th-order solution propagated.
_DP_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]
_DP_BHAT = [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]
DOPRI5 = _tableau(
    "dopri5",
    [
        [0, 0, 0, 0, 0, 0, 0],
        [1 / 5, 0, 0, 0, 0, 0, 0],
        [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
        _DP_B,
    ],
    _DP_B,
    [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
    5,
    e=np.subtract(_DP_B, _DP_BHAT),
    error_order=4,
)

TABLEAUX = {t.name: t for t in (EULER, HEUN, RK4, DOPRI5)}
