"""Multinomial logistic regression in numpy: the learned part of the intent step."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import sparse


class Linear(NamedTuple):
    """Weights of a softmax classifier over `classes` (its rows are feature vectors)."""

    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of each row of `x` (or of one vector)."""
        logits = np.atleast_2d(x) @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def train(
    x: np.ndarray | sparse.csr_matrix,
    y: np.ndarray,
    classes: int,
    *,
    l2: float = 1e-3,
    steps: int = 400,
    rate: float = 2.0,
    balance: float = 1.0,
) -> Linear:
    """Fit by full-batch gradient descent with momentum from zero weights: deterministic, no
    random start. With `balance` 1 classes are weighted by the inverse of their size, so an
    intent with more examples (staff additions) does not win by numbers alone; with 0 every
    row counts once and the classes keep the prior of the training rows (what a decision
    taken on a realistic mix of messages wants); values between temper it. `l2` shrinks the
    weights. `x` may be a sparse matrix (word counts): each step costs its non-zeros."""
    if not sparse.issparse(x):
        x = np.asarray(x, dtype=np.float64)
    n, features = x.shape
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    weight = np.where(counts > 0, (n / (classes * np.maximum(counts, 1))) ** balance, 0.0)[y]
    weight /= weight.sum()
    target = np.zeros((n, classes))
    target[np.arange(n), y] = 1.0
    w = np.zeros((features, classes))
    b = np.zeros(classes)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        logits = np.asarray(x @ w) + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - target) * weight[:, None]
        gw = np.asarray(x.T @ error) + l2 * w
        gb = error.sum(axis=0)
        vw = 0.9 * vw - rate * gw
        vb = 0.9 * vb - rate * gb
        w += vw
        b += vb
    return Linear(w.astype(np.float32), b.astype(np.float32))
