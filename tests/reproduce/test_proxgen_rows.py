"""``reproduce proxgen`` with ``rows=`` and ``keep=``: new rows added to an earlier table without retraining it."""
import csv

import pytest

from proxgan.reproduce import reproduce

HALF = "ProxAdam ℓ1/2 (ProxGen)"


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_new_rows_merge_with_an_earlier_run(tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    cols = ["method", "λ", "seed", "test accuracy (%)", "zero weights (%)", "zero channels",
            "optimizer step s (last epoch)", "wall s (last epoch)"]
    with (earlier / "proxgen_2.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerow(["ProxAdam ℓ0 (ProxGen)", 1e-5, 0, 91.5, 40.0, 3, 1.0, 9.0])
        w.writerow(["ProxAdam ℓ0 (ProxGen)", 1e-5, 1, 92.5, 50.0, 5, 1.0, 9.0])
        w.writerow([HALF, 1e-6, 0, 1.0, 1.0, 1, 1.0, 1.0])  # a row trained again now: not copied
    (earlier / "proxgen.md").write_text("# proxgen\n\nMachine: the earlier box.\nCommand: `proxgan reproduce proxgen`.\n")
    out = tmp_path / "out"
    paths = reproduce("proxgen", out, quick=True, progress=False, data="digits", rows=[HALF],
                      keep=earlier / "proxgen_2.csv")
    table = {r["method"]: r for r in _rows(paths["csv0"])}
    assert list(table) == ["ProxAdam ℓ0 (ProxGen)", HALF]  # the order of ROWS
    assert table["ProxAdam ℓ0 (ProxGen)"]["test accuracy (%)"] == "92 ± 0.71"  # mean ± std of the kept runs
    assert table["ProxAdam ℓ0 (ProxGen)"]["seeds"] == "2" and table[HALF]["seeds"] == "1"
    runs = [r for r in _rows(paths["csv1"]) if r["method"] == HALF]
    assert len(runs) == 1 and float(runs[0]["zero weights (%)"]) > 1.0  # trained now (the prox makes zeros)
    md = paths["md"].read_text()
    assert "Rows ProxAdam ℓ0 (ProxGen): 2 runs copied from an earlier run (Machine: the earlier box." in md
    assert "rows=['ProxAdam ℓ1/2 (ProxGen)']" in md
    with pytest.raises(ValueError, match="unknown rows"):
        reproduce("proxgen", out, quick=True, data="digits", rows=["ProxAdam ℓ3"])
