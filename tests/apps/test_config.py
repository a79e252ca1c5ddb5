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
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        CNNConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="generator penalty 'l1'"):
        GANConfig(g=OptimConfig("adam", 1e-3, "l1", 1e-3)).validate()


def test_defaults_are_valid_and_serialisable():
    import json

    for c in (CNNConfig(), GANConfig()):
        c.validate()
        assert json.loads(json.dumps(c.to_dict()))["epochs"] == 5
    assert GANConfig().g.betas == (0.5, 0.999) and GANConfig().data == "ring8"
