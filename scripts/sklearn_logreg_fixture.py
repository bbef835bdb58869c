#!/usr/bin/python3
"""Golden logistic regression for test/train/lbfgs.test.ts: scikit-learn's LogisticRegression
(L2, C = 1, lbfgs, tol 1e-10) on a seeded synthetic table, features already standardised.

    /usr/bin/python3 scripts/sklearn_logreg_fixture.py > test/fixtures/sklearn_logreg.json
(Debian python3-sklearn 1.2.1, numpy 1.24.)
"""
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(24)
n, d = 200, 5
X = StandardScaler().fit_transform(rng.normal(size=(n, d)) * [1, 2, 0.5, 1, 3] + [0, 1, -1, 2, 0])
w_true = np.array([1.5, -2.0, 0.5, 0.0, 1.0])
y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w_true + 0.3)))).astype(int)
C = 1.0
m = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y)
p = m.predict_proba(X)[:, 1]
mean_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
json.dump({
    'C': C, 'X': X.round(8).tolist(), 'y': y.tolist(), 'coef': m.coef_[0].tolist(), 'intercept': float(m.intercept_[0]),
    'meanLoss': mean_loss, 'objective': mean_loss + 0.5 / (C * n) * float(m.coef_[0] @ m.coef_[0]),
}, sys.stdout)
print()
