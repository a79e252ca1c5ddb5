"""proxgan.apps.models: shapes for every supported input size."""
import pytest
import torch

from proxgan.apps.models import (cnn_for, dcgan_discriminator, dcgan_generator, features, lenet, mlp_classifier,
                                 mlp_discriminator, mlp_generator)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_cnn_and_dcgan_shapes(shape):
    x = torch.randn(3, *shape)
    m = cnn_for(shape, 10)
    assert m(x).shape == (3, 10)
    assert features(m, x).shape[0] == 3
    g, d = dcgan_generator(16, shape), dcgan_discriminator(shape)
    img = g(torch.randn(3, 16))
    assert img.shape == (3, *shape) and float(img.detach().abs().max()) <= 1.0
    assert d(img).shape == (3, 1)


def test_auto_picks_vgg_for_32():
    assert any(isinstance(l, torch.nn.BatchNorm2d) for l in cnn_for((3, 32, 32), 10))
    assert not any(isinstance(l, torch.nn.BatchNorm2d) for l in cnn_for((1, 28, 28), 10))
    assert not any(isinstance(l, torch.nn.BatchNorm2d) for l in cnn_for((1, 32, 32), 10, "lenet"))


def test_mlps_and_errors():
    assert mlp_generator(16)(torch.randn(4, 16)).shape == (4, 2)
    assert mlp_discriminator()(torch.randn(4, 2)).shape == (4, 1)
    assert mlp_classifier(8)(torch.randn(4, 2)).shape == (4, 8)
    with pytest.raises(ValueError, match="DCGAN"):
        dcgan_generator(8, (1, 9, 9))
    with pytest.raises(ValueError, match="at least 6x6"):
        lenet(1, 4, 10)
    with pytest.raises(ValueError, match="model must be"):
        cnn_for((1, 8, 8), 10, "resnet")
