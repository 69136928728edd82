"""Step time of each dlnotes optimizer against torch.optim, on a model of about 10M parameters.

    .venv/bin/python benchmarks/bench_optim.py            # CPU, and CUDA when available
    .venv/bin/python benchmarks/bench_optim.py --repeats 30 --device cpu

For every optimizer the same gradients are set once, then ``step()`` is timed for dlnotes, for
torch's single-tensor path (``foreach=False``), for torch's default path and for torch's
``foreach=True`` path, interleaved so that load on a shared machine hits all of them alike.
The table reports the median step time in milliseconds and dlnotes / single-tensor (the target
is at most 1.5).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from dlnotes import optim

CASES = {
    "SGD (momentum 0.9)": (optim.SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    "Adagrad": (optim.Adagrad, torch.optim.Adagrad, {"lr": 0.01}),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop, {"lr": 0.01}),
    "RMSprop (centered, momentum)": (optim.RMSprop, torch.optim.RMSprop,
                                     {"lr": 0.01, "centered": True, "momentum": 0.9}),
    "Adadelta": (optim.Adadelta, torch.optim.Adadelta, {}),
    "Adam": (optim.Adam, torch.optim.Adam, {"lr": 1e-3}),
    "Adam (amsgrad)": (optim.Adam, torch.optim.Adam, {"lr": 1e-3, "amsgrad": True}),
    "AdamW": (optim.AdamW, torch.optim.AdamW, {"lr": 1e-3}),
    "NAdam": (optim.NAdam, torch.optim.NAdam, {}),
}


def model(device: torch.device) -> torch.nn.Module:
    sizes = [1024, 2048, 2048, 1024, 1024]
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1]).to(device)


def fresh_params(reference: list[torch.Tensor]) -> list[torch.Tensor]:
    params = [p.detach().clone().requires_grad_() for p in reference]
    for p, q in zip(params, reference):
        p.grad = q.grad.clone()
    return params


def time_step(opt: torch.optim.Optimizer, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench(device: torch.device, repeats: int, warmup: int) -> list[dict]:
    torch.manual_seed(0)
    reference = list(model(device).parameters())
    for p in reference:
        p.grad = torch.randn_like(p) * 1e-3
    n_params = sum(p.numel() for p in reference)
    rows = []
    for name, (ours_cls, torch_cls, kwargs) in CASES.items():
        variants = {
            "dlnotes": lambda ps: ours_cls(ps, **kwargs),
            "torch foreach=False": lambda ps: torch_cls(ps, foreach=False, **kwargs),
            "torch default": lambda ps: torch_cls(ps, **kwargs),
            "torch foreach=True": lambda ps: torch_cls(ps, foreach=True, **kwargs),
        }
        opts = {k: make(fresh_params(reference)) for k, make in variants.items()}
        times = {k: [] for k in opts}
        for i in range(warmup + repeats):
            for k, opt in opts.items():
                elapsed = time_step(opt, device)
                if i >= warmup:
                    times[k].append(elapsed)
        row = {"optimizer": name, "device": device.type, "params": n_params}
        row.update({k: 1e3 * statistics.median(v) for k, v in times.items()})
        row["ratio"] = row["dlnotes"] / row["torch foreach=False"]
        rows.append(row)
        del opts
    return rows


def markdown(rows: list[dict]) -> str:
    cols = ["dlnotes", "torch foreach=False", "torch default", "torch foreach=True"]
    lines = ["| optimizer | device | " + " | ".join(f"{c} (ms)" for c in cols) + " | dlnotes / single-tensor |",
             "| --- | --- | " + " | ".join("---:" for _ in cols) + " | ---: |"]
    for r in rows:
        lines.append(f"| {r['optimizer']} | {r['device']} | "
                     + " | ".join(f"{r[c]:.1f}" for c in cols) + f" | {r['ratio']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_optim.json")
    args = parser.parse_args()
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    rows = [row for d in devices for row in bench(d, args.repeats, args.warmup)]
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, {rows[0]['params'] / 1e6:.2f}M parameters, "
          f"median of {args.repeats} steps\n")
    print(markdown(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
