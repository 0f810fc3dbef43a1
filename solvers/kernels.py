"""Compiled drivers: a whole relaxation of a batch without returning to Python.

A vector field is a jitted function with the fixed signature

    f(y, theta, meta, data, out, block) -> None

that writes dy/dt into ``out`` (for ``block = -1``) or only the rows of block ``block``
(see ``blocks`` in :func:`fixed_point_drive`). ``y``, ``data`` and ``out`` are units-major:
one column per sample, so a block of rows is a contiguous (n, B) array for BLAS.
``theta`` (floats) and ``meta`` (ints) are the field's parameters; the drivers pass them
through untouched. Fixing the signature lets every field share one compiled driver, and
lets Numba cache it on disk (a driver that took a Dispatcher would recompile each run).
Drivers and fields are compiled per float type on first use.
"""

import functools

import numba
import numpy as np
from numba import njit, types
from numba.core.dispatcher import Dispatcher
from numba.core.typing.typeof import typeof_impl
from numba.experimental.function_type import _get_wrapper_address

RUNNING, SETTLED, LIMIT, DIVERGED = 0, 1, 2, 3
PI_BETA = 0.04  # weight of the previous error in the step-size controller
DIVERGENCE_EVERY = 8  # fixed steps without a residual test: look for divergence this often


def _array_types(dtype):
    F2 = types.Array(dtype, 2, "C")
    F3 = types.Array(dtype, 3, "C")
    return F2, F3


def field_signature(dtype):
    F2, _ = _array_types(dtype)
    return types.void(
        F2, types.Array(dtype, 1, "C"), types.Array(types.int64, 1, "C"), F2, F2, types.int64
    )


_D1 = types.Array(types.float64, 1, "C")
_D2 = types.Array(types.float64, 2, "C")
_I1 = types.Array(types.int64, 1, "C")
_S1 = types.Array(types.int8, 1, "C")
_f64, _i64, _b = types.float64, types.int64, types.boolean


def _rk_signature(dtype):
    F2, F3 = _array_types(dtype)
    return _i64(
        types.FunctionType(field_signature(dtype)),
        F2, types.Array(dtype, 1, "C"), _I1, F2,  # y, theta, meta, data
        _D2, _D1, _D1, _f64, _b,  # A, b, e, err_exp, fsal
        _f64, _f64, _f64, _f64, _b, _i64, _f64,  # lo, hi, atol, rtol, check, max_steps, t_max
        _f64, _f64, _f64,  # step_atol, step_rtol, max_norm
        _i64, F3, _D2, _D2,  # record_every, traj, traj_res, traj_t
        _I1, _I1, _D1, _S1, _D1, _D1,  # steps, nfev, res, status, t, h
    )


def _fp_signature(dtype):
    F2, F3 = _array_types(dtype)
    return _i64(
        types.FunctionType(field_signature(dtype)),
        F2, types.Array(dtype, 1, "C"), _I1, F2,  # y, theta, meta, data
        _I1, _f64, _f64, _f64, _f64, _b, _i64, _f64,  # blocks, lo, hi, atol, rtol, check, max_steps, max_norm
        _i64, F3, _D2, _D2,  # record_every, traj, traj_res, traj_t
        _I1, _I1, _D1, _S1, _D1,  # steps, nfev, res, status, t
    )


@njit(cache=True)
def _check(y, k, lo, hi, atol, rtol, check, max_norm, res, status, steps, max_steps):
    """Residual r = ‖P(y + f(y)) − y‖ per sample, then each running sample's verdict."""
    n, B = y.shape
    r2 = np.zeros(B, dtype=y.dtype)  # in the states' precision: float32 runs twice the lanes
    y2 = np.zeros(B, dtype=y.dtype)
    lo_, hi_ = y.dtype.type(lo), y.dtype.type(hi)
    for i in range(n):  # every sample, so that the loop vectorises; stopped ones are ignored below
        for j in range(B):
            d = min(max(y[i, j] + k[i, j], lo_), hi_) - y[i, j]
            r2[j] += d * d
            y2[j] += y[i, j] * y[i, j]
    active = 0
    for j in range(B):
        if status[j] != RUNNING:
            continue
        r = np.sqrt(r2[j])
        res[j] = r
        if not np.isfinite(r) or r > max_norm or np.sqrt(y2[j]) > max_norm:
            status[j] = DIVERGED
        elif check and r <= atol + rtol * np.sqrt(y2[j]):
            status[j] = SETTLED
        elif steps[j] >= max_steps:
            status[j] = LIMIT
        else:
            active += 1
    return active


@njit(cache=True)
def _record(rec, y, res, t, traj, traj_res, traj_t):
    # element loops: an array assignment would compile Numba's shape-mismatch message (~4 s)
    if rec >= traj.shape[0]:
        return rec
    n, B = y.shape
    for j in range(B):
        traj_res[rec, j] = res[j]
        traj_t[rec, j] = t[j]
        for i in range(n):
            traj[rec, i, j] = y[i, j]
    return rec + 1


def _rk_drive(f, y, theta, meta, data, A, b, e, err_exp, fsal, lo, hi, atol, rtol, check,
              max_steps, t_max, step_atol, step_rtol, max_norm, record_every,
              traj, traj_res, traj_t, steps, nfev, res, status, t, h):
    """Explicit Runge–Kutta relaxation, per-sample steps, optional error control.

    Each iteration: k₁ = f(y) gives the residual test; running samples then take
    y⁺ = P(y + h Σ b_i k_i) with P the projection onto [lo, hi]. Stage states are projected
    too, so a field with a kink at the bounds (the hard sigmoid's ρ′) is only ever evaluated
    inside them; without it higher-order methods chatter at saturated units. With an embedded
    estimate (``e`` non-empty) a sample's step is accepted when the RMS of
    h Σ e_i k_i / (step_atol + step_rtol·max(|y|, |y⁺|)) is ≤ 1; h is then scaled by
    min(10, max(0.2, 0.9·err^(err_exp + 0.75β)·err_prev^β)), β = PI_BETA, or after a
    rejection by max(0.2, 0.9·err^err_exp). Steps are clipped so that t never passes t_max.
    Returns the number of recorded trajectory points.
    """
    n, B = y.shape
    S = b.shape[0]
    adaptive = e.shape[0] > 0
    K = np.empty((S, n, B), dtype=y.dtype)
    ytmp = np.empty_like(y)
    hs = np.empty(B)  # the step each sample takes this iteration
    k0_valid = False
    err_prev = np.full(B, 1e-4)
    rec = 0
    it = 0
    active = 0
    max_iter = 10 * max_steps + 10
    while True:
        if not k0_valid:
            f(y, theta, meta, data, K[0], -1)
            for j in range(B):
                if status[j] == RUNNING:
                    nfev[j] += 1
        # Without the residual test a fixed step moves every running sample in lockstep
        # (steps = it), so the residual pass (~a tenth of a 20-step settle) is needed only for
        # divergence: every DIVERGENCE_EVERY steps, and for the final residual at the end.
        stopping = it >= max_steps
        for j in range(B):
            stopping |= status[j] == RUNNING and t[j] >= t_max
        if check or adaptive or record_every > 0 or it % DIVERGENCE_EVERY == 0 or stopping:
            active = _check(y, K[0], lo, hi, atol, rtol, check, max_norm, res, status, steps, max_steps)
        for j in range(B):
            if status[j] == RUNNING and t[j] >= t_max:
                status[j] = LIMIT
                active -= 1
        if record_every > 0 and it % record_every == 0:
            rec = _record(rec, y, res, t, traj, traj_res, traj_t)
        if active == 0:
            break
        if it >= max_iter:
            for j in range(B):
                if status[j] == RUNNING:
                    status[j] = LIMIT
            break
        it += 1
        for j in range(B):
            hs[j] = min(h[j], t_max - t[j]) if status[j] == RUNNING else 0.0
        if S == 1 and not adaptive:  # Euler: y ← P(y + h f(y)) in place, one pass
            for i in range(n):
                for j in range(B):  # a select, not a branch, so that the loop vectorises
                    v = min(max(y[i, j] + hs[j] * b[0] * K[0, i, j], lo), hi)
                    y[i, j] = v if status[j] == RUNNING else y[i, j]
            for j in range(B):
                if status[j] == RUNNING:
                    steps[j] += 1
                    t[j] += hs[j]
            continue
        for s in range(1, S):
            for i in range(n):
                for j in range(B):
                    acc = y[i, j]
                    for m in range(s):
                        acc += hs[j] * A[s, m] * K[m, i, j]
                    ytmp[i, j] = min(max(acc, lo), hi)  # stages stay in the box too
            f(ytmp, theta, meta, data, K[s], -1)
            for j in range(B):
                if status[j] == RUNNING:
                    nfev[j] += 1
        # y⁺ into ytmp, error norm per sample
        err2 = np.zeros(B)
        for i in range(n):
            for j in range(B):
                acc = y[i, j]
                for m in range(S):
                    acc += hs[j] * b[m] * K[m, i, j]
                if adaptive:
                    est = 0.0
                    for m in range(S):
                        est += hs[j] * e[m] * K[m, i, j]
                    scale = step_atol + step_rtol * max(abs(y[i, j]), abs(acc))
                    err2[j] += (est / scale) ** 2
                ytmp[i, j] = min(max(acc, lo), hi)
        accept = np.ones(B, dtype=np.bool_)
        if adaptive:
            for j in range(B):
                if status[j] != RUNNING:
                    continue
                err = np.sqrt(err2[j] / n)
                if not np.isfinite(err):
                    status[j] = DIVERGED
                    accept[j] = False
                    continue
                if err <= 1.0:
                    # PI control (Gustafsson; the Lund stabilisation of Hairer's DOPRI5):
                    # the previous error damps the step-size oscillation that an explicit
                    # method shows at its stability limit, where a relaxation spends its time
                    err = max(err, 1e-10)
                    factor = min(10.0, max(0.2, 0.9 * err ** (err_exp + 0.75 * PI_BETA) * err_prev[j] ** PI_BETA))
                    err_prev[j] = max(err, 1e-4)
                else:
                    accept[j] = False
                    factor = min(1.0, max(0.2, 0.9 * err**err_exp))
                h[j] = hs[j] * factor
        for i in range(n):
            for j in range(B):
                if status[j] == RUNNING and accept[j]:
                    y[i, j] = ytmp[i, j]
                    if fsal:
                        K[0, i, j] = K[S - 1, i, j]
        for j in range(B):
            if status[j] == RUNNING and accept[j]:
                steps[j] += 1
                t[j] += hs[j]
        k0_valid = fsal
    if record_every > 0 and (it % record_every != 0):
        rec = _record(min(rec, traj.shape[0] - 1), y, res, t, traj, traj_res, traj_t)
    return rec


def _fixed_point_drive(f, y, theta, meta, data, blocks, lo, hi, atol, rtol, check,
                       max_steps, max_norm, record_every, traj, traj_res, traj_t,
                       steps, nfev, res, status, t):
    """Block Gauss–Seidel sweep: s_k ← P(s_k + f_k(s)) for each block k in turn.

    For fields of the form f(s) = g(s) − s this is the fixed-point map s_k ← P(g_k(s))
    applied block by block with the newest neighbours. The full evaluation at the start
    of each sweep gives the residual test and the first block's update.
    """
    n, B = y.shape
    nb = blocks.shape[0] - 1
    k = np.empty_like(y)
    rec = 0
    it = 0
    while True:
        f(y, theta, meta, data, k, -1)
        for j in range(B):
            if status[j] == RUNNING:
                nfev[j] += 1
        active = _check(y, k, lo, hi, atol, rtol, check, max_norm, res, status, steps, max_steps)
        if record_every > 0 and it % record_every == 0:
            rec = _record(rec, y, res, t, traj, traj_res, traj_t)
        if active == 0:
            break
        it += 1
        for blk in range(nb):
            if blk > 0:
                f(y, theta, meta, data, k, blk)
            for i in range(blocks[blk], blocks[blk + 1]):
                for j in range(B):
                    if status[j] == RUNNING:
                        y[i, j] = min(max(y[i, j] + k[i, j], lo), hi)
        for j in range(B):
            if status[j] == RUNNING:
                steps[j] += 1
                t[j] += 1.0
                # the sweep's block evaluations add up to about one more full evaluation
                nfev[j] += 1 if nb > 1 else 0
    if record_every > 0 and it % record_every != 0:
        rec = _record(min(rec, traj.shape[0] - 1), y, res, t, traj, traj_res, traj_t)
    return rec


_DRIVERS = {"rk": (_rk_drive, _rk_signature), "fixed_point": (_fixed_point_drive, _fp_signature)}


@functools.cache
def driver(kind, dtype):
    """The driver ``kind`` ("rk" or "fixed_point") for one float type, compiled on first use
    (or loaded from Numba's disk cache): a float32 run never compiles the float64 code."""
    fn, signature = _DRIVERS[kind]
    return njit(signature(numba.from_dtype(np.dtype(dtype))), cache=True)(fn)


class _CompiledField(types.WrapperAddressProtocol):
    """A field compiled for one float type, handed to the drivers by its address: passing
    the Dispatcher itself costs a signature lookup on every call (~20 µs)."""

    def __init__(self, field, dtype):
        self._signature = field_signature(numba.from_dtype(np.dtype(dtype)))
        if isinstance(field, Dispatcher) and tuple(self._signature.args) not in field.overloads:
            field.compile(self._signature)  # lazily jitted: this float type only
        self._address = _get_wrapper_address(field, self._signature)
        self._field = field  # keeps the compiled code alive
        self.numba_type = types.FunctionType(self._signature)

    def __wrapper_address__(self):
        return self._address

    def signature(self):
        return self._signature


@typeof_impl.register(_CompiledField)
def _typeof_compiled_field(val, c):
    return val.numba_type  # built once, not on every call


@functools.cache
def compiled_field(field, dtype):
    """The field compiled for ``dtype`` (once per field and float type)."""
    return _CompiledField(field, np.dtype(dtype))
