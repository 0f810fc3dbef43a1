"""Continuous-time Hebbian networks: equilibrium propagation and signal propagation."""

from .network import ACTIVATIONS, CONNECTIVITIES, Network, drho, layered_field, rho

__all__ = ["ACTIVATIONS", "CONNECTIVITIES", "Network", "drho", "layered_field", "rho"]
