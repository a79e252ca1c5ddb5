r"""Smooth datafits :math:`f(w)` of full-batch linear problems.

* :class:`Quadratic`: :math:`f(w) = \frac{1}{2n}\lVert y - X'w\rVert_2^2`;
* :class:`Logistic`: :math:`f(w) = \frac1n \sum_i \log(1 + e^{-y_i x_i'^\top w})`, :math:`y_i\in\{-1, 1\}`.

Here :math:`X' = X - v\mu^\top`: ``X_offset`` (:math:`\mu`, default 0) centres the columns
of a sparse design without densifying it and ``row_scale`` (:math:`v`, default ones; the
square roots of the sample weights) is the vector the offset is multiplied by. Dense
designs are usually centred explicitly and use neither.

Both hold the design twice: as float64 NumPy/SciPy arrays (for the compiled coordinate
descent of :mod:`proxgan.solvers.cd`) and, on first use, as torch tensors on ``device``
(for the ``value``/``grad`` methods, used by ISTA/FISTA). ``X`` may be a NumPy array, a SciPy
sparse matrix or a torch tensor.

Examples
--------
>>> import numpy as np, torch
>>> from proxgan.datafits import Quadratic
>>> f = Quadratic(np.eye(2), np.array([1.0, 2.0]))
>>> float(f.value(torch.zeros(2, dtype=torch.float64)))
1.25
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from proxgan._torch import is_tensor, torch

__all__ = ["Datafit", "Quadratic", "Logistic"]


def _to_numpy(a):
    if is_tensor(a):
        if a.layout != torch.strided:
            a = a.to_dense()
        return a.detach().cpu().numpy()
    return a


class Datafit:
    """Common storage of ``X`` (n × p) and ``y`` (n,); see the module docstring.

    Parameters
    ----------
    X : array-like of shape (n, p)
        Design: NumPy array, SciPy sparse matrix or torch tensor.
    y : array-like of shape (n,)
        Targets.
    X_offset : array-like of shape (p,), optional
        Column offsets :math:`\\mu` subtracted implicitly (sparse designs).
    row_scale : array-like of shape (n,), optional
        The vector :math:`v` the offset is multiplied by.
    device : str or torch.device
        Device of the torch copy of the design.
    """

    def __init__(self, X, y, *, X_offset=None, row_scale=None, device: str | torch.device = "cpu") -> None:
        X = _to_numpy(X)
        y = np.asarray(_to_numpy(y), dtype=np.float64).ravel()
        if sp.issparse(X):
            self.X = sp.csc_matrix(X, dtype=np.float64)
            self.X.sort_indices()
        else:
            X = np.asarray(X, dtype=np.float64)
            if X.ndim != 2:
                raise ValueError(f"X must be 2-D, got an array of shape {X.shape}")
            self.X = np.asfortranarray(X)
        n, p = self.X.shape
        if y.shape[0] != n:
            raise ValueError(f"X has {n} samples but y has {y.shape[0]}")
        self.y = y
        self.mu = np.zeros(p) if X_offset is None else np.asarray(X_offset, dtype=np.float64).ravel()
        self.v = np.ones(n) if row_scale is None else np.asarray(row_scale, dtype=np.float64).ravel()
        self._device = device  # made a torch.device at the first use of the torch side (torch loads then)
        self._t = None

    @property
    def device(self) -> torch.device:
        """The device of the torch copies of ``X`` and ``y``."""
        if isinstance(self._device, str):
            self._device = torch.device(self._device)
        return self._device

    @device.setter
    def device(self, value: str | torch.device) -> None:
        self._device = value

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.X)

    def to(self, device: str | torch.device) -> "Datafit":
        """Move the torch copies to ``device`` (made again on next use); returns ``self``."""
        device = torch.device(device)
        if device != self.device:
            self.device = device
            self._t = None
        return self

    def correlation(self, r: np.ndarray | None = None) -> np.ndarray:
        """:math:`X'^\\top r` in NumPy (``r`` defaults to ``y``)."""
        r = self.y if r is None else np.asarray(r, dtype=np.float64)
        out = np.asarray(self.X.T @ r, dtype=np.float64).ravel()
        return out - self.mu * float(self.v @ r) if np.any(self.mu) else out

    # --- torch side -----------------------------------------------------------------
    def _torch(self):
        if self._t is None:
            dev = self.device
            if self.sparse:
                Xc = self.X.tocsr()
                XT = self.X.T.tocsr()
                mk = lambda m: torch.sparse_csr_tensor(  # noqa: E731
                    torch.from_numpy(m.indptr.astype(np.int64)), torch.from_numpy(m.indices.astype(np.int64)),
                    torch.from_numpy(m.data), size=m.shape, dtype=torch.float64, device=dev)
                with warnings.catch_warnings():  # "sparse CSR support is in beta" and invariant-check notes
                    warnings.simplefilter("ignore", UserWarning)
                    Xt, XTt = mk(Xc), mk(XT)
            else:
                Xt = torch.from_numpy(np.ascontiguousarray(self.X)).to(dev)
                XTt = None
            t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dev)  # noqa: E731
            self._t = (Xt, XTt, t(self.y), t(self.mu), t(self.v), bool(np.any(self.mu != 0)))
        return self._t

    def _scipy_path(self, a: torch.Tensor) -> bool:
        # torch's CPU sparse matrix-vector product is ~10 ms even for tiny matrices: use SciPy there
        return self.sparse and a.device.type == "cpu" and not a.requires_grad

    def matvec(self, w: torch.Tensor) -> torch.Tensor:
        """:math:`X'w`."""
        X, _, _, mu, v, off = self._torch()
        if self._scipy_path(w):
            out = torch.from_numpy(np.asarray(self.X @ w.to(torch.float64).numpy()))
        else:
            out = X @ w
        return out - v * (mu @ w) if off else out

    def rmatvec(self, r: torch.Tensor) -> torch.Tensor:
        """:math:`X'^\\top r`."""
        X, XT, _, mu, v, off = self._torch()
        if self._scipy_path(r):
            out = torch.from_numpy(np.asarray(self.X.T @ r.to(torch.float64).numpy()))
        else:
            out = XT @ r if XT is not None else X.T @ r
        return out - mu * (v @ r) if off else out

    def _col_norms2(self) -> np.ndarray:
        """:math:`\\lVert X'_j\\rVert^2` for every column (computed once)."""
        if getattr(self, "_norms2", None) is None:
            self._norms2 = self._compute_col_norms2()
        return self._norms2

    def _compute_col_norms2(self) -> np.ndarray:
        if self.sparse:
            sq = np.asarray(self.X.multiply(self.X).sum(axis=0)).ravel()
            c = self.X.T @ self.v
            return np.maximum(sq - 2 * self.mu * c + self.mu ** 2 * (self.v @ self.v), 0.0)
        return np.einsum("ij,ij->j", self.X, self.X) if not np.any(self.mu) else (
            ((self.X - np.outer(self.v, self.mu)) ** 2).sum(axis=0))

    def _spectral_norm2(self, n_iter: int = 100) -> float:
        """:math:`\\lVert X'\\rVert_2^2` by power iteration (relative accuracy ~1e-6, then +1%)."""
        p = self.n_features
        if p == 0 or self.n_samples == 0:
            return 0.0
        g = torch.Generator().manual_seed(0)
        w = torch.randn(p, generator=g, dtype=torch.float64).to(self.device)
        lam = 0.0
        for _ in range(n_iter):
            w = self.rmatvec(self.matvec(w))
            nrm = float(torch.linalg.vector_norm(w))
            if nrm == 0.0:
                return 0.0
            w = w / nrm
            if abs(nrm - lam) <= 1e-8 * nrm:
                lam = nrm
                break
            lam = nrm
        return 1.01 * lam


class Quadratic(Datafit):
    r"""Least squares :math:`f(w) = \frac{1}{2n}\lVert y - X'w\rVert_2^2`.

    Gradient :math:`-X'^\top(y - X'w)/n`; global Lipschitz constant
    :math:`\lVert X'\rVert_2^2/n`; per-coordinate ones :math:`\lVert X'_j\rVert^2/n`.

    Parameters
    ----------
    X : array-like of shape (n, p)
        Design.
    y : array-like of shape (n,)
        Targets.
    X_offset : array-like of shape (p,), optional
        Column offsets (see :class:`Datafit`).
    row_scale : array-like of shape (n,), optional
        Row scale (see :class:`Datafit`).
    device : str or torch.device
        Device of the torch copy of the design.
    """

    def value(self, w: torch.Tensor) -> torch.Tensor:
        """:math:`f(w)`."""
        r = self._torch()[2] - self.matvec(w)
        return 0.5 * (r @ r) / self.n_samples

    def grad(self, w: torch.Tensor) -> torch.Tensor:
        """:math:`\\nabla f(w)`."""
        r = self._torch()[2] - self.matvec(w)
        return -self.rmatvec(r) / self.n_samples

    def lipschitz(self) -> float:
        """Upper estimate of :math:`\\lVert X'\\rVert_2^2 / n`."""
        return self._spectral_norm2() / self.n_samples

    def lipschitz_coords(self) -> np.ndarray:
        """:math:`\\lVert X'_j\\rVert^2/n` for every column."""
        return self._col_norms2() / self.n_samples

    def set_gram(self, Q: np.ndarray) -> None:
        """Use a precomputed :math:`Q = X'^\\top X'` (the caller vouches for it; checked for shape)."""
        p = self.n_features
        Q = np.ascontiguousarray(Q, dtype=np.float64)
        if Q.shape != (p, p):
            raise ValueError(f"the Gram matrix must have shape ({p}, {p}), got {Q.shape}")
        self._gram = (Q, self.X.T @ self.y, float(self.y @ self.y))

    def gram(self):
        """``(Q, X'ᵀy, ‖y‖²)`` with :math:`Q = X'^\\top X'` (dense designs; computed once)."""
        if getattr(self, "_gram", None) is None:
            if self.sparse or np.any(self.mu):
                raise ValueError("the Gram matrix is only formed for dense designs without X_offset")
            Q = np.ascontiguousarray(self.X.T @ self.X)
            self._gram = (Q, self.X.T @ self.y, float(self.y @ self.y))
        return self._gram


class Logistic(Datafit):
    r"""Logistic loss :math:`f(w) = \frac1n\sum_i \log(1 + \exp(-y_i\, x_i'^\top w))` with :math:`y_i = \pm1`.

    Gradient :math:`-X'^\top (y \odot \sigma(-y\odot X'w))/n`; Lipschitz constants
    :math:`\lVert X'\rVert_2^2/(4n)` and :math:`\lVert X'_j\rVert^2/(4n)`.

    Parameters
    ----------
    X : array-like of shape (n, p)
        Design.
    y : array-like of shape (n,)
        Labels in {-1, 1}.
    sample_weight : array-like of shape (n,), optional
        Weights of the samples.
    **kw
        Passed to :class:`Datafit` (``X_offset``, ``row_scale``, ``device``).
    """

    def __init__(self, X, y, *, sample_weight=None, **kw) -> None:
        super().__init__(X, y, **kw)
        if not np.all(np.isin(self.y, (-1.0, 1.0))):
            raise ValueError("Logistic datafit needs labels y in {-1, 1}")
        n = self.n_samples
        self.sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
        if self.sw.shape[0] != n or np.any(self.sw < 0) or not np.all(np.isfinite(self.sw)):
            raise ValueError(f"sample_weight must hold {n} finite numbers >= 0")

    def _swt(self):
        if getattr(self, "_sw_t", None) is None or self._sw_t.device != self.device:
            self._sw_t = torch.from_numpy(self.sw).to(self.device)
        return self._sw_t

    def value(self, w: torch.Tensor) -> torch.Tensor:
        """:math:`f(w) = \\frac1n\\sum_i s_i\\log(1 + e^{-y_i x_i'^\\top w})` (:math:`s`: sample weights)."""
        z = self._torch()[2] * self.matvec(w)
        return (self._swt() * torch.nn.functional.softplus(-z)).sum() / self.n_samples

    def grad(self, w: torch.Tensor) -> torch.Tensor:
        """:math:`\\nabla f(w)`."""
        y = self._torch()[2]
        z = y * self.matvec(w)
        return -self.rmatvec(self._swt() * y * torch.sigmoid(-z)) / self.n_samples

    def lipschitz(self) -> float:
        """Upper estimate of :math:`\\max_i s_i\\,\\lVert X'\\rVert_2^2/(4n)`."""
        return float(self.sw.max(initial=0.0)) * self._spectral_norm2() / (4 * self.n_samples)

    def weighted_col_norms2(self) -> np.ndarray:
        """:math:`\\sum_i s_i X_{ij}^2` for every column."""
        if self.sparse:
            return np.asarray(self.X.multiply(self.X).T @ self.sw).ravel()
        return (self.X * self.X).T @ self.sw

    def lipschitz_coords(self) -> np.ndarray:
        """:math:`\\sum_i s_i X_{ij}^2/(4n)` for every column."""
        return self.weighted_col_norms2() / (4 * self.n_samples)
