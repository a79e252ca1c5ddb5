"""proxgan.apps.metrics: exact-zero counts, mode statistics, the CSV/JSON log."""
import csv
import json

import torch
from torch import nn

from proxgan.apps.data import mixture_centers
from proxgan.apps.metrics import MetricsLog, mode_stats, sparsity_report


def test_sparsity_counts_exact_zeros():
    m = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4, 3))
    with torch.no_grad():
        m[0].weight.fill_(1.0)
        m[0].weight[1] = 0
        m[0].weight[3, 0] = 0           # half a filter: not a zero channel
        m[0].weight[2, 0, 0, 0] = 1e-30  # tiny but not zero
        m[0].bias.fill_(0.5)
        m[2].weight.fill_(0)
        m[2].bias.fill_(1)
    r = sparsity_report(m)
    assert r["per_layer"]["0.weight"] == (18 + 9) / 72
    assert r["per_layer"]["0.bias"] == 0.0 and r["per_layer"]["2.weight"] == 1.0
    assert r["zero_channels"] == {"0.weight": 1, "2.weight": 3}
    assert r["zero_channels_total"] == 4
    assert r["n_params"] == 72 + 4 + 12 + 3 and r["n_zero"] == 27 + 12
    assert r["overall"] == 39 / 91 and r["weights"] == 39 / 84


def test_mode_stats():
    c = mixture_centers("ring8")
    exact = c.repeat(10, 1)
    assert mode_stats(exact, c, 0.02) == {"modes_covered": 8.0, "mode_coverage": 1.0, "hq_rate": 1.0}
    one = torch.cat([c[:1].repeat(70, 1), torch.zeros(30, 2)])  # 70 on mode 0, 30 at the origin (far)
    s = mode_stats(one, c, 0.02)
    assert s["modes_covered"] == 1.0 and s["mode_coverage"] == 1 / 8 and abs(s["hq_rate"] - 0.7) < 1e-12
    # 3 sigma boundary
    near = c[:1] + torch.tensor([[0.059, 0.0], [0.061, 0.0]])
    assert mode_stats(near, c, 0.02)["hq_rate"] == 0.5


def test_metrics_log_files(tmp_path):
    log = MetricsLog(str(tmp_path))
    log.append({"epoch": 1, "loss": 2.0, "per_layer": {"a": 0.5}})
    log.append({"epoch": 2, "loss": 1.0, "per_layer": {"a": 0.75}, "extra": 3})
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert list(rows[0]) == ["epoch", "loss", "per_layer/a", "extra"]
    assert rows[1]["per_layer/a"] == "0.75" and rows[0]["extra"] == ""
    js = json.load(open(tmp_path / "metrics.json"))
    assert js[1]["per_layer"] == {"a": 0.75}
