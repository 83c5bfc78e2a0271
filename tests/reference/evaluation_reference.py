"""Independent leave-one-out retrieval figures in numpy, for RetrievalEvaluatorTests.

Usage: evaluation_reference.py VECTORS.f32 NAMES.txt
Labels: the file name without extension and trailing digits (and trailing ' _-'), lower-cased.
Prints JSON: p1, p5, p10, map, queries, perLabel {label: [p1, p5, p10, map]}, confusions [[a, b, count], ...].
"""
import json
import os
import re
import sys

import numpy as np

vectors_path, names_path = sys.argv[1], sys.argv[2]
names = [line.strip() for line in open(names_path, encoding="utf-8") if line.strip()]
x = np.fromfile(vectors_path, dtype="<f4").reshape(len(names), -1).astype(np.float64)


def label_of(name):
    stem = os.path.splitext(name)[0]
    return re.sub(r"[ _\-]*$", "", re.sub(r"[0-9]*$", "", stem)).lower()


order = sorted(range(len(names)), key=lambda i: names[i])
names = [names[i] for i in order]
x = x[order]
labels = np.array([label_of(n) for n in names])
x /= np.linalg.norm(x, axis=1, keepdims=True)
sims = x @ x.T
n = len(names)
rows = {}
confusions = {}
for q in range(n):
    same = labels == labels[q]
    relevant = same.sum() - 1
    if relevant == 0:
        continue
    others = np.array([j for j in range(n) if j != q])
    # best first, ties by position (the id order): lexsort's last key is the primary one
    ranked = others[np.lexsort((others, -sims[q, others]))]
    rel = same[ranked].astype(np.float64)
    hits = np.cumsum(rel)
    ap = float((hits / np.arange(1, len(ranked) + 1))[rel == 1].sum() / relevant)
    rows[q] = (rel[:1].sum() / 1, rel[:5].sum() / 5, rel[:10].sum() / 10, ap)
    for j in ranked[:5]:
        if labels[j] != labels[q]:
            key = tuple(sorted((str(labels[q]), str(labels[j]))))
            confusions[key] = confusions.get(key, 0) + 1

per_label = {}
for lab in sorted(set(labels[list(rows)])):
    qs = [q for q in rows if labels[q] == lab]
    per_label[str(lab)] = [float(np.mean([rows[q][m] for q in qs])) for m in range(4)]
means = [float(np.mean([r[m] for r in rows.values()])) for m in range(4)]
pairs = sorted(([a, b, c] for (a, b), c in confusions.items()), key=lambda t: (-t[2], t[0], t[1]))
print(json.dumps({"p1": means[0], "p5": means[1], "p10": means[2], "map": means[3], "queries": len(rows), "perLabel": per_label, "confusions": pairs}))
