"""FSDP2 optimizer step on 2 CPU ranks: ProxAdam(L1) against torch.optim.Adam on the same wrapping.

Protocol: 2 gloo ranks on 127.0.0.1 (one process each, one torch thread, the ranks on the
machine's cores), an MLP of ``--layers`` square ``--width`` layers plus a 10-way head
(default 4 x 1024: 4.2M float32 parameters), each ``nn.Linear`` wrapped with
``fully_shard`` and then the root, so that parameters, gradients and optimizer state are
DTensors sharded along dim 0. One forward/backward gives fixed sharded gradients; then the
contenders step in turn, A B C A B C ..., 3 warm-up rounds (the first ProxAdam step loads
its numba kernel), ``--steps`` timed rounds. Each timed step starts after a barrier; a
step's time is the slower rank's. Printed: the median step time of each contender and the
ratio of medians to ``torch.optim.Adam`` (its default, multi-tensor path: what an FSDP2
user gets) and to ``Adam(fused=True)``.

ProxAdam(L1) steps each rank's local shard with the fused CPU kernel (moments, bias
correction, soft-threshold and the write in one pass), so its step needs no communication,
like Adam's.

Run: ``.venv/bin/python bench/fsdp_step_ratio.py [--steps 50] [--width 1024] [--layers 4]``
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch import nn  # noqa: E402

WORLD = 2
WARMUP = 3


def make_model(width: int, layers: int) -> nn.Module:
    torch.manual_seed(0)
    mods: list[nn.Module] = []
    for _ in range(layers):
        mods += [nn.Linear(width, width), nn.GELU()]
    return nn.Sequential(*mods, nn.Linear(width, 10))


def contenders(model: nn.Module) -> dict[str, torch.optim.Optimizer]:
    from proxgan.optim import ProxAdam, param_groups
    from proxgan.penalties import L1

    return {
        "ProxAdam(L1)": ProxAdam(param_groups(model, L1(1e-5)), lr=1e-4),
        "Adam": torch.optim.Adam(model.parameters(), lr=1e-4),
        "Adam(fused=True)": torch.optim.Adam(model.parameters(), lr=1e-4, fused=True),
    }


def _rank(rank: int, port: int, args: argparse.Namespace, out: str) -> None:
    from torch.distributed.fsdp import fully_shard

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=600))
    try:
        model = make_model(args.width, args.layers)
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)
        gen = torch.Generator().manual_seed(rank)
        x = torch.randn(32, args.width, generator=gen)
        model(x).square().mean().backward()
        opts = contenders(model)
        times = torch.zeros(len(opts), args.steps, dtype=torch.float64)
        for k in range(WARMUP + args.steps):
            for i, opt in enumerate(opts.values()):
                dist.barrier()
                t0 = time.perf_counter()
                opt.step()
                if k >= WARMUP:
                    times[i, k - WARMUP] = time.perf_counter() - t0
        dist.all_reduce(times, op=dist.ReduceOp.MAX)  # a step costs what the slower rank takes
        if rank == 0:
            n = sum(p.numel() for p in model.parameters())
            torch.save({"names": list(opts), "times": times, "params": n}, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=4)
    args = ap.parse_args()
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    from proxgan.reproduce._report import machine_line

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "times.pt")
        mp.spawn(_rank, args=(_free_port(), args, out), nprocs=WORLD, join=True)
        res = torch.load(out, weights_only=True)
    med = {name: statistics.median(res["times"][i].tolist()) for i, name in enumerate(res["names"])}
    print(f"Machine: {machine_line()}, {WORLD} gloo ranks with 1 thread each, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"Model: MLP {args.layers} x {args.width} + head, {res['params'] / 1e6:.2f}M float32 parameters, "
          f"fully_shard per layer; medians of {args.steps} interleaved steps\n")
    print("| optimizer | median step (ms) | / Adam | / Adam(fused=True) |")
    print("|---|---:|---:|---:|")
    for name, t in med.items():
        print(f"| {name} | {t * 1e3:.2f} | {t / med['Adam']:.2f} | {t / med['Adam(fused=True)']:.2f} |")
    print(f"\nratio ProxAdam(L1) / Adam = {med['ProxAdam(L1)'] / med['Adam']:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
