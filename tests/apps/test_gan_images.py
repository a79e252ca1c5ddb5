"""proxgan reproduce gan-images --quick: the tables, the published rows, and resuming from finished runs."""
import csv
import json

from proxgan.cli import main


def test_quick_run_tables_and_resume(tmp_path, capsys):
    out = tmp_path / "gi"
    assert main(["reproduce", "gan-images", "--quick", "--out", str(out), "--no-progress"]) == 0
    md = (out / "gan-images.md").read_text()
    assert "(smoke run, not the published table)" in md and "PacDCGAN2 | 1000 | 0.06" in md
    rows = {r["setting"]: r for r in csv.DictReader(open(out / "gan-images_3.csv"))}
    assert set(rows) == {"R1 + EMA (default)", "PacDCGAN2 (pack 2)", "L1 on G"}
    assert float(rows["L1 on G"]["G zero weights (%)"]) > 0 == float(rows["L1 on G"]["D zero weights (%)"])
    for r in rows.values():
        assert 1 <= float(r["modes (/1000)"]) <= 500 and 0 <= float(r["KL to uniform"]) <= 6.91
    summaries = sorted((out / "summaries").glob("*.json"))
    assert len(summaries) == 3
    # a rerun trains only what has no summary
    stamp = {p.name: p.stat().st_mtime_ns for p in summaries}
    summaries[0].unlink()
    assert main(["reproduce", "gan-images", "--quick", "--out", str(out), "--no-progress"]) == 0
    again = {p.name: p.stat().st_mtime_ns for p in (out / "summaries").glob("*.json")}
    assert set(again) == set(stamp)
    assert [n for n in again if again[n] != stamp[n]] == [summaries[0].name]
    assert json.loads(summaries[0].read_text())["status"] == "done"
