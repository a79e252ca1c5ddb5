"""``proxgan demo``: its sections say what they should (the training sections are covered by tests/apps)."""
import re

from proxgan import demo


def test_prox_section_kernels_agree():
    text = demo.prox_section()
    assert "| `L1(lam=0.5, weights=None)` | [-1.500, -0.100, +0.000, +0.000, +0.000, +0.000, +0.600, +2.500] | 4 |" in text
    diffs = [float(m) for m in re.findall(r"\| (\d\.\de[+-]\d\d) \|", text)]
    assert len(diffs) == 3 and max(diffs) < 1e-5  # Triton (interpreter) vs PyTorch


def test_lasso_section_matches_sklearn():
    rows = [line for line in demo.lasso_section().splitlines() if re.match(r"\| \d", line)]
    assert len(rows) == 3
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) < 1e-5  # coefficients agree
        assert abs(float(cells[3])) < 1e-8  # objectives agree


def test_run_demo_writes_report(tmp_path):
    path = demo.run_demo(tmp_path, sections=[demo.reproductions_section])
    text = path.read_text()
    assert text.startswith("# proxgan demo") and "proxgan reproduce glmnet-table1" in text


def test_cnn_section_runs_without_tqdm_and_matplotlib(tmp_path, monkeypatch, capsys):
    import sys

    import proxgan.apps.progress as progress

    for mod in ("tqdm", "tqdm.auto", "matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, mod, None)  # a core-only install
    monkeypatch.setattr(progress, "_noted", set())
    text = demo.cnn_section(tmp_path, epochs=1)
    rows = [line for line in text.splitlines() if line.startswith("| Adam") or line.startswith("| ProxAdam")]
    assert len(rows) == 2 and float(rows[1].split("|")[3].strip().rstrip("%")) > 0  # exact zeros with ProxAdam
    assert capsys.readouterr().err.count("plots skipped") == 1
