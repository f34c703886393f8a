"""Compare arrays with the official golden data in ``../shared/conformance``.

Implements the comparison rules of the conformance README: full arrays element-wise,
sampled arrays on their 2048 samples plus mean/std and, for images, 8x8 block means;
uint8 images within +-1 with at most 0.5 % of samples differing.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class Golden:
    """Golden arrays of one conformance folder (``golden.npz`` + ``golden_index.json``)."""

    def __init__(self, folder: Path, npz: str = "golden.npz", index: str = "golden_index.json"):
        self.folder = Path(folder)
        self.npz = np.load(self.folder / npz)
        self.index = json.loads((self.folder / index).read_text())

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self.index if n.startswith(prefix)]

    def full(self, name: str) -> np.ndarray:
        """The whole array (only for entries stored in full)."""
        if self.index[name]["storage"] != "full":
            raise KeyError(f"{name} is sampled, not stored in full")
        return self.npz[name]

    def check(self, name: str, actual, atol: float | None = None) -> float:
        """Assert ``actual`` matches golden entry ``name``; return the worst deviation / atol."""
        entry = self.index[name]
        a = np.asarray(actual.detach().cpu().numpy() if hasattr(actual, "detach") else actual)
        assert list(a.shape) == list(entry["shape"]), f"{name}: shape {a.shape} != {entry['shape']}"
        tol = entry["atol"] if atol is None else atol
        if name.endswith("_uint8"):
            return self._check_uint8(name, a)
        diff = self.differences(name, a)
        dev = float(diff.max()) if diff.size else 0.0
        if entry["storage"] != "full":
            flat = a.reshape(-1).astype(np.float64)
            mean, std = self.npz[name + ".stats"][:2]
            dev = max(dev, abs(flat.mean() - mean), abs(flat.std() - std))
            if name + ".pool8" in self.npz.files:
                b, c, h, w = a.shape
                pooled = a.astype(np.float64).reshape(b, c, h // 8, 8, w // 8, 8).mean(axis=(3, 5))
                dev = max(dev, float(np.max(np.abs(pooled - self.npz[name + ".pool8"]))))
        assert dev <= tol, f"{name}: max deviation {dev:.3g} > atol {tol:.3g}"
        return dev

    def differences(self, name: str, actual) -> np.ndarray:
        """|actual - golden| on every stored element (the whole array, or the 2048 samples)."""
        a = np.asarray(actual.detach().cpu().numpy() if hasattr(actual, "detach") else actual).astype(np.float64)
        if self.index[name]["storage"] == "full":
            return np.abs(a - self.npz[name])
        return np.abs(a.reshape(-1)[self.npz[name + ".idx"]] - self.npz[name + ".values"])

    def _check_uint8(self, name: str, a: np.ndarray) -> float:
        flat = a.reshape(-1).astype(np.int64)
        ref = self.npz[name + ".values"].astype(np.int64)
        diff = np.abs(flat[self.npz[name + ".idx"]] - ref)
        assert diff.max() <= 1, f"{name}: uint8 difference {diff.max()} > 1"
        frac = float((diff > 0).mean())
        assert frac <= 0.005, f"{name}: {frac:.2%} of samples differ (allowed 0.5 %)"
        return float(diff.max())
