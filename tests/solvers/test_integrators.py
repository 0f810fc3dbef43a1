"""Each integrator against closed forms and scipy.integrate.solve_ivp."""

import dataclasses

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from solvers import DIVERGED, LIMIT, SETTLED, TABLEAUX, SolverError, settle

from .fields import Linear, linear_field

FIXED = {"euler": 1, "heun": 2, "rk4": 4}


@pytest.mark.parametrize("name", ["euler", "heun", "rk4", "dopri5"])
def test_matches_closed_form_and_solve_ivp(linear, name):
    T = 2.0
    step = 1e-3 if name == "euler" else 1e-2
    r = settle(*linear.args(), method=name, step=step, check=False, max_steps=10**6, t_max=T,
               step_atol=1e-12, step_rtol=1e-10)
    assert np.all(r.status == LIMIT) and np.allclose(r.t, T)
    exact = linear.exact(T)
    tol = {"euler": 2e-3, "heun": 1e-4, "rk4": 1e-8, "dopri5": 1e-8}[name]
    assert np.abs(r.y - exact).max() < tol
    for j in range(linear.y0.shape[1]):
        ref = solve_ivp(lambda t, y: linear.A @ y + linear.d[:, j], (0, T), linear.y0[:, j],
                        method="DOP853", rtol=1e-12, atol=1e-12)
        assert np.abs(r.y[:, j] - ref.y[:, -1]).max() < tol


@pytest.mark.parametrize("name", ["euler", "heun", "rk4", "dopri5"])
def test_convergence_order_by_halving_the_step(linear, name):
    tab = TABLEAUX[name]
    fixed = dataclasses.replace(tab, e=None)  # the propagated solution, at a fixed step
    T, exact = 1.0, linear.exact(1.0)
    errors = []
    for h in (0.1, 0.05, 0.025):
        r = settle(*linear.args(), method=fixed, step=h, check=False, max_steps=10**5, t_max=T)
        errors.append(np.abs(r.y - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - tab.order) < 0.3), orders


def test_dopri5_controls_its_error(linear):
    loose = settle(*linear.args(), method="dopri5", step=0.1, check=False, t_max=3.0, step_rtol=1e-4, step_atol=1e-6)
    tight = settle(*linear.args(), method="dopri5", step=0.1, check=False, t_max=3.0, step_rtol=1e-10, step_atol=1e-12)
    exact = linear.exact(3.0)
    assert np.abs(tight.y - exact).max() < 1e-9
    assert np.abs(tight.y - exact).max() < np.abs(loose.y - exact).max()
    assert np.all(tight.steps > loose.steps)


@pytest.mark.parametrize("name", ["euler", "heun", "rk4", "dopri5", "fixed_point"])
def test_every_method_settles_to_the_fixed_point(linear, name):
    step = 1.0 if name == "fixed_point" else 0.2
    r = settle(*linear.args(), method=name, step=step, atol=1e-10, max_steps=20000,
               blocks=linear.blocks, step_atol=1e-12, step_rtol=1e-10)
    assert np.all(r.status == SETTLED)
    assert np.all(r.residual <= 1e-10)
    assert np.abs(r.y - linear.ystar).max() < 1e-8


def test_each_sample_stops_on_its_own():
    lin = Linear(batch=2)
    lin.y0[:, 0] = lin.ystar[:, 0] + 1e-3  # near its fixed point
    lin.y0[:, 1] = lin.ystar[:, 1] + 10.0
    r = settle(*lin.args(), method="euler", step=0.1, atol=1e-8, max_steps=10**4)
    assert np.all(r.status == SETTLED)
    assert r.steps[0] < r.steps[1]


def test_fixed_step_mode_takes_exactly_max_steps(linear):
    r = settle(*linear.args(), method="euler", step=0.1, check=False, max_steps=17)
    assert np.all(r.steps == 17) and np.all(r.status == LIMIT)
    y = linear.y0.copy()
    for _ in range(17):
        y = y + 0.1 * (linear.A @ y + linear.d)
    assert np.allclose(r.y, y, rtol=0, atol=1e-14)


def test_fixed_step_mode_reports_the_residual_of_the_final_state(linear):
    """The residual pass is skipped between divergence checks: the final one is not."""
    for stop in ({"max_steps": 13}, {"max_steps": 10**6, "t_max": 1.05}):
        r = settle(*linear.args(), method="euler", step=0.1, check=False, **stop)
        assert np.all(r.status == LIMIT)
        np.testing.assert_allclose(r.residual, np.linalg.norm(linear.A @ r.y + linear.d, axis=0), rtol=1e-12)


@pytest.mark.parametrize("check", [True, False])
def test_unstable_system_is_stopped_early_as_diverged(check):
    lin = Linear()
    lin.A = np.eye(4) * 3.0
    r = settle(*lin.args(), method="euler", step=0.5, check=check, max_steps=10**4, max_norm=1e6)
    assert np.all(r.status == DIVERGED)
    assert np.all(r.steps < 30)  # |y| grows 2.5× a step: past 1e6 within ~16 steps


def test_projection_keeps_states_in_bounds(linear):
    r = settle(*linear.args(), method="rk4", step=0.1, check=False, max_steps=50, lo=-0.5, hi=0.5)
    assert r.y.min() >= -0.5 and r.y.max() <= 0.5


def test_nan_parameters_are_reported_diverged(linear):
    theta = linear.A.ravel().copy()
    theta[0] = np.nan
    r = settle(linear_field, linear.y0, theta, linear.meta, linear.d, method="dopri5", max_steps=100)
    assert np.all(r.status == DIVERGED)


@pytest.mark.parametrize("name", ["euler", "dopri5", "fixed_point"])
def test_trajectory_ends_at_the_returned_state(linear, name):
    r = settle(*linear.args(), method=name, step=0.3 if name != "fixed_point" else 1.0, atol=1e-9,
               max_steps=5000, record_every=3, blocks=linear.blocks)
    traj = r.trajectory
    assert traj.y.shape[1:] == r.y.shape
    assert np.array_equal(traj.y[-1], r.y)
    assert np.array_equal(traj.y[0], linear.y0)
    assert np.all(np.diff(traj.t, axis=0) >= 0)


def test_float32_states_stay_float32(linear):
    r = settle(linear_field, linear.y0.astype(np.float32), linear.A.ravel(), linear.meta,
               linear.d, method="rk4", step=0.1, atol=1e-4, max_steps=1000)
    assert r.y.dtype == np.float32 and np.all(r.status == SETTLED)
    assert np.abs(r.y - linear.ystar).max() < 1e-3


def test_bad_calls_raise_one_clear_error(linear):
    with pytest.raises(SolverError, match="unknown solver method 'rk45'"):
        settle(*linear.args(), method="rk45")
    with pytest.raises(SolverError, match="data must be"):
        settle(linear_field, linear.y0, linear.A.ravel(), linear.meta, linear.d[:, :1])
    with pytest.raises(SolverError, match="step must be"):
        settle(*linear.args(), step=0.0)
    with pytest.raises(SolverError, match="blocks"):
        settle(*linear.args(), method="fixed_point", blocks=[0, 3])


def test_a_field_that_is_not_a_jitted_field_function_is_one_clear_error(linear):
    from numba import njit

    _, y0, theta, meta, data = linear.args()
    for field in (lambda y, theta, meta, data, out, block: None, njit(lambda y: None)):
        with pytest.raises(SolverError, match="field must be a Numba-jitted function"):
            settle(field, y0, theta, meta, data)
