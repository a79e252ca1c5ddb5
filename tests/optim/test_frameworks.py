"""The "Training frameworks" recipes of the user guide (docs/guide/frameworks.md), run as written.

Each test takes the code block of one recipe from that page and runs it on a small model
(the names a recipe assumes, such as ``model`` or ``loader``, are defined here), then
checks what the recipe promises against a plain training loop. Lightning and the Hugging
Face libraries are optional (the ``integrations`` extra): their tests are skipped without
them. The FSDP2/DDP/ZeRO recipe is checked on 2 ranks in ``test_distributed.py``.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from proxgan.optim import ProxAdam, exclude_bias_and_norm, param_groups
from proxgan.penalties import L1

README = Path(__file__).resolve().parents[2] / "docs" / "guide" / "frameworks.md"


def readme_block(heading: str) -> str:
    """The first ``python`` code block under ``## heading`` of the frameworks guide page."""
    text = README.read_text(encoding="utf-8")
    part = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", part, re.S).group(1)


def regression_data(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=gen)
    return x, x[:, :3].sum(1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=gen)


def make_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))


def zero_fraction(params):
    params = list(params)
    return sum(int((p == 0).sum()) for p in params) / sum(p.numel() for p in params)


def tiny_bert():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=16, num_labels=2))


def test_hugging_face_trainer_recipe(tmp_path):
    pytest.importorskip("accelerate")
    pytest.importorskip("transformers")
    from transformers import LlamaConfig, LlamaForCausalLM, TrainingArguments

    model = tiny_bert()
    gen = torch.Generator().manual_seed(0)
    train_dataset = [{"input_ids": torch.randint(0, 64, (8,), generator=gen), "labels": i % 2} for i in range(32)]
    training_args = TrainingArguments(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=8,
                                      learning_rate=1e-2, use_cpu=True, report_to=[], save_strategy="no",
                                      logging_strategy="no", disable_tqdm=True)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ns = {"model": model, "training_args": training_args, "train_dataset": train_dataset}
    exec(readme_block("Hugging Face Trainer"), ns)
    trainer = ns["trainer"]

    opt = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate wraps it
    assert isinstance(opt, ProxAdam)
    penalised, free = opt.param_groups
    assert isinstance(penalised["penalty"], L1) and free["penalty"] is None
    names = {id(p): n for n, p in model.named_parameters()}
    # exactly the Trainer's own weight-decay group is penalised
    assert {names[id(p)] for p in penalised["params"]} == set(trainer.get_decay_parameter_names(model))
    assert any("LayerNorm" in names[id(p)] for p in free["params"])
    assert 0 < zero_fraction(penalised["params"]) < 1
    assert all(not torch.equal(p, before[names[id(p)]]) for p in penalised["params"])  # it trained

    # a model with hand-written RMSNorm layers: the same split as the Trainer's
    torch.manual_seed(0)
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    groups = param_groups(llama, L1(1e-4), exclude=exclude_bias_and_norm)
    lnames = {id(p): n for n, p in llama.named_parameters()}
    assert {lnames[id(p)] for p in groups[0]["params"]} == set(trainer.get_decay_parameter_names(llama))


def test_lightning_recipe():
    L = pytest.importorskip("lightning")
    ns = {}
    exec(readme_block("Lightning"), ns)
    x, y = regression_data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)  # 4 batches
    module = ns["SparseRegressor"](make_net())
    trainer = L.Trainer(max_steps=12, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, loader)

    ref = ns["SparseRegressor"](make_net())  # the same steps by hand; the scheduler steps once an epoch
    conf = ref.configure_optimizers()
    opt, sched = conf["optimizer"], conf["lr_scheduler"]
    for k in range(12):
        xb, yb = x[16 * (k % 4):16 * (k % 4 + 1)], y[16 * (k % 4):16 * (k % 4 + 1)]
        opt.zero_grad()
        ref.training_step((xb, yb), k).backward()
        opt.step()
        if k % 4 == 3:
            sched.step()
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-2 * 0.9 ** 3)
    for (name, p), q in zip(module.named_parameters(), ref.parameters()):
        assert torch.equal(p, q), name
    assert 0 < zero_fraction([module.net[0].weight, module.net[2].weight]) < 1


@pytest.mark.slow
def test_torch_compile_recipe():
    x, y = regression_data()
    loader = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)] * 2
    runs = []
    for compiled in (False, True):
        model = make_net()
        code = readme_block("torch.compile")
        if not compiled:
            code = code.replace("torch.compile(opt.step)", "opt.step")
        ns = {"torch": torch, "model": model, "loader": loader, "loss_fn": nn.functional.mse_loss,
              "ProxAdam": ProxAdam, "param_groups": param_groups, "L1": L1}
        exec(code, ns)
        runs.append([p.detach() for p in model.parameters()])
    for eager, comp in zip(*runs):
        torch.testing.assert_close(comp, eager, rtol=0, atol=1e-6)
        assert torch.equal(comp == 0, eager == 0)
    assert 0 < zero_fraction([runs[1][0], runs[1][2]]) < 1
    assert float(ns["opt"].param_groups[0]["lr"]) == pytest.approx(1e-2 * 0.95 ** len(loader))  # it was scheduled
