"""Multinomial logistic regression in numpy: the learned part of the intent step."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import sparse


class Linear(NamedTuple):
    """Weights of a softmax classifier over `classes` (its rows are feature vectors). With
    `pool`, the softmax runs over sub-classes whose probabilities add up into their classes."""

    weights: np.ndarray  # (features, sub-classes)
    bias: np.ndarray  # (sub-classes,)
    pool: np.ndarray | None = None  # (sub-classes, classes): 1 where a sub-class belongs

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The sub-classes' scores of each row of `x` (or of one vector), before the softmax."""
        return np.atleast_2d(x) @ self.weights + self.bias  # type: ignore[no-any-return]

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of each row of `x` (or of one vector)."""
        logits = self.logits(x)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        p = exp / exp.sum(axis=1, keepdims=True)
        return p if self.pool is None else p @ self.pool  # type: ignore[no-any-return]


def train(
    x: np.ndarray | sparse.csr_matrix,
    y: np.ndarray,
    classes: int,
    *,
    l2: float = 1e-3,
    steps: int = 400,
    rate: float = 2.0,
    balance: float = 1.0,
    groups: np.ndarray | None = None,
) -> Linear:
    """Fit by full-batch gradient descent with momentum from zero weights: deterministic, no
    random start. With `balance` 1 classes are weighted by the inverse of their size, so an
    intent with more examples (staff additions) does not win by numbers alone; with 0 every
    row counts once and the classes keep the prior of the training rows (what a decision
    taken on a realistic mix of messages wants); values between temper it. `l2` shrinks the
    weights. `x` may be a sparse matrix (word counts): each step costs its non-zeros.
    `groups` (one entry per label of `y`: the class it is a shape of) fits one direction per
    sub-class, so a class whose examples come in several shapes is not averaged into one
    (requests for help with wrongdoing about receipts, about personal data, about a public
    call…); classes are balanced as wholes and the model answers for them (`Linear.pool`)."""
    if not sparse.issparse(x):
        x = np.asarray(x, dtype=np.float64)
    n, features = x.shape
    pooled = y if groups is None else groups[y]
    whole = classes if groups is None else int(groups.max()) + 1
    counts = np.bincount(pooled, minlength=whole).astype(np.float64)
    weight = np.where(counts > 0, (n / (whole * np.maximum(counts, 1))) ** balance, 0.0)[pooled]
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
    pool = None if groups is None else np.eye(whole, dtype=np.float32)[groups]
    return Linear(w.astype(np.float32), b.astype(np.float32), pool)
