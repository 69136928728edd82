"""Forward + backward of dlnotes.norm.BatchNorm against nn.BatchNorm2d on a (64, 64, 32, 32) input.

    .venv/bin/python benchmarks/bench_norm.py

Median of repeated steps on the CPU (with torch's default thread count and with one thread),
and on CUDA when a GPU is available. Target: within 2x of torch. The training-mode forward and
the hand-derived backward are one autograd node (``dlnotes.batch_norm_function``); both
layers are timed in the same run, since absolute times move with the machine and its load.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from dlnotes import norm


def median_step_time(layer: nn.Module, x: torch.Tensor, repeats: int) -> float:
    grad_out = torch.randn_like(x)

    def step():
        layer(x.detach().requires_grad_(True)).backward(grad_out)

    for _ in range(3):  # warm-up
        step()
    times = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


TARGET = 2.0


def main() -> None:
    runs = [("cpu", torch.get_num_threads()), ("cpu", 1)]
    runs += [("cuda", torch.get_num_threads())] if torch.cuda.is_available() else []
    default_threads = torch.get_num_threads()
    for dev, threads in runs:
        torch.set_num_threads(threads)
        x = torch.randn(64, 64, 32, 32, device=dev)
        repeats = 15 if dev == "cpu" else 100
        t_ref = median_step_time(nn.BatchNorm2d(64).to(dev), x, repeats)
        t_ours = median_step_time(norm.BatchNorm(64).to(dev), x, repeats)
        ratio = t_ours / t_ref
        print(f"{dev}: torch {t_ref * 1e3:.1f} ms, dlnotes {t_ours * 1e3:.1f} ms, ratio {ratio:.2f}x "
              f"(threads={threads}) -> {'within' if ratio <= TARGET else 'ABOVE'} the {TARGET:g}x target")
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
