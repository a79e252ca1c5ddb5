"""Smoke tests: every ``proxgan reproduce NAME --quick`` writes its files, and they make sense."""
import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from proxgan.cli import main
from proxgan.reproduce import REPRODUCTIONS, reproduce


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _check_files(paths):
    assert paths["md"].read_text().startswith("# ")
    assert "Machine:" in paths["md"].read_text()
    if "png" in paths:
        assert paths["png"].stat().st_size > 5000  # a real figure, not an empty canvas


def test_fista_is_faster_than_ista(tmp_path, bars):
    paths = reproduce("fista", tmp_path, quick=True, progress=True)
    bars.assert_one_full("fista")
    _check_files(paths)
    curves = np.loadtxt(paths["curves"], delimiter=",", skiprows=1)
    ista, fista, restart = curves[-1, 1], curves[-1, 2], curves[-1, 3]
    assert fista < ista and restart < ista
    assert np.all(np.diff(curves[:, 1]) <= 1e-12 * max(curves[0, 1], 1))  # ISTA decreases monotonically
    rows = _rows(paths["csv0"])
    slope = {r["method"]: float(r["slope of log-log fit (k ≥ 10)"]) for r in rows}
    assert slope["FISTA"] < slope["ISTA"] < 0


def test_glmnet_table_every_cell_filled_or_marked(tmp_path):
    paths = reproduce("glmnet-table1", tmp_path, quick=True, progress=False)
    _check_files(paths)
    wide = _rows(paths["csv0"])
    assert {r["contender"] for r in wide} >= {"proxgan cd", "proxgan fista", "proxgan ista", "scikit-learn"}
    for r in wide:
        for k, v in r.items():
            if k.startswith("ρ="):
                assert v not in ("", "n/a"), (r["contender"], k)
    long = _rows(paths["csv1"])
    cd = [r for r in long if r["contender"] == "proxgan cd"]
    assert cd and all(float(r["worst gap / P(0)"]) <= 2e-5 * 1.01 for r in cd)


def test_lasso_benchopt_reaches_tolerance(tmp_path):
    # proxgan's CD against scikit-learn only, one second per ladder: the table's every path still runs
    paths = reproduce("lasso-benchopt", tmp_path, quick=True, progress=False, solvers=("cd",), budget=1.0)
    _check_files(paths)
    ttt = _rows(paths["csv1"])
    cd = [r for r in ttt if r["contender"] == "proxgan cd"]
    assert len(cd) == 5
    assert all(r["ε=1e-06"] != "not reached" for r in cd)
    runs = _rows(paths["csv2"])
    assert all(float(r["seconds"]) > 0 and float(r["gap / P(0)"]) >= 0 for r in runs)


def test_kernels_table(tmp_path, bars):
    paths = reproduce("kernels", tmp_path, quick=True, progress=True)
    bars.assert_one_full("kernels")
    _check_files(paths)
    rows = _rows(paths["csv0"])
    assert {r["mode"] for r in rows} == {"out-of-place", "in-place"}
    assert all(float(r["median ms"]) > 0 for r in rows)
    firsts = [r for r in rows if r["contender"].startswith("proxgan")]
    assert all(float(r["time / proxgan"]) == 1.0 for r in firsts)
    steps = _rows(paths["csv1"])
    assert {"ProxAdam(L1) fused", "Adam(fused=True)", "ProxSGD(mom=0.9, L1) fused"} <= {r["contender"] for r in steps}
    ratios = {r["ratio"]: float(r["value"]) for r in _rows(paths["csv2"])}
    assert all(v > 0 for v in ratios.values()) and "ProxAdam(L1) fused / Adam(fused=True)" in ratios


def test_cli_reproduce(tmp_path, capsys):
    assert main(["reproduce", "fista", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "fista.md" in capsys.readouterr().out
    assert "(smoke run, not the published table)" in (tmp_path / "fista.md").read_text().splitlines()[0]
    with pytest.raises(SystemExit):
        main(["reproduce", "no-such-table"])
    with pytest.raises(ValueError, match="reproduction must be one of"):
        reproduce("no-such-table")
    with pytest.raises(ValueError, match="must not overwrite results/NAME"):
        reproduce("fista", quick=True)
    assert main(["reproduce", "fista", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 2
    assert "does not take --seeds" in capsys.readouterr().err
    assert set(REPRODUCTIONS) >= {"glmnet-table1", "lasso-benchopt", "fista", "kernels", "proxgen", "sparse-gan"}


def _git_results_state():
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all", "--", "results"],
                         capture_output=True, text=True, check=True).stdout
    tracked = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", "results"], capture_output=True,
                             text=True, check=True).stdout.split("\0")
    stamps = {f: (root / f).stat().st_mtime_ns for f in tracked if f and (root / f).exists()}
    return out, stamps


def test_quick_runs_leave_results_alone(capsys, monkeypatch, tmp_path):
    """`proxgan reproduce NAME --quick` with no --out goes to a new temporary folder, never to results/."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    before = _git_results_state()
    assert main(["reproduce", "fista", "--quick", "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "a smoke run" in cap.err and str(tmp_path) in cap.err
    written = [line.split(" ", 1)[1] for line in cap.out.splitlines() if line.startswith("wrote ")]
    assert written and all(w.startswith(str(tmp_path)) for w in written)
    assert _git_results_state() == before


def test_progress_is_labelled_with_the_reproduction(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    reproduce("proxgen", tmp_path, quick=True, data="digits", progress=True)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("proxgen: ")]
    assert lines[-1] == "proxgen: 7/7" and err.count("proxgen: 7/7") == 1
    assert "glmnet-table1" not in err


def test_proxgen_table(tmp_path):
    paths = reproduce("proxgen", tmp_path, quick=True, progress=False, data="digits", seeds=2)
    _check_files(paths)
    summary = {r["method"]: r for r in _rows(paths["csv0"])}
    assert all("±" in r["test accuracy (%)"] for r in summary.values())  # mean ± std over the 2 seeds
    runs = _rows(paths["csv1"])
    assert len(runs) == 2 * 7 and {r["seed"] for r in runs} == {"0", "1"}
    by = {}
    for r in runs:
        by.setdefault(r["method"], []).append(r)
    assert all(float(r["zero weights (%)"]) == 0.0 for r in by["Adam (no penalty)"])
    assert all(float(r["zero weights (%)"]) > 0.0 for r in by["ProxAdam ℓ1 (ProxGen)"])  # the prox makes exact zeros
    acc = [float(r["test accuracy (%)"]) for r in by["ProxAdam ℓ1 (ProxGen)"]]
    mean = float(summary["ProxAdam ℓ1 (ProxGen)"]["test accuracy (%)"].split(" ± ")[0])
    assert mean == pytest.approx(sum(acc) / 2, rel=1e-3)
    with pytest.raises(ValueError, match="does not take --data"):
        reproduce("fista", tmp_path, quick=True, data="digits")
    with pytest.raises(ValueError, match="seeds must be an int >= 1"):
        reproduce("proxgen", tmp_path, quick=True, seeds=0)


def test_sparse_gan_table(tmp_path):
    paths = reproduce("sparse-gan", tmp_path, quick=True, progress=False)
    _check_files(paths)
    assert "(smoke run, not the published table)" in paths["md"].read_text()
    rows = {r["setting"]: r for r in _rows(paths["csv1"])}
    assert set(rows) == {"no penalty", "L1 on G", "L1 on D", "L1 on G and D", "L2 on G and D", "weight decay on G and D"}
    assert float(rows["no penalty"]["G zero weights (%)"]) == 0 == float(rows["no penalty"]["D zero weights (%)"])
    assert float(rows["L1 on D"]["G zero weights (%)"]) == 0 < float(rows["L1 on D"]["D zero weights (%)"])
    assert float(rows["L1 on G"]["D zero weights (%)"]) == 0 < float(rows["L1 on G"]["G zero weights (%)"])
    assert all(np.isfinite(float(r["Fréchet distance"])) and float(r["Fréchet distance"]) >= 0 for r in rows.values())


def test_sparse_gan_plot_labels_lambda():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from proxgan.reproduce.sparse_gan import _plot

    def run(g, d, fd, modes):
        return {"g_weight_sparsity": g, "d_weight_sparsity": d, "frechet": fd, "modes_covered": modes}

    results = {("no penalty", 0.0): [run(0, 0, 0.3, 8), run(0, 0, 0.5, 7)],
               ("L1 on G", 1e-5): [run(0.2, 0, 0.4, 8)], ("L1 on G", 1e-4): [run(0.6, 0, 0.9, 6)]}
    fig, axes = plt.subplots(1, 2)
    _plot(axes, results, mixture=True)
    for ax in axes:
        assert sorted(t.get_text() for t in ax.texts) == ["λ=0.0001", "λ=1e-05"]
    assert axes[1].get_ylabel() == "modes covered"
    plt.close(fig)


def test_no_citation_outside_the_repository():
    root = Path(__file__).resolve().parents[2]
    assert (root / "bench" / "PROTOCOL.md").read_text().startswith("# How proxgan measures")
    files = [root / "README.md"] + [p for d in ("results", "bench", "proxgan", "examples") for p in (root / d).rglob("*")
                                    if p.suffix in (".md", ".py")]
    offenders = [str(p.relative_to(root)) for p in files if "shared/" in p.read_text(errors="ignore")]
    assert offenders == []


def test_narrow_log_axis_gets_whole_decades_and_no_crowded_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from proxgan.reproduce._report import _NoFigure, tidy_log_axis

    fig, ax = plt.subplots()
    ax.loglog([0.018, 0.021, 0.025], [1e-3, 1e-6, 1e-9])  # lasso-benchopt's L2: every solver near 0.02 s
    tidy_log_axis(ax, "x")
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    assert (lo, hi) == pytest.approx((1e-2, 1e-1))
    majors = [t for t in ax.xaxis.get_major_ticks() if lo <= t.get_loc() <= hi and t.label1.get_text()]
    assert len(majors) >= 2
    assert all(t.label1.get_text() == "" for t in ax.xaxis.get_minor_ticks())
    plt.close(fig)
    tidy_log_axis(_NoFigure())  # the stand-in used without matplotlib is left alone



def test_run_many_order_callbacks_and_bad_jobs():
    from proxgan.reproduce._report import pm, run_many, seeds_and_command

    seen = []
    assert run_many(abs, [-3, 2, -1], jobs=1, on_result=lambda i, r: seen.append((i, r))) == [3, 2, 1]
    assert seen == [(0, 3), (1, 2), (2, 1)]
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        run_many(abs, [1], jobs=0)
    assert pm([1.0, 3.0]) == "2 ± 1.4" and pm([2.5]) == "2.5"
    assert seeds_and_command("proxgen", None, False, data=None) == (3, "proxgan reproduce proxgen")
    assert seeds_and_command("proxgen", None, True, data="digits") == (1, "proxgan reproduce proxgen --quick --data digits")
    assert seeds_and_command("sparse-gan", 5, False)[1] == "proxgan reproduce sparse-gan --seeds 5"


def test_a_quick_run_figure_is_stamped_as_a_smoke_run(tmp_path):
    pytest.importorskip("matplotlib")
    from proxgan.reproduce._report import SMOKE_MARK, new_figure, save_figure

    marks = []
    for quick in (False, True):
        fig, ax = new_figure()
        ax.plot([1, 2], [3, 4])
        save_figure(fig, tmp_path / f"{quick}.png", quick)
        marks.append([t.get_text() for t in fig.texts])
    assert marks == [[], [SMOKE_MARK]]
