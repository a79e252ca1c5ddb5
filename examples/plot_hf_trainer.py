"""
Hugging Face Trainer recipe
===========================

The ``transformers`` Trainer accepts an optimizer class and its keyword arguments.
Pass your own parameter groups under ``"params"`` so that the penalty falls on the
weights only: :func:`proxgan.optim.exclude_bias_and_norm` leaves out what the Trainer
leaves out of weight decay (biases and normalisation weights).

This example needs the ``integrations`` extra (``pip install -e '.[integrations]'``);
without it, it says so and plots nothing but that message. The model is a tiny
randomly initialised BERT built from a config (nothing is downloaded) fitted to a
synthetic regression target.
"""
import importlib.util

import matplotlib.pyplot as plt
import torch

from proxgan.optim import ProxAdam, exclude_bias_and_norm, param_groups
from proxgan.penalties import L1

HAVE = all(importlib.util.find_spec(m) is not None for m in ("transformers", "accelerate"))
fig, ax = plt.subplots(figsize=(6, 3.5))
if not HAVE:
    print("skipped: transformers and accelerate are not installed (pip install -e '.[integrations]')")
    ax.text(0.5, 0.5, "needs the 'integrations' extra:\npip install -e '.[integrations]'", ha="center",
            va="center")
    ax.set_axis_off()
else:
    import tempfile

    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=1)
    model = BertForSequenceClassification(config)
    ids = torch.randint(0, 50, (128, 8))
    data = [{"input_ids": i, "labels": (i[0] / 50.0).float()} for i in ids]

    class Record(TrainerCallback):
        """Keep the training loss of every logged step."""

        losses: list = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.losses.append(logs["loss"])

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, num_train_epochs=3, per_device_train_batch_size=16, learning_rate=1e-3,
                                 logging_steps=2, report_to=[], save_strategy="no", use_cpu=True,
                                 disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[Record()],
                          optimizer_cls_and_kwargs=(ProxAdam, {
                              "params": param_groups(model, L1(1e-4), exclude=exclude_bias_and_norm),
                              "lr": args.learning_rate,
                          }))
        trainer.train()
    zeros = sum(int((p == 0).sum()) for p in model.parameters()) / sum(p.numel() for p in model.parameters())
    print(f"exact zeros after training: {zeros:.1%}")
    ax.plot(Record.losses)
    ax.set_xlabel("logged step")
    ax.set_ylabel("training loss")
    ax.set_title("Trainer with ProxAdam(L1)")
fig.tight_layout()
plt.show()
