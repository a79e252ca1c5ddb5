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
