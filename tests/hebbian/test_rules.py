"""Rules against hand-computed sums of outer products."""

import numpy as np
import pytest

from hebbian import contrastive_hebbian, vector_field_hebbian


def _outer_mean(post, pre):
    return sum(np.outer(post[:, j], pre[:, j]) for j in range(post.shape[1])) / post.shape[1]


def test_contrastive_hebbian_is_the_mean_outer_product_difference():
    rng = np.random.default_rng(0)
    pre_a, pre_b = rng.random((5, 7)), rng.random((5, 7))
    post_a, post_b = rng.random((3, 7)), rng.random((3, 7))
    dW, db = contrastive_hebbian(pre_a, post_a, pre_b, post_b, 0.3)
    assert np.allclose(dW, 0.3 * (_outer_mean(post_b, pre_b) - _outer_mean(post_a, pre_a)))
    assert np.allclose(db, 0.3 * (post_b - post_a).mean(axis=1))


def test_shared_presynaptic_input_gives_the_same_update():
    rng = np.random.default_rng(1)
    x = rng.random((6, 4))
    post_a, post_b = rng.random((2, 4)), rng.random((2, 4))
    shared = contrastive_hebbian(x, post_a, x, post_b, -1.5)
    separate = contrastive_hebbian(x, post_a, x.copy(), post_b, -1.5)
    assert np.allclose(shared[0], separate[0]) and np.allclose(shared[1], separate[1])


def test_identical_phases_change_nothing():
    rng = np.random.default_rng(2)
    pre, post = rng.random((4, 3)), rng.random((2, 3))
    dW, db = contrastive_hebbian(pre, post, pre.copy(), post.copy(), 1.0)
    assert np.all(dW == 0) and np.all(db == 0)


def test_vector_field_rule_by_hand():
    rng = np.random.default_rng(3)
    pre, sa, sb, d = rng.random((4, 5)), rng.random((3, 5)), rng.random((3, 5)), rng.random((3, 5))
    dW, db = vector_field_hebbian(pre, sa, sb, d, 2.0)
    assert np.allclose(dW, 2.0 * _outer_mean((sb - sa) * d, pre))
    assert np.allclose(db, 2.0 * ((sb - sa) * d).mean(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shared", [True, False])
def test_in_place_update_equals_the_returned_one(dtype, shared):
    rng = np.random.default_rng(4)
    pre_a = rng.random((6, 5)).astype(dtype)
    pre_b = pre_a if shared else rng.random((6, 5)).astype(dtype)
    post_a, post_b = rng.random((4, 5)).astype(dtype), rng.random((4, 5)).astype(dtype)
    W0, b0 = rng.random((4, 6)).astype(dtype), rng.random(4).astype(dtype)
    dW, db = contrastive_hebbian(pre_a, post_a, pre_b, post_b, 0.7)
    W, b = W0.copy(), b0.copy()
    got = contrastive_hebbian(pre_a, post_a, pre_b, post_b, 0.7, out=(W, b))
    assert got[0] is W and got[1] is b
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert np.allclose(W, W0 + dW, atol=tol) and np.allclose(b, b0 + db, atol=tol)
    assert W.dtype == dtype


def test_in_place_update_into_a_view_of_a_flat_parameter_vector():
    rng = np.random.default_rng(5)
    theta = rng.random(4 * 6 + 4)
    W, b = theta[:24].reshape(4, 6), theta[24:]
    pre = rng.random((6, 3)).T.copy().T  # a Fortran-ordered batch, as the engine slices it
    post_a, post_b = rng.random((4, 3)), rng.random((4, 3))
    dW, db = contrastive_hebbian(pre, post_a, pre, post_b, 2.0)
    before = theta.copy()
    contrastive_hebbian(pre, post_a, pre, post_b, 2.0, out=(W, b))
    assert np.allclose(theta[:24], before[:24] + dW.ravel()) and np.allclose(theta[24:], before[24:] + db)
