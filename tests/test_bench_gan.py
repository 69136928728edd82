"""benchmarks/bench_gan.py writes the table and the samples the chapter reads (a few steps, not the real budget)."""
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import torch

from dlnotes.gan import data, metrics

_spec = importlib.util.spec_from_file_location("bench_gan", Path(__file__).parents[1] / "benchmarks" / "bench_gan.py")
bench_gan = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_gan)


def test_bench_rows_score_their_samples_and_ema_rows_carry_the_raw_weights(tmp_path):
    table, points = tmp_path / "table.csv", tmp_path / "samples.csv"
    threads = torch.get_num_threads()
    try:
        bench_gan.main(["--table", "main", "--dataset", "ring", "--steps", "30", "--seeds", "2", "--only", "GAN + EMA",
                        "--out", str(table), "--samples", str(points)])
    finally:
        torch.set_num_threads(threads)
    rows, samples = pd.read_csv(table, comment="#"), pd.read_csv(points)
    assert rows["config"].tolist() == ["GAN + EMA of G"] * 2 and rows["seed"].tolist() == [0, 1]
    assert rows[["raw_modes", "raw_high_quality", "raw_reverse_kl"]].notna().all().all()
    assert samples.groupby(["seed", "weights"]).size().eq(2500).all() and set(samples["weights"]) == {"ema", "raw"}
    for _, row in rows.iterrows():
        for weights, prefix in (("ema", ""), ("raw", "raw_")):
            chosen = samples[(samples["seed"] == row["seed"]) & (samples["weights"] == weights)]
            m = metrics.mode_metrics(torch.tensor(chosen[["x", "y"]].values), data.centers("ring"), 0.01)
            assert m["modes"] == row[prefix + "modes"]
            assert round(100 * m["high_quality"], 2) == row[prefix + "high_quality"]


def test_samples_need_one_configuration_and_one_dataset(tmp_path, capsys):
    for only in ("EMA", "PacGAN4"):  # three EMA rows; PacGAN4 on both datasets
        argv = ["--table", "main", "--steps", "2", "--only", only, "--samples", str(tmp_path / "s.csv")]
        argv += ["--dataset", "ring"] if only == "EMA" else []
        with pytest.raises(SystemExit):
            bench_gan.main(argv)
        assert "--samples needs --only naming one configuration" in capsys.readouterr().err


def test_rows_without_an_average_leave_the_raw_columns_empty(tmp_path):
    table = tmp_path / "table.csv"
    threads = torch.get_num_threads()
    try:
        bench_gan.main(["--table", "main", "--dataset", "grid", "--steps", "5", "--seeds", "1", "--only", "PacGAN4",
                        "--out", str(table)])
    finally:
        torch.set_num_threads(threads)
    rows = pd.read_csv(table, comment="#")
    assert rows["config"].tolist() == ["PacGAN4"] and rows["steps"].tolist() == [5]
    assert rows[["raw_modes", "raw_high_quality", "raw_reverse_kl"]].isna().all().all()


def test_tables_carry_their_command_commit_and_versions(tmp_path):
    table = tmp_path / "table.csv"
    argv = ["--table", "tricks", "--dataset", "grid", "--steps", "20", "--checkpoints", "10,20", "--seeds", "1",
            "--only", "plain", "--out", str(table)]
    threads = torch.get_num_threads()
    try:
        bench_gan.main(argv)
    finally:
        torch.set_num_threads(threads)
    header = [line for line in table.read_text().splitlines() if line.startswith("#")]
    assert header[0] == "# command: python benchmarks/bench_gan.py " + " ".join(argv)
    assert header[1].startswith("# commit: ") and len(header[1].split()[2].split("+")[0]) == 40
    assert f"torch {torch.__version__}" in header[2]
    rows = pd.read_csv(table, comment="#")
    # one run scored at each checkpoint; the 10-step row is what a 10-step run of the same seed scores
    assert rows["steps"].tolist() == [10, 20] and (rows["seconds"].diff().dropna() > 0).all()
    short = bench_gan.run({}, "grid", 0, 10, 128)[0]
    assert {k: short[k] for k in ("modes", "high_quality", "reverse_kl")} == \
        rows.iloc[0][["modes", "high_quality", "reverse_kl"]].to_dict()
