"""The data layer: IDX parsing, integrity checks, search order, offline behaviour."""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from ctnn import data
from ctnn.data import DataError, load_idx_pair, read_idx, write_idx

SHARED = Path(os.environ.get("CTNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
HAVE_MNIST = (SHARED / "mnist" / "train-labels-idx1-ubyte.gz").is_file()
need_real = pytest.mark.skipif(
    not HAVE_MNIST and not os.environ.get("CI"),
    reason=f"real MNIST files not found under {SHARED} (set CTNN_DATA)",
)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    a = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    write_idx(tmp_path / f"x{suffix}", a)
    b = read_idx(tmp_path / f"x{suffix}")
    assert b.dtype == np.uint8 and np.array_equal(a, b)


def test_truncated_file_names_the_file(tmp_path):
    write_idx(tmp_path / "t", np.zeros((10, 2, 2), np.uint8))
    raw = (tmp_path / "t").read_bytes()
    (tmp_path / "t").write_bytes(raw[:-5])
    with pytest.raises(DataError, match=r"/t: size 51 bytes, .* \(truncated"):
        read_idx(tmp_path / "t")


def test_truncated_gzip_stream(tmp_path):
    write_idx(tmp_path / "t.gz", np.zeros((100, 4, 4), np.uint8))
    raw = (tmp_path / "t.gz").read_bytes()
    (tmp_path / "t.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="t.gz: cannot read or decompress"):
        read_idx(tmp_path / "t.gz")


def test_wrong_magic_number(tmp_path):
    (tmp_path / "m").write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        read_idx(tmp_path / "m")


def test_corrupt_payload_fails_the_pinned_hash(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "c", a)
    good = hashlib.sha256((tmp_path / "c").read_bytes()).hexdigest()
    assert read_idx(tmp_path / "c", good).shape == (2, 3, 4)
    a[1, 1, 1] ^= 1  # one flipped bit, same size
    write_idx(tmp_path / "c", a)
    with pytest.raises(DataError, match="does not match the pinned"):
        read_idx(tmp_path / "c", good)


def test_image_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "img", np.zeros((4, 2, 2), np.uint8))
    write_idx(tmp_path / "lab", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="4 images but .* 3 labels"):
        load_idx_pair(tmp_path / "img", tmp_path / "lab")


def test_label_out_of_range(tmp_path):
    write_idx(tmp_path / "img", np.zeros((2, 2, 2), np.uint8))
    write_idx(tmp_path / "lab", np.array([1, 12], np.uint8))
    with pytest.raises(DataError, match="label 12 out of range"):
        load_idx_pair(tmp_path / "img", tmp_path / "lab")


def _fake_dataset(folder, n_train=12, n_test=4):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))


def test_search_order(tmp_path, monkeypatch):
    explicit, env, cache = tmp_path / "explicit", tmp_path / "env", tmp_path / "cache"
    monkeypatch.setenv("CTNN_DATA", str(env))
    monkeypatch.setattr(data, "cache_dir", lambda: cache)
    places = data.search_dirs("mnist", explicit)
    assert places[:6] == [explicit / "mnist", explicit, env / "mnist", env, cache / "mnist", cache]
    assert places[-1] == Path("/usr/share/datasets/mnist")
    for base in (cache, env / "mnist", explicit):
        _fake_dataset(base)
    assert data.locate("mnist", explicit, download=False)["train_images"].parent == explicit
    assert data.locate("mnist", None, download=False)["train_images"].parent == env / "mnist"
    monkeypatch.delenv("CTNN_DATA")
    assert data.locate("mnist", None, download=False)["train_images"].parent == cache


def test_offline_error_names_the_files_and_places(tmp_path, monkeypatch):
    monkeypatch.delenv("CTNN_DATA", raising=False)
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path / "cache")

    def offline(name, filename, target):
        raise DataError("network unreachable")

    monkeypatch.setattr(data, "_download", offline)
    with pytest.raises(DataError) as err:
        data.load("fashion-mnist", data_dir=tmp_path / "nowhere")
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "download failed (network unreachable)" in msg
    assert str(tmp_path / "nowhere") in msg and "/usr/share/datasets/fashion-mnist" in msg


def test_fake_files_fail_the_pinned_hashes(tmp_path):
    _fake_dataset(tmp_path / "mnist")
    with pytest.raises(DataError, match="does not match the pinned"):
        data.load("mnist", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("split", ["validation", "test"])
def test_digits_shapes_and_ranges(split):
    d = data.load("digits", split, dtype="float32")
    assert d.x_train.dtype == np.float32 and d.x_train.shape[1] == 64
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    assert len(d.y_train) + len(d.y_eval) == (1437 if split == "validation" else 1797)


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="unknown dataset 'cifar'"):
        data.load("cifar")
    with pytest.raises(DataError, match="unknown split"):
        data.load("digits", "holdout")


@need_real
def test_real_mnist_class_counts_and_splits():
    d = data.load("mnist", "test", data_dir=SHARED, download=False)
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(d.y_train).tolist() == counts
    assert np.bincount(d.y_eval).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert d.x_train.shape == (60000, 784) and d.x_train.dtype == np.float64
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    v = data.load("mnist", "validation", data_dir=SHARED, download=False, dtype="float32")
    assert v.x_train.shape == (50000, 784) and v.x_eval.shape == (10000, 784)
    assert np.array_equal(v.y_eval, d.y_train[-10000:])


@need_real
def test_real_fashion_mnist_loads_and_is_balanced():
    d = data.load("fashion-mnist", "test", data_dir=SHARED, download=False)
    assert np.bincount(d.y_train).tolist() == [6000] * 10
    assert np.bincount(d.y_eval).tolist() == [1000] * 10


@need_real
def test_uncompressed_copy_loads_with_the_same_payload_hash(tmp_path):
    target = tmp_path / "mnist"
    target.mkdir()
    for name in data.FILES.values():
        (target / name).write_bytes(gzip.decompress((SHARED / "mnist" / f"{name}.gz").read_bytes()))
    d = data.load("mnist", "validation", data_dir=tmp_path, download=False)
    assert d.x_train.shape == (50000, 784)
