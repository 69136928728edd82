"""ROC AUC on large inputs: dlnotes.metrics against scikit-learn's roc_auc_score.

    .venv/bin/python benchmarks/bench_metrics.py [--sizes 1000000 10000000]

Prints the best CPU and wall time over a few repeats, for continuous scores and for scores
rounded to 2 decimals (heavy ties). Target: dlnotes no slower than scikit-learn.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from dlnotes import metrics


def best(fn, repeats: int) -> tuple[float, float, float]:
    cpu, wall, result = [], [], None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'n':>10} {'scores':>10} {'function':>22} {'cpu (s)':>9} {'wall (s)':>9} {'AUC':>9}")
    for n in args.sizes:
        y = (rng.random(n) < 0.3).astype(np.int64)
        continuous = rng.random(n) + 0.3 * y
        for kind, s in (("continuous", continuous), ("2 decimals", np.round(continuous, 2))):
            for name, fn in (("sklearn roc_auc_score", lambda: roc_auc_score(y, s)),
                             ("dlnotes roc_auc", lambda: metrics.roc_auc(y, s)),
                             ("dlnotes roc_auc_rank", lambda: metrics.roc_auc_rank(y, s))):
                cpu, wall, auc = best(fn, args.repeats)
                print(f"{n:>10} {kind:>10} {name:>22} {cpu:9.3f} {wall:9.3f} {auc:9.6f}", flush=True)


if __name__ == "__main__":
    main()
