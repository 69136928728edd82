"""GAN tricks on the ring and grid benchmarks: modes, high-quality %, reverse KL, CPU seconds.

Every configuration trains for the same number of steps (the same CPU budget up to the cost of
the trick itself, which the ``seconds`` column shows) and is scored with the VEEGAN / PacGAN
metrics on 2,500 samples. The chapter notebook ``notebooks/03_gan_benchmark.ipynb`` shows the
stored table beside the published ones. Regenerate the stored tables with::

    python benchmarks/bench_gan.py --table main --dataset ring --out notebooks/data/03_gan_main_ring.csv
    python benchmarks/bench_gan.py --table main --dataset grid --out notebooks/data/03_gan_main_grid.csv

The main table trains every row for the same 10,000 steps of batch 128 (3 seeds; 40 to 65
CPU-seconds a run, about 26 minutes for both files run side by side on two cores; the same run's
seconds vary by about 10 % between repeats); its last five rows combine tricks, the best of them
within the issue's budget of 60 CPU-seconds per run. Rows with an EMA of G
(``ema_decay``) are scored on the averaged generator and also, in the ``raw_*`` columns, on the
same run's raw weights. The samples the chapter plots (raw and averaged weights of one run)::

    python benchmarks/bench_gan.py --table main --dataset grid --only "PacGAN2 + TTUR + Adam(0, 0.9) + EMA" \
        --seeds 1 --samples notebooks/data/03_gan_ema_grid_samples.csv

The tricks table::

    for i in 1 2 3; do python benchmarks/bench_gan.py --table tricks --dataset grid --steps 600 --seeds 2 \
        --part $i/3 --out notebooks/data/03_gan_tricks_$i.csv; done

Runs use one CPU thread (``--threads``) so that ``seconds`` compare across configurations.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time

import torch

from dlnotes.gan import data, metrics, training

PAC2_TTUR = {"pack": 2, "lr_d": 2e-3, "lr_g": 5e-4}  # PacGAN2 with the two-timescale rates of part 2
DECAY = {"lr_decay": "cosine", "decay_start": 0.5}
MAIN = {
    "GAN (non-saturating)": {},
    "GAN (minimax loss)": {"loss": "minimax"},
    "GAN + EMA of G": {"ema_decay": 0.99},
    "PacGAN2": {"pack": 2},
    "PacGAN4": {"pack": 4},
    "PacGAN2 + TTUR + decay": {**PAC2_TTUR, **DECAY},
    "PacGAN2 + TTUR + decay + Adam(0, 0.9)": {**PAC2_TTUR, **DECAY, "betas": (0.0, 0.9)},
    "same, minimax loss": {**PAC2_TTUR, **DECAY, "betas": (0.0, 0.9), "loss": "minimax"},
    "PacGAN2 + TTUR + decay + Adam(0, 0.9) + EMA": {**PAC2_TTUR, **DECAY, "betas": (0.0, 0.9), "ema_decay": 0.99},
    "PacGAN2 + TTUR + Adam(0, 0.9) + EMA": {**PAC2_TTUR, "betas": (0.0, 0.9), "ema_decay": 0.99},
}
TRICKS = {
    "plain": {},
    "2 minimax loss": {"loss": "minimax"},
    "2 least squares": {"loss": "least_squares"},
    "2 hinge": {"loss": "hinge"},
    "3 uniform z": {"latent": "uniform"},
    "4 BN in G": {"g_batchnorm": True},
    "4 BN in D, pure batches": {"d_batchnorm": True},
    "4 BN in D, mixed batches": {"d_batchnorm": True, "mixed_batches": True},
    "5 leaky ReLU in G": {"activation": "leaky_relu"},
    "5 ReLU in D": {"d_activation": "relu"},
    "6 one-sided smoothing 0.1": {"label_smoothing": 0.1},
    "6 soft labels [0.7,1.2]/[0,0.3]": {"soft": True},
    "6 noisy labels (5% flipped)": {"label_flip": 0.05},
    "7 SGD for D, Adam for G": {"optimizer_d": "sgd", "lr_d": 0.05},
    "9 instance noise 0.1": {"instance_noise": 0.1},
    "9 noise in G layers 0.1": {"g_noise": 0.1},
    "10 two D steps per G step": {"d_steps": 2},
    "11 TTUR lr_d=2e-3, lr_g=5e-4": {"lr_d": 2e-3, "lr_g": 5e-4},
    "12 WGAN-GP": {"loss": "wasserstein", "gp_weight": 10.0},
    "13 spectral norm": {"spectral_norm": True},
    "14 PacGAN2": {"pack": 2},
}
TABLES = {"main": (MAIN, ("ring", "grid")), "tricks": (TRICKS, ("ring",))}


def run(config: dict, dataset: str, seed: int, steps: int, batch_size: int) -> tuple[dict, dict]:
    """One run's table row and its final samples by weights (``"raw"``, and ``"ema"`` with an EMA of G)."""
    result = training.train_gan(dataset, steps=steps, batch_size=batch_size, seed=seed,
                                sample_every=steps, **config)
    centers, std = data.centers(dataset), data.BENCHMARKS[dataset]["std"]
    m = metrics.mode_metrics(result.final_samples.double(), centers, std)
    row = {"modes": m["modes"], "high_quality": round(100 * m["high_quality"], 2),
           "reverse_kl": round(m["reverse_kl"], 4), "seconds": round(result.seconds, 2),
           "final_d_loss": round(float(result.d_loss[-100:].mean()), 4)}
    samples = {"raw": result.final_samples}
    if result.generator_ema is not None:  # the same run scored on its raw weights, for comparison
        with torch.no_grad():
            samples = {"ema": result.final_samples, "raw": result.generator.eval()(result.z)}
        raw = metrics.mode_metrics(samples["raw"].double(), centers, std)
        row.update(raw_modes=raw["modes"], raw_high_quality=round(100 * raw["high_quality"], 2),
                   raw_reverse_kl=round(raw["reverse_kl"], 4))
    return row, samples


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=sorted(TABLES), default="main")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="default: 10000 (main), 800 (tricks)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dataset", choices=["ring", "grid"], default=None, help="default: the table's datasets")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: seconds comparable)")
    parser.add_argument("--part", default="1/1", help="i/n: run every n-th configuration from the i-th")
    parser.add_argument("--only", default=None, help="run only configurations whose name contains this")
    parser.add_argument("--out", default="-")
    parser.add_argument("--samples", default=None,
                        help="also write the final samples of every run to this CSV (one configuration, one dataset)")
    args = parser.parse_args(argv)
    configs, datasets = TABLES[args.table]
    datasets = (args.dataset,) if args.dataset else datasets
    torch.set_num_threads(args.threads)
    steps = args.steps or (10000 if args.table == "main" else 800)
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    fields = ["config", "dataset", "seed", "steps", "modes", "high_quality", "reverse_kl", "seconds", "final_d_loss",
              "raw_modes", "raw_high_quality", "raw_reverse_kl"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    sample_writer, sample_file = None, None
    if args.samples:
        chosen = [name for name in configs if args.only is None or args.only in name]
        if len(chosen) != 1 or len(datasets) != 1:
            parser.error(f"--samples needs --only naming one configuration and --dataset, got {chosen} on {datasets}")
        sample_file = open(args.samples, "w", newline="")
        sample_writer = csv.writer(sample_file)
        sample_writer.writerow(["seed", "weights", "x", "y"])
    start = time.time()
    for dataset in datasets:
        i, n = (int(k) for k in args.part.split("/"))
        for name, config in list(configs.items())[i - 1::n]:
            if args.only and args.only not in name:
                continue
            for seed in range(args.seeds):
                row, samples = run(config, dataset, seed, steps, args.batch_size)
                for weights, points in samples.items() if sample_writer else ():
                    sample_writer.writerows([seed, weights, f"{x:.6g}", f"{y:.6g}"]
                                            for x, y in points.tolist())
                writer.writerow({"config": name, "dataset": dataset, "seed": seed, "steps": steps, **row})
                out.flush()
                print(f"{time.time() - start:7.0f}s {dataset} {name} seed {seed}: {row}", file=sys.stderr)
    for handle in (sample_file, out if out is not sys.stdout else None):
        if handle is not None:
            handle.close()


if __name__ == "__main__":
    main()
