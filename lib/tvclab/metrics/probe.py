"""Linear probing of frozen features (paper P Table 4, following MAE's protocol in spirit): logistic regression."""
from __future__ import annotations

import numpy as np

from tvclab import timing


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


@timing.timed("metrics")
def linear_probe(train_x, train_y, test_x, test_y, C: float = 1.0, max_iter: int = 1000, seed: int = 0) -> dict:
    """Top-1 / top-5 test accuracy of a multinomial logistic regression on standardised features (paper P Table 4).

    Features are standardised with the training mean/std (scikit-learn ``StandardScaler``); top-5 ranks
    ``predict_proba``. With 5 or fewer classes top-5 is 1.0 by definition.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, test_x = _numpy(train_x).reshape(len(train_x), -1), _numpy(test_x).reshape(len(test_x), -1)
    train_y, test_y = _numpy(train_y).astype(int).ravel(), _numpy(test_y).astype(int).ravel()
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    clf.fit(train_x, train_y)
    proba = clf.predict_proba(test_x)
    classes = clf.classes_
    top = classes[np.argsort(-proba, axis=1)[:, :5]]
    return {"top1": float((top[:, 0] == test_y).mean()), "top5": float((top == test_y[:, None]).any(1).mean()),
            "n_train": len(train_y), "n_test": len(test_y), "n_classes": len(classes)}
