"""Execute every notebook (as `make book` does) and print its wall time, and the total.

    .venv/bin/python benchmarks/notebook_times.py [notebooks/07_gradients.ipynb ...]

Target: each notebook well under 90 s on 2 CPU cores. Outputs are not written back.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    times = {}
    for path in tqdm(paths, desc="notebooks"):
        times[path.name] = run(path)
    width = max(map(len, times))
    print(f"\n{'notebook':<{width}}  wall time (s)")
    for name, t in times.items():
        flag = "" if t < 90 else "  <- over the 90 s target"
        print(f"{name:<{width}}  {t:8.1f}{flag}")
    print(f"{'total':<{width}}  {sum(times.values()):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
