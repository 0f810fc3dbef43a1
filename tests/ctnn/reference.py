"""Plain NumPy references the compiled code is checked against."""

import numpy as np

from ctnn import drho, rho


def field(net, theta, x, s, c=None, beta=0.0, u1=None):
    """ds/dt of ALGORITHMS.md §1, layer by layer, straight from the equation."""
    out = np.zeros_like(s)
    for ell in range(1, net.L + 1):
        below = x if ell == 1 else rho(net.layer(s, ell - 1), net.activation)
        pre = net.view(theta, f"W{ell}") @ below + net.view(theta, f"b{ell}")[:, None]
        if ell < net.L and net.connectivity != "feedforward":
            Bm = net.view(theta, f"W{ell + 1}").T if net.connectivity == "symmetric" else net.view(theta, f"B{ell}")
            pre = pre + Bm @ rho(net.layer(s, ell + 1), net.activation)
        sl = net.layer(s, ell)
        o = drho(sl, net.activation) * pre - sl
        if ell == 1 and u1 is not None:
            o = o + u1
        if ell == net.L and c is not None:
            o = o + beta * drho(sl, net.activation) * (c - rho(sl, net.activation))
        net.layer(out, ell)[...] = o
    return out
