"""ProxAdam and ProxSGD under FSDP2, DDP and ZeroRedundancyOptimizer: 2 gloo ranks against one process.

One 2-rank job (two subprocesses of this file, gloo on 127.0.0.1) trains every case of
``CASES`` and the ZeRO cases, and rank 0 saves the full parameters; the tests compare them
with the same training in this process, on the full batch (each rank sees half of it).
Sharding must not change the result: the parameters agree to 1e-5 with the same exact
zeros. FSDP2 shards dim 0 of every tensor (one layer has 7 rows: 4 and 3 per rank), so
``GroupL1(dim=1)`` has groups that span both shards and needs a cross-shard reduction.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import torch
from torch import nn

from proxgan.optim import ProxAdam, ProxSGD, param_groups
from proxgan.penalties import L1, GroupL1

WORLD = 2
STEPS = 6
BATCH = 16  # split in halves between the ranks
TIMEOUT = 300  # seconds for the whole 2-rank job

pytestmark = pytest.mark.slow  # two subprocesses: ~30 s of CPU

OPTIMIZERS = {
    "adam": lambda groups, **kw: ProxAdam(groups, lr=0.02, **kw),
    "sgd": lambda groups, **kw: ProxSGD(groups, lr=0.1, momentum=0.9, **kw),
}
# strengths (by optimizer) at which some weights and groups reach zero within STEPS, not all
PENALTIES = {
    "l1": lambda opt: L1(0.01 if opt == "adam" else 0.1),
    "group0": lambda opt: GroupL1(0.1 if opt == "adam" else 1.0, dim=0),
    "group1": lambda opt: GroupL1(0.1 if opt == "adam" else 1.0, dim=1),
}
IMPLS = {"default": {}, "unfused": {"fused": False}}
CASES = [(wrap, opt, pen, impl) for wrap in ("fsdp", "ddp") for opt in OPTIMIZERS for pen in PENALTIES
         for impl in IMPLS]
ZERO_CASES = ("zero-adam-l1", "zero-adam-l1-resumed")


def make_model() -> nn.Module:
    """12 -> 32 -> 7 -> 4: the 7-row layer shards unevenly (4 + 3 rows)."""
    gen = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 7), nn.Tanh(), nn.Linear(7, 4))
    with torch.no_grad():
        for p in model.parameters():  # weights of very different sizes, so that some reach zero
            p.copy_(torch.randn(p.shape, generator=gen) * torch.rand(p.shape, generator=gen) ** 2 * 0.5)
    return model


def batch(k: int, rank: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Step ``k``'s batch: all of it (``rank=None``) or the rank's half."""
    gen = torch.Generator().manual_seed(100 + k)
    x, y = torch.randn(BATCH, 12, generator=gen), torch.randn(BATCH, 4, generator=gen)
    if rank is None:
        return x, y
    half = BATCH // WORLD
    return x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half]


def train(model: nn.Module, opt: torch.optim.Optimizer, steps: range, rank: int | None = None) -> None:
    for k in steps:
        x, y = batch(k, rank)
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def make_optimizer(model: nn.Module, opt: str, pen: str, impl: str) -> torch.optim.Optimizer:
    return OPTIMIZERS[opt](param_groups(model, PENALTIES[pen](opt)), **IMPLS[impl])


def single_process(opt: str, pen: str, impl: str, steps: int = STEPS) -> dict[str, torch.Tensor]:
    model = make_model()
    train(model, make_optimizer(model, opt, pen, impl), range(steps))
    return {n: p.detach().clone() for n, p in model.named_parameters()}


# ---------------------------------------------------------------------------------- the ranks
def _full(model: nn.Module) -> dict[str, torch.Tensor]:
    out = {}
    for n, p in model.named_parameters():
        full = getattr(p, "full_tensor", None)
        out[n.removeprefix("module.")] = (full() if full is not None else p).detach().clone()
    return out


def _run_case(wrap: str, opt: str, pen: str, impl: str, rank: int) -> dict:
    from torch.distributed.fsdp import fully_shard
    from torch.nn.parallel import DistributedDataParallel

    from proxgan import _dispatch
    from proxgan._lowering import lower

    model = make_model()
    if wrap == "fsdp":
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)
    else:
        model = DistributedDataParallel(model)
    optimizer = make_optimizer(model, opt, pen, impl)
    train(model, optimizer, range(STEPS), rank)
    group = optimizer.param_groups[0]
    p = group["params"][0]
    info = {"params": _full(model),
            "impl": _dispatch.step_impl(p, foreach=group["foreach"], fused=group["fused"],
                                        lowering=lower(group["penalty"]))}
    if wrap == "fsdp":  # state tensors are sharded like their parameter
        info["state_like_param"] = all(
            type(v) is type(q) and v.placements == q.placements and v.to_local().shape == q.to_local().shape
            for q in optimizer.state for k, v in optimizer.state[q].items() if k != "step")
    return info


def _run_zero(rank: int, path: str) -> dict:
    """ZeRO over DDP: 3 steps, a consolidated checkpoint loaded with weights_only=True, 3 more steps."""
    import torch.distributed as dist
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel

    def make(model):
        return ZeroRedundancyOptimizer(param_groups(model, PENALTIES["l1"]("adam")), optimizer_class=ProxAdam, lr=0.02)

    model = DistributedDataParallel(make_model())
    zero = make(model)
    train(model, zero, range(STEPS // 2), rank)
    zero.consolidate_state_dict(to=0)
    if rank == 0:
        torch.save({"model": model.module.state_dict(), "optim": zero.state_dict()}, path)
    dist.barrier()
    ckpt = torch.load(path, weights_only=True)
    train(model, zero, range(STEPS // 2, STEPS), rank)
    out = {"zero-adam-l1": {"params": _full(model)}}

    resumed = DistributedDataParallel(make_model())
    resumed.module.load_state_dict(ckpt["model"])
    zero2 = make(resumed)
    zero2.load_state_dict(ckpt["optim"])
    train(resumed, zero2, range(STEPS // 2, STEPS), rank)
    out["zero-adam-l1-resumed"] = {"params": _full(resumed),
                                   "penalty": repr(zero2.param_groups[0]["penalty"])}
    return out


def _worker(rank: int, port: int, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=TIMEOUT))
    try:
        results = {"-".join(case): _run_case(*case, rank) for case in CASES}
        results.update(_run_zero(rank, out + ".zero.pt"))
        if rank == 0:
            torch.save(results, out)
        dist.barrier()  # neither rank leaves while the other still uses the group
    finally:
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown once everything is saved: gloo's threads can abort it
    # ("terminate called without an active exception"), which would fail a finished job.
    os._exit(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> dict:
    """Run the 2-rank job once for the whole module; rank 0's results."""
    tmp = tmp_path_factory.mktemp("dist")
    out = str(tmp / "results.pt")
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}
    logs = [tmp / f"rank{rank}.log" for rank in range(WORLD)]
    procs = []
    for rank, log in enumerate(logs):
        with log.open("w") as f:
            procs.append(subprocess.Popen([sys.executable, __file__, str(rank), str(port), out], env=env,
                                          stdout=f, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + TIMEOUT
    while True:
        codes = [proc.poll() for proc in procs]
        if None not in codes:
            break
        if time.monotonic() > deadline or any(codes):  # a failed rank stops the other at once
            for proc in procs:
                proc.kill()
                proc.wait()
            break
        time.sleep(0.1)
    if any(proc.returncode for proc in procs):
        text = "\n".join(log.read_text() for log in logs)
        late = " (stopped: over the time limit)" if time.monotonic() > deadline else ""
        pytest.fail(f"a rank failed{late}:\n{text[-6000:]}")
    return torch.load(out, weights_only=True)


def assert_same_training(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert got.keys() == want.keys()
    for name in want:
        a, b = got[name], want[name]
        assert a.shape == b.shape, name
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=name)
        assert torch.equal(a == 0, b == 0), f"{name}: the zero patterns differ"


@pytest.mark.parametrize("case", CASES, ids="-".join)
def test_sharded_training_matches_one_process(ranks, case):
    wrap, opt, pen, impl = case
    got = ranks["-".join(case)]
    want = single_process(opt, pen, impl)
    assert_same_training(got["params"], want)
    weights = [n for n in want if n.endswith("weight")]
    zeros = sum(int((want[n] == 0).sum()) for n in weights)
    assert 0 < zeros < sum(want[n].numel() for n in weights), "the case should make some, not all, weights zero"
    if pen.startswith("group"):  # whole groups are zero
        dim = PENALTIES[pen](opt).dim
        assert any(bool((want[n] == 0).all(dim=1 - dim).any()) for n in weights)
    expected = "foreach" if impl == "unfused" else "fused" if pen == "l1" else \
        ("reference" if wrap == "fsdp" else "foreach")
    assert got["impl"] == expected
    if wrap == "fsdp":
        assert got["state_like_param"]


def test_zero_redundancy_trains_and_resumes_from_a_weights_only_checkpoint(ranks):
    want = single_process("adam", "l1", "default")
    assert_same_training(ranks["zero-adam-l1"]["params"], want)
    resumed = ranks["zero-adam-l1-resumed"]
    assert resumed["penalty"] == "L1(lam=0.01, weights=None)"
    for name, p in ranks["zero-adam-l1"]["params"].items():
        assert torch.equal(resumed["params"][name], p), name


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
