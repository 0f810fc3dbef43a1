"""Batched ODE integrators that run until each sample settles. Knows nothing about neurons."""

from .kernels import DIVERGED, LIMIT, RUNNING, SETTLED, field_signature
from .settle import METHODS, STATUS_NAMES, SettleResult, SolverError, Trajectory, settle
from .tableaux import TABLEAUX, Tableau

__all__ = [
    "DIVERGED", "LIMIT", "METHODS", "RUNNING", "SETTLED", "STATUS_NAMES", "SettleResult",
    "SolverError", "TABLEAUX", "Tableau", "Trajectory", "field_signature", "settle",
]
