"""No run overwrites another, output folders are checked before any work, nothing
tracked is rewritten, committed results name no machine path, labels are for humans."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import tempfile
from pathlib import Path

import pytest

from proxgan.cli import _summary_lines, main
from proxgan.reproduce.sparsity_speed import saved_percent

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ["--data", "digits", "--epochs", "1", "--max-steps", "2", "--no-plots", "--no-progress", "--threads", "1"]


def test_default_out_is_a_fresh_run_folder_each_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "cnn", *SMOKE]) == 0
    assert main(["train", "cnn", *SMOKE]) == 0
    runs = sorted(p for p in (tmp_path / "runs" / "cnn").iterdir() if p.name != "latest")
    assert len(runs) == 2 and all((r / "checkpoint.pt").exists() for r in runs)
    assert (tmp_path / "runs" / "cnn" / "latest").resolve() == runs[-1].resolve()


def test_existing_out_is_refused_without_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"precious")
    assert main(["train", "cnn", *SMOKE, "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (out / "checkpoint.pt").read_bytes() == b"precious"
    assert main(["train", "cnn", *SMOKE, "--out", str(out), "--overwrite"]) == 0
    assert (out / "checkpoint.pt").read_bytes() != b"precious"


@pytest.mark.parametrize("argv", [["reproduce", "lasso-benchopt", "--quick", "--out", "FILE"], ["demo", "--out", "FILE"]])
def test_an_out_that_is_a_file_fails_before_any_work(argv, tmp_path, monkeypatch, capsys):
    import proxgan.demo
    import proxgan.reproduce

    def no_work(*a, **k):
        raise AssertionError("work started before the output folder was checked")

    monkeypatch.setattr(proxgan.reproduce, "reproduce", no_work)
    monkeypatch.setattr(proxgan.demo, "run_demo", no_work)
    f = tmp_path / "a_file"
    f.write_text("keep")
    assert main([str(f) if a == "FILE" else a for a in argv]) == 2
    assert "is an existing file" in capsys.readouterr().err and f.read_text() == "keep"


@pytest.mark.parametrize("bad", [["--seeds", "0"], ["--jobs", "0"], ["--epochs", "-1"], ["--data-root", "/nonexistent"],
                                 ["--bogus-later-error"]])
def test_a_failed_quick_run_leaves_no_temporary_folder(bad, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    if bad == ["--bogus-later-error"]:  # an error raised by the reproduction itself, after the folder was made
        import proxgan.reproduce

        monkeypatch.setattr(proxgan.reproduce, "reproduce", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
        bad = []
    assert main(["reproduce", "proxgen", "--quick", *bad]) == 2
    assert list(tmp_path.iterdir()) == []


def test_examples_never_write_into_tracked_results():
    spec = importlib.util.spec_from_file_location("sparse_tables", ROOT / "examples" / "sparse_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    a = mod.build_parser().parse_args(["cnn"])
    for path in (a.out, a.runs):
        assert not os.path.abspath(path).startswith(str(ROOT / "results")), path


def test_committed_results_name_no_machine_path():
    pattern = re.compile(r"(?<![\w.])(/home/|/work/|/tmp/|/root/|/Users/|[A-Z]:\\)")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "results").rglob("*") if p.suffix in (".md", ".csv")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_saved_percent_is_never_negative_zero():
    assert [saved_percent(x) for x in (-0.0, -0.04, 12.34, -3.0)] == ["0.0%", "0.0%", "12.3%", "-3.0%"]


def test_gan_summary_explains_a_distance_under_its_floor():
    from proxgan.apps.config import GANConfig, OptimConfig

    cfg = GANConfig(g=OptimConfig("adam", 1e-3), d=OptimConfig("adam", 1e-3))
    lines = "\n".join(_summary_lines("gan", cfg, {"status": "done", "frechet": 0.186, "frechet_floor": 0.334}))
    assert "floor 0.334" in lines and "as close to held-out data as other real data is" in lines


def test_plot_legends_are_human_labels(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    from proxgan.apps.plots import plot_curves

    seen = {}

    def capture(fig, path, *a, **k):
        ax = fig.axes[0]
        seen["legend"] = [t.get_text() for t in ax.get_legend().get_texts()]
        seen["ylabel"] = ax.get_ylabel()

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", capture)
    rows = [{"epoch": 1, "frechet": 2.0, "frechet_floor": 0.3}, {"epoch": 2, "frechet": 1.0, "frechet_floor": 0.3}]
    plot_curves(rows, ["frechet", "frechet_floor"], str(tmp_path / "f.png"), ylabel="Fréchet distance")
    assert seen["legend"] == ["Fréchet distance of G's samples", "floor: real training vs held-out samples"]
    assert seen["ylabel"] == "Fréchet distance"


def test_the_documented_group_command_zeroes_whole_channels(tmp_path):
    text = (ROOT / "docs" / "guide" / "apps.md").read_text()
    line = next(ln for ln in text.splitlines() if "whole channels -> compaction" in ln)
    argv = shlex.split(line.split("#")[0])[1:]
    assert main(argv + ["--out", str(tmp_path / "g"), "--no-plots", "--no-progress", "--threads", "1"]) == 0
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert summary["zero_channels"] > 0
