"""Stacked MNIST: the draws, the mode count and KL against hand-computed cases, per-channel Fréchet, packing."""
import math

import pytest
import torch

from proxgan.apps.classifier import frozen_classifier, predict_digits
from proxgan.apps.stabilisers import pack
from proxgan.apps.stacked import (N_MODES, ChannelFrechet, StackedMNIST, kl_to_uniform, mode_histogram,
                                  mode_stats_stacked, stack_digits, stacked_modes)


@pytest.fixture(scope="module")
def pools():
    return StackedMNIST.load()


@pytest.fixture(scope="module")
def one_per_digit(pools):
    """One held-out image of each digit 0..9 that the frozen classifier reads correctly."""
    net = frozen_classifier()
    pred = predict_digits(net, pools.x_test)
    ok = pred == pools.y_test
    return torch.stack([pools.x_test[torch.nonzero(ok & (pools.y_test == d))[0, 0]] for d in range(10)])


def test_stack_digits_channels_and_modes():
    x = torch.arange(10.0).reshape(10, 1, 1, 1).expand(10, 1, 2, 2).clone()  # image d is filled with d
    y = torch.arange(10)
    img, modes = stack_digits(x, y, 50, torch.Generator().manual_seed(0))
    assert img.shape == (50, 3, 2, 2)
    digits = img[:, :, 0, 0].long()
    assert torch.equal(modes, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
    assert len(set(modes.tolist())) > 40  # three independent draws, not one digit copied


def test_epochs_are_fixed_per_seed_and_differ_between_epochs(pools):
    a, b = pools.epoch(64, seed=1, epoch=3), pools.epoch(64, seed=1, epoch=3)
    assert torch.equal(a, b) and a.shape == (64, 3, 28, 28)
    assert not torch.equal(a, pools.epoch(64, seed=1, epoch=4))
    assert not torch.equal(a, pools.epoch(64, seed=2, epoch=3))
    assert pools.shape == (3, 28, 28)


def test_kl_to_uniform_hand_cases():
    one = torch.zeros(N_MODES)
    one[7] = 26000
    assert kl_to_uniform(one) == pytest.approx(math.log(1000), abs=1e-12)
    two = torch.zeros(N_MODES)
    two[[1, 2]] = 5
    assert kl_to_uniform(two) == pytest.approx(math.log(500), abs=1e-12)
    assert kl_to_uniform(torch.full((N_MODES,), 3.0)) == pytest.approx(0.0, abs=1e-12)
    # 3/4 on one mode, 1/4 on another, of 4 modes: 3/4 log 3 + 1/4 log 1
    assert kl_to_uniform(torch.tensor([3.0, 1.0, 0.0, 0.0])) == pytest.approx(0.75 * math.log(3), abs=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        kl_to_uniform(torch.zeros(5))
    assert torch.equal(mode_histogram(torch.tensor([0, 999, 999]))[[0, 1, 999]], torch.tensor([1.0, 0.0, 2.0]))


def test_a_generator_with_one_mode_covers_one(one_per_digit):
    net = frozen_classifier()
    image = torch.cat([one_per_digit[3], one_per_digit[1], one_per_digit[4]])  # mode 314
    samples = image.expand(500, 3, 28, 28)
    assert torch.equal(stacked_modes(net, samples), torch.full((500,), 314))
    s = mode_stats_stacked(net, samples)
    assert s["modes_covered"] == 1 and s["mode_samples"] == 500
    assert s["kl_uniform"] == pytest.approx(math.log(1000), abs=1e-12)


def test_every_mode_once_is_uniform(one_per_digit):
    net = frozen_classifier()
    t = torch.arange(N_MODES)
    samples = torch.cat([one_per_digit[t // 100], one_per_digit[(t // 10) % 10], one_per_digit[t % 10]], dim=1)
    assert torch.equal(stacked_modes(net, samples), t)
    s = mode_stats_stacked(net, samples)
    assert s["modes_covered"] == N_MODES and s["kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        stacked_modes(net, samples[:, :1])


def test_channel_frechet_tells_which_channel_is_wrong(pools):
    net = frozen_classifier()
    real = pools.reference(500)
    cf = ChannelFrechet(net, real)
    other = pools.reference(500, train=True)
    fake = other.clone()
    fake[:, 1] = -1.0  # a blank green channel
    floor, bad = cf(other), cf(fake)
    assert bad[1] > 20 * max(floor) and bad[0] == pytest.approx(floor[0]) and bad[2] == pytest.approx(floor[2])
    row = cf.row(fake)
    assert row["frechet"] == pytest.approx(sum(bad) / 3) and row["frechet_g"] == bad[1]


def test_pack_shape_and_semantics():
    x = torch.arange(6 * 3 * 2 * 2, dtype=torch.float32).reshape(6, 3, 2, 2)
    p = pack(x, 2)
    assert p.shape == (3, 6, 2, 2)
    for j in range(3):
        for i in range(2):
            assert torch.equal(p[j, 3 * i:3 * (i + 1)], x[2 * j + i])  # pack j holds samples 2j, 2j+1 in order
    assert pack(x, 1) is x
    assert torch.equal(pack(torch.arange(8.0).reshape(4, 2), 4), torch.arange(8.0).reshape(1, 8))  # 2-D points
    with pytest.raises(ValueError, match="packs of 4"):
        pack(x, 4)
    with pytest.raises(ValueError, match="pack must be an int >= 1"):
        pack(x, 0)
