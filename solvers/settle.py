"""One contract for every integrator: relax a batch until each sample settles.

States are units-major arrays (n, B): column j is sample j, and samples never interact,
so each stops on its own. A sample has settled when its residual
r = ‖P(y + f(y)) − y‖₂ (P: projection onto [lo, hi]; r = ‖f(y)‖ without bounds) is
≤ atol + rtol·‖y‖₂. It stops at the step limit, at t_max, or as diverged (a non-finite
value, or a residual or state norm above max_norm; with a fixed step and no residual test
this is looked for every few steps and at the end).
"""

from dataclasses import dataclass

import numpy as np
from numba.core.errors import NumbaError

from . import kernels
from .kernels import DIVERGED, LIMIT, RUNNING, SETTLED
from .tableaux import TABLEAUX, Tableau

METHODS = (*TABLEAUX, "fixed_point")
STATUS_NAMES = {RUNNING: "running", SETTLED: "settled", LIMIT: "limit", DIVERGED: "diverged"}


class SolverError(ValueError):
    """A settle call that cannot run: unknown method, bad shapes or options."""


@dataclass
class Trajectory:
    t: np.ndarray  # (R, B) time of each record per sample
    y: np.ndarray  # (R, n, B) states
    residual: np.ndarray  # (R, B)


@dataclass
class SettleResult:
    y: np.ndarray  # (n, B) final states
    steps: np.ndarray  # (B,) accepted steps (sweeps for fixed_point)
    nfev: np.ndarray  # (B,) vector-field evaluations
    residual: np.ndarray  # (B,) residual norm at the final state
    status: np.ndarray  # (B,) SETTLED, LIMIT or DIVERGED
    t: np.ndarray  # (B,) time reached
    trajectory: Trajectory | None = None

    @property
    def settled(self) -> np.ndarray:
        return self.status == SETTLED

    @property
    def diverged(self) -> np.ndarray:
        return self.status == DIVERGED


def settle(
    field,
    y0,
    theta,
    meta,
    data,
    *,
    method="euler",
    step=0.5,
    atol=1e-6,
    rtol=0.0,
    check=True,
    max_steps=1000,
    t_max=np.inf,
    lo=-np.inf,
    hi=np.inf,
    blocks=None,
    step_atol=1e-8,
    step_rtol=1e-6,
    max_norm=1e8,
    record_every=0,
    copy=True,
):
    """Integrate dy/dt = f(y) from y0 until every sample settles or stops.

    ``field`` is a jitted function of the signature in :mod:`solvers.kernels`;
    ``theta``, ``meta`` and ``data`` are passed to it unchanged. ``method`` is one of
    :data:`METHODS` (or a :class:`Tableau`): explicit Runge–Kutta (``euler``, ``heun``, ``rk4``, fixed step
    ``step``; ``dopri5``, adaptive from the initial step ``step`` with error tolerances
    ``step_atol``/``step_rtol``) or ``fixed_point`` (block sweeps over ``blocks``, row
    offsets of consecutive blocks; default one block). ``check=False`` disables the
    residual test: exactly ``max_steps`` steps (or up to ``t_max``) are taken, the
    original "N steps of ε". ``record_every=k`` records every k-th iteration and the last.
    """
    if not isinstance(method, Tableau) and method not in METHODS:
        raise SolverError(f"unknown solver method {method!r}; choose one of {', '.join(METHODS)}")
    y = np.array(y0, copy=copy, order="C")
    if y.ndim != 2 or y.dtype not in (np.float32, np.float64):
        raise SolverError(f"states must be a 2-D float32/float64 array (units, batch), got {y.dtype} {y.shape}")
    dtype = y.dtype
    theta = np.ascontiguousarray(theta, dtype=dtype)
    meta = np.ascontiguousarray(meta, dtype=np.int64)
    data = np.ascontiguousarray(data, dtype=dtype)
    if data.ndim != 2 or data.shape[1] != y.shape[1]:
        raise SolverError(f"data must be (rows, batch={y.shape[1]}), got {data.shape}")
    if not (step > 0 and np.isfinite(step)):
        raise SolverError(f"step must be a positive number, got {step}")
    if max_steps < 0 or not (lo < hi):
        raise SolverError(f"need max_steps >= 0 and lo < hi, got {max_steps}, [{lo}, {hi}]")
    n, B = y.shape
    steps = np.zeros(B, np.int64)
    nfev = np.zeros(B, np.int64)
    res = np.full(B, np.nan)
    status = np.zeros(B, np.int8)
    t = np.zeros(B)
    R = max_steps // record_every + 2 if record_every > 0 else 0
    traj = np.empty((R, n if R else 0, B if R else 0), dtype)
    traj_res = np.empty((R, B if R else 0))
    traj_t = np.empty((R, B if R else 0))
    try:
        field = kernels.compiled_field(field, dtype)
    except (NotImplementedError, TypeError, RuntimeError, NumbaError) as exc:  # not a jitted field
        raise SolverError(f"field must be a Numba-jitted function f(y, theta, meta, data, out, block) "
                          f"compiled for {dtype} arrays: {exc}") from exc
    common = (float(lo), float(hi), float(atol), float(rtol), bool(check), int(max_steps))
    if method == "fixed_point":
        blocks = np.array([0, n] if blocks is None else blocks, dtype=np.int64)
        if blocks[0] != 0 or blocks[-1] != n or np.any(np.diff(blocks) <= 0):
            raise SolverError(f"blocks must be increasing row offsets from 0 to {n}, got {blocks}")
        rec = kernels.driver("fixed_point", dtype)(
            field, y, theta, meta, data, blocks, *common, float(max_norm),
            int(record_every), traj, traj_res, traj_t, steps, nfev, res, status, t,
        )
    else:
        tab = method if isinstance(method, Tableau) else TABLEAUX[method]
        e = tab.e if tab.adaptive else np.zeros(0)
        err_exp = -1.0 / (min(tab.order, tab.error_order) + 1) if tab.adaptive else 0.0
        h = np.full(B, float(step))
        rec = kernels.driver("rk", dtype)(
            # FSAL reuses the last stage as the next k₁: exact only when no projection moves y⁺
            field, y, theta, meta, data, tab.A, tab.b, e, err_exp, tab.fsal and lo == -np.inf and hi == np.inf,
            *common, float(t_max),
            float(step_atol), float(step_rtol), float(max_norm), int(record_every),
            traj, traj_res, traj_t, steps, nfev, res, status, t, h,
        )
    trajectory = Trajectory(traj_t[:rec], traj[:rec], traj_res[:rec]) if record_every > 0 else None
    return SettleResult(y, steps, nfev, res, status, t, trajectory)
