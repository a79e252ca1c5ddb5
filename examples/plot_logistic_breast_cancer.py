"""
Sparse logistic regression on breast_cancer
===========================================

:class:`proxgan.linear_model.LogisticRegression` with ``l1_ratio=1`` minimises

.. math::

   \\min_{w, b} \\; C \\sum_i \\log\\bigl(1 + e^{-y_i (x_i^\\top w + b)}\\bigr) + \\lVert w \\rVert_1 ,

scikit-learn's parametrisation. Smaller ``C`` means a stronger penalty and fewer
features; the plot shows the number of selected features and the held-out accuracy
along ``C``, for proxgan (``solver="saga"`` runs its proximal Newton solver) and for scikit-learn's ``liblinear`` at the same ``C``.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from proxgan.linear_model import LogisticRegression

X, y = load_breast_cancer(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(Xtr)
Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)

Cs = np.geomspace(0.005, 1, 8)
ours, theirs = [], []
for C in Cs:
    m = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-6, max_iter=1000).fit(Xtr, ytr)
    s = SkLogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", tol=1e-6, max_iter=1000).fit(Xtr, ytr)
    ours.append((np.count_nonzero(m.coef_), m.score(Xte, yte)))
    theirs.append((np.count_nonzero(s.coef_), s.score(Xte, yte)))
    print(f"C={C:.3g}: proxgan {ours[-1][0]:2d} features, accuracy {ours[-1][1]:.3f};"
          f" liblinear {theirs[-1][0]:2d}, {theirs[-1][1]:.3f}")

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
a.semilogx(Cs, [o[0] for o in ours], "o-", label="proxgan")
a.semilogx(Cs, [t[0] for t in theirs], "x--", label="scikit-learn liblinear")
a.set_xlabel("C")
a.set_ylabel("selected features (of 30)")
a.set_title("Sparsity")
a.legend()
b.semilogx(Cs, [o[1] for o in ours], "o-", label="proxgan")
b.semilogx(Cs, [t[1] for t in theirs], "x--", label="scikit-learn liblinear")
b.set_xlabel("C")
b.set_ylabel("held-out accuracy")
b.set_title("Accuracy")
b.legend()
fig.tight_layout()
plt.show()
