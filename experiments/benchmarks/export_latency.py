"""onnxruntime latency of a pruned detector against its dense reference, both exported.

Each run folder's detector is exported to ONNX (`archsearch.detection.export`, checked
against PyTorch as `archsearch export` does), then both copies detect the same validation
images in onnxruntime on the CPU, in turn, repeat after repeat, in one process. Prints each
file's size, the median latency per image and the ratio pruned / dense (below 1: the pruned
neck pays at inference).

    python -m experiments.benchmarks.export_latency PRUNED_RUN DENSE_RUN --repeats 20

Set ``OMP_NUM_THREADS`` as for training; ``--threads`` is onnxruntime's intra-op count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import onnxruntime
import torch

from archsearch.cli.train import load_run
from archsearch.detection.export import export_detector
from experiments.benchmarks.timing import interleaved_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pruned", type=Path, help="a run folder (the candidate)")
    parser.add_argument("dense", type=Path, help="a run folder (the reference)")
    parser.add_argument("--images", type=int, default=8, help="validation images per repeat")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args()
    runs, sizes = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for name, run in (("pruned", args.pruned), ("dense", args.dense)):
            strategy, model, val_set, _ = load_run(run)
            images = [val_set[index][0] for index in range(min(args.images, len(val_set)))]
            path = Path(folder) / f"{name}.onnx"
            agreement = export_detector(model, images, path)
            connections = len(model.backbone.neck.graph.connections())
            sizes[name] = path.stat().st_size / 2**20
            print(f"{name}: {strategy}, {connections} connections, {sizes[name]:.2f} MiB")
            print(f"  {agreement.lines()[0]}")
            runs[name] = _detect_all(path, images, args.threads)
        times = interleaved_times(runs, args.repeats, torch.device("cpu"))
    medians = {name: statistics.median(values) / len(images) for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"{name}: {seconds * 1e3:.2f} ms per image (median of {args.repeats})")
    ratio = statistics.median(p / d for p, d in zip(times["pruned"], times["dense"], strict=True))
    print(f"latency pruned / dense: {ratio:.3f} (median of per-repeat ratios)")
    print(f"file size pruned / dense: {sizes['pruned'] / sizes['dense']:.3f}")


def _detect_all(path: Path, images: list[torch.Tensor], threads: int):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    arrays = [image.numpy() for image in images]

    def run() -> None:
        for array in arrays:
            session.run(None, {"image": array})

    return run


if __name__ == "__main__":
    main()
