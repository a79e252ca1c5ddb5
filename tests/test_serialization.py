"""Penalty objects inside checkpoints load with ``torch.load(weights_only=True)``."""
import io
import math
import pickle

import pytest
import torch

import proxgan
from proxgan._serialization import SAFE_PENALTIES
from proxgan.penalties import L0, L1, L2, Box, ElasticNet, GroupL1, NonNegative


def roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_every_public_penalty_class_is_allowlisted():
    public = {getattr(proxgan.penalties, n) for n in proxgan.penalties.__all__} - {proxgan.Penalty}
    assert set(SAFE_PENALTIES) == public


def test_penalties_survive_a_weights_only_load():
    pens = [L1(0.5), L1(0.1, weights=torch.tensor([1.0, 0.0, 2.5])), L2(0.3), ElasticNet(0.2, 0.7),
            GroupL1(0.4, dim=1), L0(1e-3), Box(-1.0, math.inf), NonNegative()]
    back = roundtrip({"groups": [{"penalty": p, "lr": 0.1} for p in pens]})
    for p, q in zip(pens, (g["penalty"] for g in back["groups"])):
        assert type(q) is type(p) and q == p
    x = torch.tensor([[-2.0, 0.3, 1.0], [0.05, -0.5, 4.0]])
    assert torch.equal(back["groups"][4]["penalty"].prox(x, 0.5), pens[4].prox(x, 0.5))


class Scaled(L1):
    """A user's penalty: proxgan cannot vouch for it, so weights_only refuses it until it is named."""


def test_a_user_subclass_must_be_allowlisted_by_its_author():
    with pytest.raises(pickle.UnpicklingError, match="Scaled"):
        roundtrip({"penalty": Scaled(0.5)})
    with torch.serialization.safe_globals([Scaled]):
        back = roundtrip({"penalty": Scaled(0.5)})
    assert type(back["penalty"]) is Scaled and back["penalty"] == Scaled(0.5)
