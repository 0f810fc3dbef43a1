"""Local Hebbian learning rules: two phases of activities in, ΔW and Δb out."""

from .rules import contrastive_hebbian, vector_field_hebbian

__all__ = ["contrastive_hebbian", "vector_field_hebbian"]
