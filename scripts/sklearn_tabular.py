#!/usr/bin/python3
"""scikit-learn references of the tabular suite (issue 24), on the exact rows and splits attnkit used.

    npx tsx scripts/tabular.ts dump /tmp/tabular
    /usr/bin/python3 scripts/sklearn_tabular.py /tmp/tabular > docs/tabular/sklearn.json

Debian python3-sklearn (1.2 on bookworm). Preprocessing fitted on the training rows only:
numeric -> log1p where the attnkit schema says `log`, median imputation, standard scaling;
categorical -> most frequent imputation, one-hot (unknown ignored); text -> TF-IDF (words seen
in >= 2 training rows, at most 2,000). Models: LogisticRegression (L2, C=1, lbfgs) or, for
regression, Ridge (alpha=1); GradientBoosting{Classifier,Regressor} with default settings,
random_state = seed. Metrics on the test rows: AUC (binary), accuracy (multiclass), RMSE (regression).
"""
import json
import math
import os
import sys

import numpy as np
from scipy import sparse
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

MISSING = {'', 'na', 'n/a', 'nan', 'null', 'none', '?', '-', '.'}


def cell_missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip().lower() in MISSING)


def columns(schema, records):
    """Per field: a numpy column (float with NaN, object with None, or str for text)."""
    cols = {}
    for f in schema['fields']:
        raw = [r.get(f['name']) for r in records]
        if f['kind'] == 'numeric':
            cols[f['name']] = np.array([np.nan if cell_missing(v) else float(v) for v in raw], dtype=float)
        elif f['kind'] == 'categorical':
            cols[f['name']] = np.array(['<missing>' if cell_missing(v) else str(v) for v in raw], dtype=object)
        elif f['kind'] == 'text':
            cols[f['name']] = np.array(['' if cell_missing(v) else str(v) for v in raw], dtype=object)
        else:
            raise SystemExit(f"field kind {f['kind']} not handled")
    return cols


class Features:
    """Per-field transformers fitted on the training rows, their outputs side by side (sparse)."""

    def __init__(self, schema):
        self.parts = []
        for f in schema['fields']:
            n = f['name']
            if f['kind'] == 'numeric':
                steps = ([FunctionTransformer(np.log1p)] if f.get('log') else []) + [SimpleImputer(strategy='median'), StandardScaler()]
                self.parts.append((n, make_pipeline(*steps), True))
            elif f['kind'] == 'categorical':
                self.parts.append((n, OneHotEncoder(handle_unknown='ignore'), True))
            else:
                self.parts.append((n, TfidfVectorizer(min_df=2, max_features=2000), False))

    def fit_transform(self, cols, rows):
        return sparse.hstack([sparse.csr_matrix(t.fit_transform(cols[n][rows].reshape(-1, 1) if two_d else cols[n][rows])) for n, t, two_d in self.parts]).tocsr()

    def transform(self, cols, rows):
        return sparse.hstack([sparse.csr_matrix(t.transform(cols[n][rows].reshape(-1, 1) if two_d else cols[n][rows])) for n, t, two_d in self.parts]).tocsr()


def main(directory):
    out = []
    for name in ['breastCancer', 'penguins', 'seattleWeather', 'cpsWages', 'movies']:
        d = json.load(open(os.path.join(directory, f'{name}.json')))
        schema, records = d['schema'], d['records']
        target = schema['targets'][0]
        cols = columns(schema, records)
        y_raw = [r[target['name']] for r in records]
        if target['task'] == 'regression':
            y = np.array(y_raw, dtype=float)
        elif target['task'] == 'binary':
            y = np.array([int(float(v)) for v in y_raw])
        else:
            classes = sorted(set(str(v) for v in y_raw))
            y = np.array([classes.index(str(v)) for v in y_raw])
        # the dump names its seeds (older dumps: seeds 0, 1, … in order)
        for seed, split in zip(d.get('seeds', range(len(d['splits']))), d['splits']):
            tr, te = np.array(split['train']), np.array(split['test'])
            task = target['task']
            models = {
                'sklearn-logistic': Ridge(alpha=1.0) if task == 'regression' else LogisticRegression(C=1.0, max_iter=10000),
                'sklearn-gbdt': GradientBoostingRegressor(random_state=seed) if task == 'regression' else GradientBoostingClassifier(random_state=seed),
            }
            for label, est in models.items():
                feats = Features(schema)
                Xtr = feats.fit_transform(cols, tr)
                Xte = feats.transform(cols, te)
                est.fit(Xtr, y[tr])
                pipe = est
                if task == 'regression':
                    metrics = {'rmse': float(math.sqrt(mean_squared_error(y[te], pipe.predict(Xte))))}
                elif task == 'binary':
                    p = pipe.predict_proba(Xte)[:, 1]
                    metrics = {'auc': float(roc_auc_score(y[te], p)), 'accuracy': float(accuracy_score(y[te], p > 0.5))}
                else:
                    metrics = {'accuracy': float(accuracy_score(y[te], pipe.predict(Xte)))}
                out.append({'dataset': name, 'model': label, 'seed': seed, 'metrics': metrics})
                print(f'{name} seed {seed} {label}: {metrics}', file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else '/tmp/tabular')
