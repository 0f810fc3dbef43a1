"""Datasets: MNIST and Fashion-MNIST from IDX files, scikit-learn's digits offline.

Where IDX files are looked for, in order: an explicit directory, $CTNN_DATA, the user
cache (``pooch.os_cache("ctnn")``), system dataset folders (Debian's
``dataset-fashion-mnist`` installs /usr/share/datasets/fashion-mnist). In each place
both ``DIR/<name>/`` and ``DIR/`` itself are tried, gzip or not. Found nowhere, the
files are downloaded into the cache. Every file's uncompressed payload is checked
against a pinned SHA-256, so gzip settings don't matter and corrupt data never loads.
"""

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("digits", "mnist", "fashion-mnist")
SPLITS = ("validation", "test")

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the uncompressed payloads (shared/data/README.md of this project).
PAYLOAD_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}

SYSTEM_DIRS = (Path("/usr/share/datasets"),)
N_VALIDATION = 10_000


class DataError(RuntimeError):
    """A dataset that cannot be loaded: missing, truncated, corrupt or inconsistent."""


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray  # (n, d) in [0, 1]
    y_train: np.ndarray  # (n,) int64 in 0 … K−1
    x_eval: np.ndarray
    y_eval: np.ndarray
    eval_split: str
    n_classes: int = 10

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]


def read_idx(path, expected_sha256=None) -> np.ndarray:
    """An IDX file (gzip or raw) as a uint8 array, its header and size checked."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read or decompress ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim < 1 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: size {len(raw)} bytes, header {shape} needs {expected} (truncated or corrupt)")
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise DataError(f"{path}: payload SHA-256 {digest} does not match the pinned {expected_sha256} (corrupt file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path, array) -> None:
    """Write a uint8 array as IDX (gzip if the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    raw += array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def cache_dir() -> Path:
    import pooch

    return Path(pooch.os_cache("ctnn"))


def search_dirs(name, data_dir=None) -> list[Path]:
    """Places searched for ``name``'s files, in order."""
    bases = [Path(d) for d in (data_dir, os.environ.get("CTNN_DATA")) if d]
    bases.append(cache_dir())
    places = []
    for base in bases:
        places += [base / name, base]
    places += [d / name for d in SYSTEM_DIRS]
    return places


def find_file(filename, places):
    for place in places:
        for candidate in (place / (filename + ".gz"), place / filename):
            if candidate.is_file():
                return candidate
    return None


def _download(name, filename, target) -> Path:
    import pooch

    errors = []
    for mirror in MIRRORS[name]:
        try:
            return Path(pooch.retrieve(mirror + filename + ".gz", known_hash=None,
                                       fname=filename + ".gz", path=target, progressbar=False))
        except Exception as exc:  # noqa: BLE001 - any failure means try the next mirror
            errors.append(f"{mirror}: {exc}")
    raise DataError("; ".join(errors))


def locate(name, data_dir=None, download=True) -> dict:
    """Paths of the four IDX files of ``name``, downloading into the cache if needed."""
    places = search_dirs(name, data_dir)
    found = {key: find_file(fn, places) for key, fn in FILES.items()}
    missing = [FILES[k] for k, p in found.items() if p is None]
    if missing and download:
        target = cache_dir() / name
        try:
            for key, fn in FILES.items():
                if found[key] is None:
                    found[key] = _download(name, fn, target)
            missing = []
        except DataError as exc:
            reason = f"download failed ({exc})"
        else:
            reason = ""
    elif missing:
        reason = "download disabled"
    if missing:
        searched = "\n  ".join(str(p) for p in places)
        raise DataError(
            f"{name}: missing {', '.join(missing)}; {reason}. Searched:\n  {searched}\n"
            f"Put the files in one of these places, or pass --data-dir / set CTNN_DATA."
        )
    return found


def load_idx_pair(images_path, labels_path, sha=None):
    """Images (n, rows·cols) as uint8 and labels (n,) from two IDX files, consistent."""
    sha = sha or {}
    images = read_idx(images_path, sha.get(_canonical_name(images_path)))
    labels = read_idx(labels_path, sha.get(_canonical_name(labels_path)))
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{images_path}, {labels_path}: expected 3-D images and 1-D labels, got {images.shape}, {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{images_path} has {images.shape[0]} images but {labels_path} has {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range 0 … 9")
    return images.reshape(images.shape[0], -1), labels.astype(np.int64)


def _canonical_name(path):
    name = Path(path).name
    return name[:-3] if name.endswith(".gz") else name


def load(name="digits", split="validation", data_dir=None, dtype="float64", download=True) -> Dataset:
    """Train and evaluation arrays of a dataset, images scaled to [0, 1].

    split="validation": train on all but the last 10,000 training images, evaluate on
    those (the original EP setting); split="test": train on all, evaluate on the test set.
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if name == "digits":
        return _digits(split, dtype)
    paths = locate(name, data_dir, download)
    sha = PAYLOAD_SHA256[name]
    x, y = load_idx_pair(paths["train_images"], paths["train_labels"], sha)
    if split == "validation":
        x_eval, y_eval = x[-N_VALIDATION:], y[-N_VALIDATION:]
        x, y = x[:-N_VALIDATION], y[:-N_VALIDATION]
    else:
        x_eval, y_eval = load_idx_pair(paths["test_images"], paths["test_labels"], sha)
    scale = np.dtype(dtype).type(1 / 255)
    return Dataset(name, x.astype(dtype) * scale, y, x_eval.astype(dtype) * scale, y_eval, split)


def _digits(split, dtype) -> Dataset:
    """scikit-learn's 1,797 8×8 digits: a fixed shuffle, the last 360 as test, and the
    last 288 of the rest as validation."""
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    x = (d.data[order] / 16.0).astype(dtype)
    y = d.target[order].astype(np.int64)
    x_train, y_train, x_test, y_test = x[:-360], y[:-360], x[-360:], y[-360:]
    if split == "validation":
        return Dataset("digits", x_train[:-288], y_train[:-288], x_train[-288:], y_train[-288:], split)
    return Dataset("digits", x_train, y_train, x_test, y_test, split)
