"""The linear-model side of proxgan (estimators, datafits, penalties, CD solvers) never loads torch,
and the torch API still works when torch comes later: each check runs in a fresh interpreter."""
import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_linear_model_import_and_fits_do_not_import_torch():
    out = _run("""
        import sys
        import numpy as np
        import proxgan.linear_model as lm, proxgan.datafits, proxgan.penalties, proxgan.solvers
        from proxgan.solvers import cd, prox_newton
        assert "torch" not in sys.modules, "import"
        rng = np.random.default_rng(0)
        X = rng.standard_normal((40, 4)); y = X[:, 0] + 0.1 * rng.standard_normal(40)
        lm.Lasso(alpha=0.05).fit(X, y)
        lm.ElasticNet(alpha=0.05, l1_ratio=0.5).fit(X, y)
        lm.Ridge().fit(X, y)
        lm.LogisticRegression(l1_ratio=1.0, solver="saga").fit(X, y > 0)
        lm.LogisticRegression(solver="newton-cholesky").fit(X, np.digitize(y, [-0.5, 0.5]))
        print("torch" in sys.modules)
    """)
    assert out.split() == ["False"]


def test_torch_side_still_works_after_a_light_import():
    """Penalties from the top-level package, kernels by their public names, fista (torch) on demand, and
    penalties in a weights_only checkpoint when torch is imported after proxgan."""
    out = _run("""
        import io, sys
        import proxgan
        import torch
        from proxgan import L1, ElasticNet
        import proxgan.kernels.hard_threshold  # binds the submodule soft_threshold on the way
        from proxgan import kernels
        assert callable(kernels.soft_threshold) and callable(kernels.hard_threshold), kernels.soft_threshold
        buf = io.BytesIO()
        torch.save({"p": L1(0.5), "q": ElasticNet(0.1, 0.3)}, buf)
        buf.seek(0)
        back = torch.load(buf, weights_only=True)
        print(back["p"] == L1(0.5), back["q"] == ElasticNet(0.1, 0.3))
        print(float(proxgan.L1(1.0).prox(torch.tensor([3.0, -0.5]), step=1.0)[0]))
        from proxgan.solvers import fista
        print(callable(fista.solve), callable(proxgan.solvers.ista.solve))
    """)
    assert out.split() == ["True", "True", "2.0", "True", "True"]
