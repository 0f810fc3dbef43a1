"""Local learning rules: functions of pre- and postsynaptic activities in two phases.

Activities are units-major, (units, B): column j is example j. Every rule averages over
the batch and returns (ΔW, Δb) for one layer; a weight's change uses only the activities
of the two units it joins.
"""

import numpy as np


def contrastive_hebbian(pre_a, post_a, pre_b, post_b, scale):
    """ΔW = scale · ⟨ post_b pre_bᵀ − post_a pre_aᵀ ⟩,  Δb = scale · ⟨ post_b − post_a ⟩.

    Phase a is the reference (EP: the free phase, ρ(s⁰)); phase b the signal phase
    (ρ(s^β)). With scale = η/β this is EP's rule; for symmetric nudging pass the −β
    phase as a, the +β phase as b and scale = η/(2β). ``pre_a is pre_b`` (a clamped
    input, the same in both phases) takes one product instead of two.
    """
    B = post_a.shape[1]
    k = scale / B
    if pre_a is pre_b:
        dpost = post_b - post_a
        return k * (dpost @ pre_a.T), k * dpost.sum(axis=1)
    dW = post_b @ pre_b.T
    dW -= post_a @ pre_a.T
    return k * dW, k * (post_b.sum(axis=1) - post_a.sum(axis=1))


def vector_field_hebbian(pre_a, state_a, state_b, drho_a, scale):
    """ΔW = scale · ⟨ ((s_b − s_a) ⊙ ρ′(s_a)) ρ(pre_a)ᵀ ⟩,  Δb = scale · ⟨ (s_b − s_a) ⊙ ρ′(s_a) ⟩.

    The vector-field rule of asymmetric EP (Scellier et al. 2018): postsynaptic *states*
    (not activities) in the two phases, ρ′ at the reference state, presynaptic activity of
    the reference phase.
    """
    B = state_a.shape[1]
    delta = (state_b - state_a) * drho_a
    return (scale / B) * (delta @ pre_a.T), (scale / B) * delta.sum(axis=1)
