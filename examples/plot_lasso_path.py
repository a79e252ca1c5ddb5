"""
Lasso path on the diabetes data
===============================

:func:`proxgan.linear_model.lasso_path` solves

.. math::

   \\min_w \\tfrac{1}{2n}\\lVert y - Xw \\rVert^2 + \\alpha \\lVert w \\rVert_1

for a decreasing sequence of :math:`\\alpha`, each fit warm-started from the previous
one, by coordinate descent with working sets. The coefficients match scikit-learn's
``lasso_path`` (checked below).
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import lasso_path as sk_lasso_path

from proxgan.linear_model import lasso_path

X, y = load_diabetes(return_X_y=True)
X = (X - X.mean(0)) / X.std(0)
y = y - y.mean()
alpha_max = np.abs(X.T @ y).max() / len(y)
alphas = alpha_max * np.geomspace(1, 1e-3, 50)

alphas_out, coefs, _ = lasso_path(X, y, alphas=alphas, tol=1e-8)
_, sk_coefs, _ = sk_lasso_path(X, y, alphas=alphas, tol=1e-8)
print(f"largest difference to scikit-learn's path: {np.abs(coefs - sk_coefs).max():.1e}")

fig, ax = plt.subplots(figsize=(6, 4))
names = load_diabetes().feature_names
for j in range(X.shape[1]):
    ax.semilogx(alphas_out, coefs[j], label=names[j])
ax.invert_xaxis()
ax.set_xlabel("alpha (log scale, decreasing)")
ax.set_ylabel("coefficient")
ax.set_title("Lasso path (proxgan coordinate descent)")
ax.legend(ncol=2, fontsize="small")
fig.tight_layout()
plt.show()
