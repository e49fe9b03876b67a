"""The softmax of the intent step: one class in several shapes gets one direction per shape."""

from __future__ import annotations

import numpy as np

from sportello.answering.linear import train


def _two_shapes() -> tuple[np.ndarray, np.ndarray]:
    """Class 1 lies on two opposite sides of class 0 (the shapes 1 and 2 of one class): no
    single direction separates it, one per shape does."""
    rng = np.random.default_rng(3)
    middle = rng.normal(0.0, 0.3, (40, 2))
    left = rng.normal(0.0, 0.3, (20, 2)) + [-3.0, 0.0]
    right = rng.normal(0.0, 0.3, (20, 2)) + [3.0, 0.0]
    x = np.concatenate([middle, left, right])
    shapes = np.array([0] * 40 + [1] * 20 + [2] * 20)
    return x, shapes


def test_a_class_with_two_shapes_is_learned_through_its_sub_classes() -> None:
    x, shapes = _two_shapes()
    whole = (shapes > 0).astype(np.int64)
    plain = train(x, whole, 2, steps=600)
    pooled = train(x, shapes, 3, steps=600, groups=np.array([0, 1, 1]))
    assert pooled.proba(x).shape == (len(x), 2)  # answers for the classes, not the shapes
    np.testing.assert_allclose(pooled.proba(x).sum(axis=1), 1.0, rtol=1e-5)
    plain_right = (plain.proba(x).argmax(axis=1) == whole).mean()
    pooled_right = (pooled.proba(x).argmax(axis=1) == whole).mean()
    assert pooled_right >= 0.95 > plain_right


def test_classes_are_balanced_as_wholes_not_by_shape() -> None:
    """A class cut into ten shapes weighs as one class: where the rows tell nothing (both
    classes drawn alike) the model gives each class about half, not ten elevenths to the one
    that was cut into more pieces."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, (200, 3))
    y = np.concatenate([np.repeat(np.arange(1, 11), 10), np.zeros(100, np.int64)])
    model = train(x, y, 11, steps=600, groups=np.array([0] + [1] * 10))
    share = model.proba(np.zeros(3))[0, 1]
    assert 0.4 <= share <= 0.6, share
