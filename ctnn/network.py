"""The layered continuous-time network: declaration, parameters, vector field, energy.

Layers ℓ = 0 … L; layer 0 is the clamped input x, layers 1 … L have states s_ℓ.
Inside the engine a batch is units-major: s is (N, B) with N = n_1 + … + n_L, so each
layer is a contiguous block of rows. Dynamics (Scellier & Bengio 2017):

    ds_ℓ/dt = ρ′(s_ℓ) ⊙ ( W_ℓ ρ(s_{ℓ−1}) + B_ℓ ρ(s_{ℓ+1}) + b_ℓ ) − s_ℓ + u_ℓ

with ρ(s_0) = x, B_ℓ = W_{ℓ+1}ᵀ (symmetric), its own array (asymmetric) or absent
(feedforward), and the injected signal u_1 (sigprop) and
u_L = β ρ′(s_L) ⊙ (c − ρ(s_L)) (a nudge of the output toward the target c).
"""

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from hebbian.rules import add_outer

ACTIVATIONS = ("hard_sigmoid", "logistic", "tanh")
CONNECTIVITIES = ("symmetric", "asymmetric", "feedforward")
HARD, LOGISTIC, TANH = range(3)
SYMMETRIC, ASYMMETRIC, FEEDFORWARD = range(3)


@njit(cache=True, inline="always")
def _rho(s, act):
    if act == HARD:
        return min(max(s, 0.0), 1.0)
    if act == LOGISTIC:
        return 1.0 / (1.0 + np.exp(-s))
    return np.tanh(s)


@njit(cache=True, inline="always")
def _drho(s, act):
    if act == HARD:  # 1 on the closed interval [0, 1]: a unit at 0 can still rise
        return 1.0 if 0.0 <= s <= 1.0 else 0.0
    if act == LOGISTIC:
        r = 1.0 / (1.0 + np.exp(-s))
        return r * (1.0 - r)
    r = np.tanh(s)
    return 1.0 - r * r


def _layered_field(s, theta, meta, data, out, block):
    """f(s) of the module docstring, for all layers (block −1) or layer block+1 only.

    meta = [L, activation, connectivity, n_0 … n_L, offsets of W_1 … W_L, b_1 … b_L,
    B_1 … B_{L−1}] into theta; data rows = [W_1 x + b_1 (n_1), u_1 (n_1), c (n_L), β (1)].
    """
    L, act, conn = meta[0], meta[1], meta[2]
    n = meta[3 : 4 + L]
    offW = meta[4 + L : 4 + 2 * L]
    offb = meta[4 + 2 * L : 4 + 3 * L]
    offB = meta[4 + 3 * L :]
    B = s.shape[1]
    row = np.zeros(L + 1, dtype=np.int64)  # row offset of layer k+1 in s
    for k in range(L):
        row[k + 1] = row[k] + n[k + 1]
    first, last = (0, L) if block < 0 else (block, block + 1)
    # ρ of the layers read: the block itself and its neighbours
    rho = np.empty_like(s)
    lo_r = row[max(first - 1, 0)]
    hi_r = row[min(last + 1, L)]
    for i in range(lo_r, hi_r):
        for j in range(B):
            rho[i, j] = _rho(s[i, j], act)
    cbase = 2 * n[1]
    none = np.empty((0, 0), dtype=s.dtype)
    for k in range(first, last):
        nk, r0 = n[k + 1], row[k]
        below, bias = none, theta[:0]
        if k > 0:  # layer 1's W_1 x + b_1 is data: the input is clamped
            m = n[k]
            below = np.dot(theta[offW[k] : offW[k] + nk * m].reshape((nk, m)), rho[row[k - 1] : r0])
            bias = theta[offb[k] : offb[k] + nk]
        above = none
        if k < L - 1 and conn != FEEDFORWARD:
            m2 = n[k + 2]
            if conn == SYMMETRIC:
                Wup = theta[offW[k + 1] : offW[k + 1] + m2 * nk].reshape((m2, nk))
                above = np.dot(Wup.T, rho[row[k + 1] : row[k + 2]])
            else:
                above = np.dot(theta[offB[k] : offB[k] + nk * m2].reshape((nk, m2)), rho[row[k + 1] : row[k + 2]])
        # pre = W_ℓ ρ(s_{ℓ−1}) + b_ℓ + B_ℓ ρ(s_{ℓ+1}); branch-free loops so they vectorise
        if k == 0:
            pre = data[:nk].copy()
        else:
            pre = below
            for i in range(nk):
                bi = bias[i]
                for j in range(B):
                    pre[i, j] += bi
        if above.shape[0] > 0:
            for i in range(nk):
                for j in range(B):
                    pre[i, j] += above[i, j]
        _leaky(out[r0 : r0 + nk], s[r0 : r0 + nk], pre, act)
        if k == 0:  # u_1
            for i in range(nk):
                for j in range(B):
                    out[i, j] += data[nk + i, j]
        if k == L - 1:  # u_L = β ρ′(s_L)(c − ρ(s_L)), per sample β
            beta = data[cbase + nk]
            for i in range(nk):
                for j in range(B):
                    if beta[j] != 0.0:
                        si = s[r0 + i, j]
                        out[r0 + i, j] += beta[j] * _drho(si, act) * (data[cbase + i, j] - _rho(si, act))


@njit(cache=True)
def _leaky(out, s, pre, act):
    """out = ρ′(s) ⊙ pre − s, one loop per activation so that each vectorises."""
    n, B = s.shape
    if act == HARD:
        for i in range(n):
            for j in range(B):
                si = s[i, j]
                out[i, j] = (pre[i, j] if 0.0 <= si <= 1.0 else 0.0) - si
    else:
        for i in range(n):
            for j in range(B):
                out[i, j] = _drho(s[i, j], act) * pre[i, j] - s[i, j]


# compiled per float type on first use (solvers.settle asks for the signature it needs)
layered_field = njit(cache=True)(_layered_field)


def rho(s, activation):
    """ρ elementwise, numpy."""
    if activation == "hard_sigmoid":
        return np.clip(s, 0.0, 1.0)
    if activation == "logistic":
        return 1.0 / (1.0 + np.exp(-s))
    return np.tanh(s)


def drho(s, activation):
    """ρ′ elementwise, numpy (closed-interval convention for the hard sigmoid)."""
    if activation == "hard_sigmoid":
        return ((s >= 0.0) & (s <= 1.0)).astype(s.dtype)
    r = rho(s, activation)
    return r * (1.0 - r) if activation == "logistic" else 1.0 - r * r


@dataclass(frozen=True)
class Network:
    """What the network is: sizes n_0 … n_L, activation ρ, connectivity, float type."""

    sizes: tuple
    activation: str = "hard_sigmoid"
    connectivity: str = "symmetric"
    dtype: str = "float64"
    meta: np.ndarray = field(init=False, repr=False, compare=False)
    shapes: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        sizes = tuple(int(n) for n in self.sizes)
        object.__setattr__(self, "sizes", sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be >= 2 positive integers, got {list(self.sizes)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {ACTIVATIONS}")
        if self.connectivity not in CONNECTIVITIES:
            raise ValueError(f"unknown connectivity {self.connectivity!r}; choose one of {CONNECTIVITIES}")
        L = len(sizes) - 1
        shapes = {}  # name -> (offset, shape) in theta
        off = 0
        for ell in range(1, L + 1):
            for name, shape in ((f"W{ell}", (sizes[ell], sizes[ell - 1])), (f"b{ell}", (sizes[ell],))):
                shapes[name] = (off, shape)
                off += int(np.prod(shape))
        if self.connectivity == "asymmetric":
            for ell in range(1, L):
                shapes[f"B{ell}"] = (off, (sizes[ell], sizes[ell + 1]))
                off += sizes[ell] * sizes[ell + 1]
        object.__setattr__(self, "shapes", shapes)
        offB = [shapes[f"B{ell}"][0] for ell in range(1, L)] if self.connectivity == "asymmetric" else []
        meta = [L, ACTIVATIONS.index(self.activation), CONNECTIVITIES.index(self.connectivity), *sizes]
        meta += [shapes[f"W{ell}"][0] for ell in range(1, L + 1)]
        meta += [shapes[f"b{ell}"][0] for ell in range(1, L + 1)]
        object.__setattr__(self, "meta", np.array(meta + offB, dtype=np.int64))

    @property
    def L(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        off, shape = list(self.shapes.values())[-1]
        return off + int(np.prod(shape))

    @property
    def n_units(self) -> int:
        return sum(self.sizes[1:])

    @property
    def blocks(self) -> np.ndarray:
        """Row offsets of layers 1 … L in a units-major state (N, B)."""
        return np.concatenate([[0], np.cumsum(self.sizes[1:])]).astype(np.int64)

    @property
    def bounds(self):
        return (0.0, 1.0) if self.activation == "hard_sigmoid" else (-np.inf, np.inf)

    def layer(self, s, ell):
        """Rows of layer ℓ (1 … L) of a units-major state: a view (n_ℓ, B)."""
        b = self.blocks
        return s[b[ell - 1] : b[ell]]

    def view(self, theta, name):
        off, shape = self.shapes[name]
        return theta[off : off + int(np.prod(shape))].reshape(shape)

    def init(self, rng) -> np.ndarray:
        """Glorot-uniform weights (U(±√(6/(fan_in+fan_out)))), zero biases: a flat θ."""
        theta = np.zeros(self.n_params, dtype=self.dtype)
        for name, (_, shape) in self.shapes.items():
            if name[0] in "WB":
                limit = np.sqrt(6.0 / (shape[0] + shape[1]))
                self.view(theta, name)[...] = rng.uniform(-limit, limit, size=shape)
        return theta

    def zeros(self, batch) -> np.ndarray:
        return np.zeros((self.n_units, batch), dtype=self.dtype)

    def data(self, theta, x, c=None, beta=0.0, u1=None) -> np.ndarray:
        """The field's per-sample inputs: [W_1 x + b_1; u_1; c; β] for x of shape (n_0, B)."""
        n1, nL, B = self.sizes[1], self.sizes[-1], x.shape[1]
        d = np.zeros((2 * n1 + nL + 1, B), dtype=self.dtype)
        add_outer(d[:n1], 1.0, self.view(theta, "W1"), x.T)  # W_1 x through the kernels' BLAS (ctnn.threads)
        d[:n1] += self.view(theta, "b1")[:, None]
        if u1 is not None:
            d[n1 : 2 * n1] = u1
        if c is not None:
            d[2 * n1 : 2 * n1 + nL] = c
        d[-1] = beta
        return d

    def feedforward(self, theta, x) -> np.ndarray:
        """One bottom-up pass s_ℓ = ρ(W_ℓ ρ(s_{ℓ−1}) + b_ℓ), clipped to the state bounds."""
        s = self.zeros(x.shape[1])
        a = x
        for ell in range(1, self.L + 1):
            pre = self.view(theta, f"W{ell}") @ a + self.view(theta, f"b{ell}")[:, None]
            self.layer(s, ell)[...] = np.clip(pre, *self.bounds) if self.activation == "hard_sigmoid" else pre
            a = self.activity(s, ell)
        return s

    def energy(self, theta, x, s) -> np.ndarray:
        """E(s) = ½Σ‖s_ℓ‖² − Σ ρ(s_ℓ)ᵀW_ℓρ(s_{ℓ−1}) − Σ b_ℓᵀρ(s_ℓ), per sample (symmetric only)."""
        if self.connectivity != "symmetric":
            raise ValueError("the energy exists only for symmetric connectivity")
        E = 0.5 * np.sum(s * s, axis=0)
        below = x
        for ell in range(1, self.L + 1):
            r = self.activity(s, ell)
            E -= np.sum(r * (self.view(theta, f"W{ell}") @ below), axis=0)
            E -= self.view(theta, f"b{ell}") @ r
            below = r
        return E

    def activity(self, s, ell) -> np.ndarray:
        """ρ(s_ℓ), (n_ℓ, B)."""
        return rho(self.layer(s, ell), self.activation)

    def output(self, s) -> np.ndarray:
        """ρ(s_L), (n_L, B)."""
        return self.activity(s, self.L)
