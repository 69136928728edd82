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

The best combination on fresh seeds (3, 4, 5; seeds 0-2 chose it), with two other EMA decays
read off the same runs::

    python benchmarks/bench_gan.py --table main --dataset grid --only "PacGAN2 + TTUR + Adam(0, 0.9) + EMA" \
        --first-seed 3 --ema-search 0.9,0.999 --out notebooks/data/03_gan_fresh_grid.csv

The tricks table (600 steps, 3 seeds; WGAN-GP in the paper's setting, five critic steps per
generator step, in its own file, scored at 600 and 2,000 steps)::

    for i in 1 2 3 4; do python benchmarks/bench_gan.py --table tricks --dataset grid --steps 600 \
        --seeds 3 --part $i/4 --exclude "paper setting" --out notebooks/data/03_gan_tricks_$i.csv; done
    python benchmarks/bench_gan.py --table tricks --dataset grid --steps 2000 --checkpoints 600,2000 \
        --seeds 3 --only "paper setting" --out notebooks/data/03_gan_tricks_wgan.csv

Trick 1 (input scaling) on the digits, each run judged at 500, 1,000 and 2,000 steps::

    python benchmarks/bench_gan.py --table digits --steps 2000 --checkpoints 500,1000,2000 \
        --out notebooks/data/03_gan_digits.csv

The unrolled GAN against the plain GAN at equal CPU time (the plain GAN gets the steps the unrolled
one's time buys)::

    python benchmarks/bench_gan.py --table unrolled --out notebooks/data/03_gan_unrolled.csv

Every CSV starts with ``#`` lines naming the command, the commit and the library versions that
wrote it (read it with ``pandas.read_csv(path, comment="#")``).

Runs use one CPU thread (``--threads``) so that ``seconds`` compare across configurations.
"""
from __future__ import annotations

import argparse
import csv
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

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
    # trick 12 in the paper's setting (Gulrajani et al. 2017, Algorithm 1)
    "12 WGAN-GP, paper setting": {"loss": "wasserstein", "gp_weight": 10.0, "d_steps": 5, "betas": (0.0, 0.9),
                                   "lr_d": 1e-4, "lr_g": 1e-4},
    # trick 3 where the latent's dimension can matter
    "3 Gaussian z, 32-d": {"z_dim": 32},
    "3 uniform z, 32-d": {"latent": "uniform", "z_dim": 32},
}
UNROLLED = {  # "_steps": each row's own step count, chosen so that the rows take about the same CPU time
    "GAN, equal time": {"_steps": 2500},
    "Unrolled GAN (k=5), equal time": {"unrolled_steps": 5, "unrolled_lr": 0.1, "_steps": 500},
}
DIGITS = {  # trick 1 on scikit-learn's 8x8 digits: scaled to [-1, 1] with a tanh G, or raw 0..16 with a linear G
    "[-1,1] + tanh": {"scale": "tanh", "out_activation": "tanh"},
    "raw 0..16, linear": {"scale": "raw", "out_activation": None},
}
TABLES = {"main": (MAIN, ("ring", "grid")), "tricks": (TRICKS, ("ring",)), "unrolled": (UNROLLED, ("ring", "grid")),
          "digits": (DIGITS, ("digits",))}


def digits_rows(config: dict, seed: int, checkpoints: list[int]) -> list[dict]:
    """Trick 1: a 64-d MLP GAN on the digits, its samples judged at each checkpoint.

    ``confident``: share of 500 samples a logistic-regression digit classifier (fit on the real
    digits) labels with probability above 0.9; ``classes``: how many digits those cover; ``c2st``:
    5-fold accuracy of a logistic regression telling 500 samples from 500 real digits (0.5: no
    difference, 1: always told apart).
    """
    import dlnotes
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from dlnotes.gan import models

    x, y = data.digits(config["scale"])
    raw, _ = data.digits("raw")
    judge = LogisticRegression(max_iter=2000).fit(raw.numpy() / 16, y.numpy())
    dlnotes.seed_everything(seed)
    G = models.mlp_generator(16, 64, hidden=128, depth=2, out_activation=config["out_activation"])
    result = training.train_gan(x, steps=max(checkpoints), batch_size=64, z_dim=16, generator=G, seed=seed,
                                discriminator=models.mlp_discriminator(64, 128, 2), n_samples=500, device="cpu",
                                sample_every=int(np.gcd.reduce(checkpoints)))
    rows = []
    for c in checkpoints:
        images = result.samples[c].numpy()
        images = np.clip(images / 16 if config["scale"] == "raw" else (images + 1) / 2, 0, 1)
        p = judge.predict_proba(images)
        confident = p.max(1) > 0.9
        both = np.concatenate([images, raw.numpy()[:500] / 16])
        told = np.r_[np.zeros(len(images)), np.ones(500)]
        c2st = cross_val_score(LogisticRegression(max_iter=2000), both, told, cv=5).mean()
        rows.append({"steps": c, "confident": round(100 * confident.mean(), 2),
                     "classes": len(set(p.argmax(1)[confident])), "c2st": round(float(c2st), 4),
                     "seconds": round(result.sample_seconds[c], 2)})
    return rows


def provenance(argv) -> list[str]:
    """The ``#`` header of every CSV: command, commit (``+dirty`` with uncommitted library changes), versions."""
    root = Path(__file__).resolve().parents[1]

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "dlnotes", "benchmarks"):
        commit += "+dirty"
    return [f"# command: python benchmarks/bench_gan.py {shlex.join(argv)}",
            f"# commit: {commit}",
            f"# versions: python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}",
            f"# threads: {torch.get_num_threads()}"]


def score(samples: torch.Tensor, dataset: str) -> dict:
    """The three VEEGAN / PacGAN measures of one set of samples, rounded as the tables store them."""
    m = metrics.mode_metrics(samples.double().cpu(), data.centers(dataset), data.BENCHMARKS[dataset]["std"])
    return {"modes": m["modes"], "high_quality": round(100 * m["high_quality"], 2),
            "reverse_kl": round(m["reverse_kl"], 4)}


def checkpoint_rows(config: dict, dataset: str, seed: int, checkpoints: list[int], batch_size: int) -> list[dict]:
    """One run of ``max(checkpoints)`` steps scored at every checkpoint (``seconds``: CPU time up to it)."""
    steps = max(checkpoints)
    result = training.train_gan(dataset, steps=steps, batch_size=batch_size, seed=seed, device="cpu",
                                sample_every=int(np.gcd.reduce(checkpoints)), **config)
    return [{"steps": c, **score(result.samples[c], dataset), "seconds": round(result.sample_seconds[c], 2),
             "final_d_loss": round(float(result.d_loss[c - 100:c].mean()), 4)} for c in checkpoints]


def run(config: dict, dataset: str, seed: int, steps: int, batch_size: int) -> tuple[dict, dict]:
    """One run's table row and its final samples by weights (``"raw"``, and ``"ema"`` with an EMA of G)."""
    result = training.train_gan(dataset, steps=steps, batch_size=batch_size, seed=seed, device="cpu",
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
    for decay, average in result.ema_search.items():  # the same run read through other decays
        with torch.no_grad():
            other = score(average.eval()(result.z), dataset)
        row.update({f"ema{decay:g}_{k}": v for k, v in other.items()})
    return row, samples


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=sorted(TABLES), default="main")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--ema-search", default="", help="comma-separated further EMA decays to score each run with")
    parser.add_argument("--steps", type=int, default=None, help="default: 10000 (main), 800 (tricks)")
    parser.add_argument("--checkpoints", default=None,
                        help="comma-separated step counts at which each run is scored (default: --steps)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dataset", choices=["ring", "grid", "digits"], default=None,
                        help="default: the table's datasets")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: seconds comparable)")
    parser.add_argument("--part", default="1/1", help="i/n: run every n-th configuration from the i-th")
    parser.add_argument("--only", default=None, help="run only configurations whose name contains this")
    parser.add_argument("--exclude", default=None, help="skip configurations whose name contains this")
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
    search = tuple(float(d) for d in args.ema_search.split(",") if d)
    fields += [f"ema{d:g}_{k}" for d in search for k in ("modes", "high_quality", "reverse_kl")]
    if args.table == "digits":
        fields = ["config", "dataset", "seed", "steps", "confident", "classes", "c2st", "seconds"]
    for line in provenance(argv if argv is not None else sys.argv[1:]):
        print(line, file=out)
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
            if (args.only and args.only not in name) or (args.exclude and args.exclude in name):
                continue
            config = dict(config)
            run_steps = config.pop("_steps", steps)
            run_steps = args.steps or run_steps
            checkpoints = sorted({int(c) for c in args.checkpoints.split(",")}) if args.checkpoints else [run_steps]
            if search:
                config = {**config, "ema_search": search}
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                if args.table == "digits":
                    rows = digits_rows(config, seed, checkpoints)
                elif checkpoints != [run_steps]:
                    rows = checkpoint_rows(config, dataset, seed, checkpoints, args.batch_size)
                else:
                    row, samples = run(config, dataset, seed, run_steps, args.batch_size)
                    rows = [{"steps": run_steps, **row}]
                    for weights, points in samples.items() if sample_writer else ():
                        sample_writer.writerows([seed, weights, f"{x:.6g}", f"{y:.6g}"]
                                                for x, y in points.tolist())
                for row in rows:
                    writer.writerow({"config": name, "dataset": dataset, "seed": seed, **row})
                out.flush()
                print(f"{time.time() - start:7.0f}s {dataset} {name} seed {seed}: {rows[-1]}", file=sys.stderr)
    for handle in (sample_file, out if out is not sys.stdout else None):
        if handle is not None:
            handle.close()


if __name__ == "__main__":
    main()
