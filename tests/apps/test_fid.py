"""proxgan.apps.fid: the Fréchet formula, feature statistics, the cached classifier."""
import os

import numpy as np
import scipy.linalg
import torch

from proxgan.apps.data import sample_mixture
from proxgan.apps.fid import FrechetScorer, feature_network, frechet_distance


def test_frechet_matches_sqrtm_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T, b @ b.T
    m1, m2 = rng.normal(size=6), rng.normal(size=6)
    ref = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert abs(frechet_distance(m1, s1, m2, s2) - ref) < 1e-8 * ref
    assert frechet_distance(m1, s1, m1, s1) < 1e-8
    # singular covariances (dead features) stay finite: 1-D Gaussians N(0,1), N(0,4) -> (1-2)^2
    s = np.diag([1.0, 0.0])
    assert abs(frechet_distance(np.zeros(2), s, np.zeros(2), 4 * s) - 1.0) < 1e-12


def test_mixture_classifier_cached_and_rng_untouched(fid_cache):
    torch.manual_seed(7)
    before = torch.get_rng_state()
    net = feature_network("ring8", cache_dir=fid_cache)
    assert torch.equal(before, torch.get_rng_state())
    files = os.listdir(fid_cache)
    assert any(f.startswith("ring8-mlp") for f in files)
    x, mode = sample_mixture("ring8", 1000, torch.Generator().manual_seed(5))
    assert float((net(x).argmax(1) == mode).float().mean()) > 0.99
    again = feature_network("ring8", cache_dir=fid_cache)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), again.parameters()))
    score = FrechetScorer(net, x)
    y, _ = sample_mixture("ring8", 1000, torch.Generator().manual_seed(6))
    far = torch.randn(1000, 2) * 0.1
    assert score(y) < 0.05 * score(far)
