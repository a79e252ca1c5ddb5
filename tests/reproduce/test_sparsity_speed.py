"""``proxgan reproduce sparsity-speed --quick``: every penalty path is measured, and the numbers hang together."""
import csv

import pytest

from proxgan.reproduce import reproduce
from proxgan.reproduce.sparsity_speed import PENALTIES, _path

pytest.importorskip("torch_pruning")


@pytest.mark.slow
def test_sparsity_speed_quick(tmp_path, bars, capsys):
    paths = reproduce("sparsity-speed", tmp_path, quick=True, progress=True)
    bars.assert_one_full("sparsity-speed")
    assert "-0.0%" not in capsys.readouterr().out
    md = paths["md"].read_text()
    assert md.startswith("# sparsity-speed") and "Machine:" in md
    assert paths["png"].stat().st_size > 5000
    for key, task in (("csv0", "mnist28-mlp"), ("csv1", "cifar-shaped-resnet")):
        rows = list(csv.DictReader(open(paths[key], newline="")))
        pens = [r["penalty"] for r in rows]
        assert pens[0] == "dense"
        for pen in PENALTIES:  # every point of every path, in path order
            assert [r["λ or n:m"] for r in rows if r["penalty"] == pen] == [
                f"{v[0]}:{v[1]}" if pen == "N:M" else str(v) for v in _path(task, pen, quick=True)]
        for r in rows:
            zeros, flops, flops_c = float(r["zero weights (%)"]), float(r["MFLOPs"]), float(r["MFLOPs compact"])
            assert 0 <= zeros <= 100 and 0 < flops_c <= flops
            assert int(r["params compact"]) <= int(r["params"])
            assert float(r["b1 dense ms"]) > 0 and float(r["b64 compact ms"]) > 0
            assert (r["b64 CSR ms"] not in ("", "nan")) == (zeros > 80)
            if r["penalty"] == "N:M":  # at least the pattern's share of the N:M layers is zero
                assert zeros >= 40
        dense_flops = float(rows[0]["MFLOPs"])
        assert all(float(r["MFLOPs"]) == dense_flops for r in rows)  # one architecture along the path
    with pytest.raises(ValueError, match="unknown task"):
        reproduce("sparsity-speed", tmp_path, quick=True, tasks=("imagenet",))
