"""proxgan.apps.plots: every plot writes a readable PNG of the expected size."""
import matplotlib.image as mpimg
import torch

from proxgan.apps.data import mixture_centers
from proxgan.apps.plots import image_grid, plot_curves, scatter_2d


def test_plots_write_pngs(tmp_path):
    rows = [{"epoch": 1, "a": 2.0, "b": None}, {"epoch": 2, "a": 1.0, "b": 0.5}]
    plot_curves(rows, ["a", "b", "missing"], str(tmp_path / "c.png"), logy=True)
    image_grid(torch.rand(10, 1, 8, 8) * 2 - 1, str(tmp_path / "g.png"), nrow=4)
    image_grid(torch.rand(4, 3, 32, 32) * 2 - 1, str(tmp_path / "rgb.png"), nrow=2)
    scatter_2d(torch.randn(100, 2), mixture_centers("grid25"), str(tmp_path / "s.png"))
    assert mpimg.imread(tmp_path / "c.png").shape[:2] == (320, 500)
    assert mpimg.imread(tmp_path / "s.png").shape[:2] == (400, 400)
    for f in ("g.png", "rgb.png"):
        assert mpimg.imread(tmp_path / f).shape[0] > 100


def test_plot_curves_integer_epochs_and_fraction_axis(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from proxgan.apps import plots

    captured = {}
    orig = plt.close
    rows = [{"epoch": e, "s": 0.26 + 0.01 * e} for e in (1, 2, 3)]

    def keep(fig):
        captured["ax"] = fig.axes[0]
        orig(fig)

    import unittest.mock as mock

    with mock.patch.object(plt, "close", keep):
        plots.plot_curves(rows, ["s"], str(tmp_path / "s.png"), ylim=(0, 1))
    ax = captured["ax"]
    assert all(float(t).is_integer() for t in ax.get_xticks())
    assert ax.get_ylim() == (0.0, 1.0)
