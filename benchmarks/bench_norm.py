"""Forward + backward of dlnotes.norm.BatchNorm against nn.BatchNorm2d on a (64, 64, 32, 32) input.

    .venv/bin/python benchmarks/bench_norm.py

Median of repeated steps on the CPU, and on CUDA when a GPU is available. Target: within 3x of torch.
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


def main() -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        x = torch.randn(64, 64, 32, 32, device=dev)
        repeats = 15 if dev == "cpu" else 100
        t_ref = median_step_time(nn.BatchNorm2d(64).to(dev), x, repeats)
        t_ours = median_step_time(norm.BatchNorm(64).to(dev), x, repeats)
        print(f"{dev}: torch {t_ref * 1e3:.1f} ms, dlnotes {t_ours * 1e3:.1f} ms, "
              f"ratio {t_ours / t_ref:.2f}x (threads={torch.get_num_threads()})")


if __name__ == "__main__":
    main()
