"""ROC AUC on large inputs: dlnotes.metrics against scikit-learn's roc_auc_score.

    .venv/bin/python benchmarks/bench_metrics.py [--sizes 1000000 10000000]

Prints the best CPU and wall time over a few repeats, for continuous scores, for scores
rounded to 2 decimals (heavy ties), for int64 scores (ranked as integers) and with
``sample_weight``; and DeLong's variance against a 200-resample bootstrap. Target: dlnotes no
slower than scikit-learn; DeLong far cheaper than the bootstrap it replaces.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from dlnotes import auc_inference, metrics


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
        weights = rng.exponential(1.0, n)
        integers = (continuous * 2**40).astype(np.int64) + 2**60
        for kind, s in (("continuous", continuous), ("2 decimals", np.round(continuous, 2)), ("int64", integers)):
            for name, fn in (("sklearn roc_auc_score", lambda: roc_auc_score(y, s)),
                             ("dlnotes roc_auc", lambda: metrics.roc_auc(y, s)),
                             ("dlnotes roc_auc_rank", lambda: metrics.roc_auc_rank(y, s))):
                cpu, wall, auc = best(fn, args.repeats)
                print(f"{n:>10} {kind:>10} {name:>22} {cpu:9.3f} {wall:9.3f} {auc:9.6f}", flush=True)
        for name, fn in (("sklearn weighted", lambda: roc_auc_score(y, continuous, sample_weight=weights)),
                         ("dlnotes weighted", lambda: metrics.roc_auc(y, continuous, sample_weight=weights))):
            cpu, wall, auc = best(fn, args.repeats)
            print(f"{n:>10} {'weighted':>10} {name:>22} {cpu:9.3f} {wall:9.3f} {auc:9.6f}", flush=True)
    m = min(args.sizes[0], 10**5)
    y, s = (rng.random(m) < 0.3).astype(np.int64), rng.random(m)
    y_s = s + 0.3 * y
    cpu, wall, (_, var) = best(lambda: auc_inference.auc_variance(y, y_s), args.repeats)
    print(f"{m:>10} {'':>10} {'DeLong variance':>22} {cpu:9.3f} {wall:9.3f} {var ** 0.5:9.6f} (standard error)")
    cpu, wall, boot = best(lambda: auc_inference.bootstrap_auc(y, y_s, n_boot=200), 1)
    print(f"{m:>10} {'':>10} {'bootstrap, 200':>22} {cpu:9.3f} {wall:9.3f} {boot.std(ddof=1):9.6f} (standard error)")


if __name__ == "__main__":
    main()
