"""The editing fixtures (``conformance/editing``) with their own comparison rules (see its README).

* ``atol: null`` (names, hashes): exact equality;
* ``compare: "matrix …"``: 2x2 linear part within ``atol_linear``, translation column within ``atol``,
  last row exact;
* everything else: ``max |diff| <= atol``, NaN exactly where the golden array has NaN
  (uint8 images: ±1).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.golden import Golden


class EditingGolden(Golden):
    """Golden arrays of ``editing.npz`` / ``editing_index.json``."""

    def __init__(self, folder: Path):
        super().__init__(folder, "editing.npz", "editing_index.json")

    def full(self, name: str) -> np.ndarray:
        return self.npz[name]

    def check(self, name: str, actual, atol: float | None = None) -> float:
        """Assert ``actual`` matches ``name`` by its rule; return the worst deviation (translation for matrices)."""
        entry = self.index[name]
        gold = self.npz[name]
        a = np.asarray(actual.detach().cpu().numpy() if hasattr(actual, "detach") else actual)
        assert list(a.shape) == list(entry["shape"]), f"{name}: shape {a.shape} != {entry['shape']}"
        tol = entry["atol"] if atol is None else atol
        if tol is None or gold.dtype.kind in "USb":
            assert np.array_equal(a, gold), f"{name}: differs from the golden value"
            return 0.0
        g, c = gold.astype(np.float64), a.astype(np.float64)
        assert np.array_equal(np.isnan(g), np.isnan(c)), f"{name}: NaN pattern differs"
        d = np.abs(np.nan_to_num(g) - np.nan_to_num(c))
        if entry.get("compare", "").startswith("matrix"):
            linear, translation = d[..., :2, :2].max(), d[..., :2, 2].max()
            assert linear <= entry["atol_linear"], f"{name}: linear part off by {linear:.3g} > {entry['atol_linear']}"
            assert translation <= tol, f"{name}: translation off by {translation:.3g} > {tol}"
            assert d[..., 2, :].max() == 0, f"{name}: last row differs"
            return float(translation)
        worst = float(d.max()) if d.size else 0.0
        assert worst <= tol, f"{name}: max deviation {worst:.3g} > atol {tol:.3g}"
        return worst
