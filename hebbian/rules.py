"""Local learning rules: functions of pre- and postsynaptic activities in two phases.

Activities are units-major, (units, B): column j is example j. Every rule averages over
the batch and returns (ΔW, Δb) for one layer; a weight's change uses only the activities
of the two units it joins.
"""

import numpy as np
from scipy.linalg import blas


def contrastive_hebbian(pre_a, post_a, pre_b, post_b, scale, out=None):
    """ΔW = scale · ⟨ post_b pre_bᵀ − post_a pre_aᵀ ⟩,  Δb = scale · ⟨ post_b − post_a ⟩.

    Phase a is the reference (EP: the free phase, ρ(s⁰)); phase b the signal phase
    (ρ(s^β)). With scale = η/β this is EP's rule; for symmetric nudging pass the −β
    phase as a, the +β phase as b and scale = η/(2β). ``pre_a is pre_b`` (a clamped
    input, the same in both phases) takes one product instead of two. With
    ``out=(W, b)`` the change is added into W and b in place, and (W, b) is returned.
    """
    B = post_a.shape[1]
    k = scale / B
    if out is None:
        if pre_a is pre_b:
            dpost = post_b - post_a
            return k * (dpost @ pre_a.T), k * dpost.sum(axis=1)
        dW = post_b @ pre_b.T
        dW -= post_a @ pre_a.T
        return k * dW, k * (post_b.sum(axis=1) - post_a.sum(axis=1))
    W, b = out
    if pre_a is pre_b:
        add_outer(W, k, post_b - post_a, pre_a)
    else:
        add_outer(W, k, post_b, pre_b)
        add_outer(W, -k, post_a, pre_a)
    b += k * (post_b.sum(axis=1) - post_a.sum(axis=1))
    return W, b


def add_outer(W, alpha, post, pre):
    """W += α · post preᵀ in place: one BLAS gemm into Wᵀ (Fortran-ordered when W is C),
    without a temporary ΔW the size of W. Each operand goes to BLAS as the Fortran-ordered
    array it already is or as its transpose with the transpose flag, so nothing is copied."""
    gemm = {np.float32: blas.sgemm, np.float64: blas.dgemm}.get(W.dtype.type)
    if gemm is None or not W.T.flags.f_contiguous or post.dtype != W.dtype or pre.dtype != W.dtype:
        W += alpha * (post @ pre.T)
        return W
    a, trans_a = _fortran(pre)  # op(a) = pre
    b, trans_b = _fortran(post.T)  # op(b) = postᵀ
    result = gemm(alpha, a, b, beta=1.0, c=W.T, trans_a=trans_a, trans_b=trans_b, overwrite_c=True)
    if not np.shares_memory(result, W):  # the wrapper had to copy: write back
        W[...] = result.T
    return W


def _fortran(m):
    """(array, transpose flag) with op(array) = m and the array Fortran-ordered if m is contiguous."""
    return (m, 0) if m.flags.f_contiguous else (m.T, 1)


def vector_field_hebbian(pre_a, state_a, state_b, drho_a, scale):
    """ΔW = scale · ⟨ ((s_b − s_a) ⊙ ρ′(s_a)) ρ(pre_a)ᵀ ⟩,  Δb = scale · ⟨ (s_b − s_a) ⊙ ρ′(s_a) ⟩.

    The vector-field rule of asymmetric EP (Scellier et al. 2018): postsynaptic *states*
    (not activities) in the two phases, ρ′ at the reference state, presynaptic activity of
    the reference phase.
    """
    B = state_a.shape[1]
    delta = (state_b - state_a) * drho_a
    return (scale / B) * (delta @ pre_a.T), (scale / B) * delta.sum(axis=1)
