"""Run directories: what ``train --out DIR`` writes, the work folder it is built in, and reading it back.

    DIR.partial/   while the run trains: its checkpoint (training-state.pt) and metrics.jsonl
    DIR/           when it has finished, in one rename: vectors.txt (word2vec text), vocab.tsv,
                   config.json (settings, versions, machine, corpus, head, training statistics,
                   held-out diagnostics), metrics.jsonl, checkpoint.pt (model, vocabulary, settings)

So DIR never holds a run that looks finished but is not.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import platform
import shlex
import sys
import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from .config import TrainConfig
from .corpus.vocab import Vocabulary
from .errors import W2VError
from .fileio import atomic_write
from .heads import build_head
from .model import SkipGram
from .train.checkpoint import STATE_FILE
from .train.setup import build_model

if TYPE_CHECKING:
    from .api import TrainResult

#: the files of a finished run
RUN_FILES = ("checkpoint.pt", "config.json", "metrics.jsonl", "vectors.txt", "vocab.tsv")


def work_dir(out: str) -> str:
    """The folder a run into ``out`` works in until it finishes."""
    return out.rstrip("/\\") + ".partial"


def check_output_dir(out: str, overwrite: bool) -> None:
    """Refuse an ``out`` that holds an interrupted run, another kind of file or folder, or (without
    ``overwrite``) a finished run."""
    interrupted = os.path.join(work_dir(out), STATE_FILE)
    if os.path.exists(interrupted) and not overwrite:
        raise W2VError(f"{work_dir(out)}: holds an interrupted run; continue it with `w2v-contrastive train "
                       f"--resume {out}` or pass --overwrite to start over")
    if os.path.exists(out) and not os.path.isdir(out):
        raise W2VError(f"{out}: exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.exists(os.path.join(out, "config.json")):
            raise W2VError(f"{out}: directory is not empty and is not a training output; choose another --out")
        if not overwrite:
            raise W2VError(f"{out}: holds an earlier run; pass --overwrite to replace it")


def write_run(directory: str, result: TrainResult) -> None:
    """Write a finished run's files (metrics.jsonl is already there) into ``directory``, each atomically."""
    result.vectors.save_word2vec_text(os.path.join(directory, "vectors.txt"))
    result.vocab.save(os.path.join(directory, "vocab.tsv"))
    with atomic_write(os.path.join(directory, "config.json")) as handle:
        json.dump(run_summary(result), handle, indent=2)
    checkpoint = {"config": result.config.to_dict(), "words": result.vocab.words,
                  "counts": result.vocab.counts.tolist(),
                  "model": {k: v.cpu() for k, v in result.model.state_dict().items()}}
    with atomic_write(os.path.join(directory, "checkpoint.pt"), "wb") as handle:
        torch.save(checkpoint, handle)


def run_summary(result: TrainResult) -> dict:
    """Everything config.json records about a run."""
    corpus = result.corpus
    stats = {k: v for k, v in dataclasses.asdict(result.stats).items() if k != "history"}
    return {
        "config": result.config.to_dict(),
        "versions": library_versions(numba=result.stats.step == "fused"),
        "machine": machine(),
        "corpus": {"source": corpus.description, "tokens": corpus.n_tokens, "lines": corpus.n_lines,
                   "types": len(corpus.words), "cache": corpus.directory, "from_cache": corpus.from_cache,
                   "encoding": corpus.encoding},
        "vocabulary": {"size": len(result.vocab), "tokens": result.vocab.total},
        "head": head_summary(result),
        "training": stats,
        "held_out": result.held_out,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def head_summary(result: TrainResult) -> dict:
    """The head and every choice made for it: optimizer, learning rate, model shape, its own options."""
    return {"name": result.config.head, "lr": result.stats.lr, "optimizer": result.stats.optimizer,
            "output_bias": result.model.bias is not None, "geometry": "tied" if result.model.tied else "untied",
            "batch_size": result.stats.batch_size, "hyperparameters": result.hyperparameters}


def library_versions(numba: bool = False) -> dict:
    """Versions of the libraries a run depends on (numba's when the fused CPU kernel trained it)."""
    from . import __version__

    return {"w2v_contrastive": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "numba": importlib.metadata.version("numba") if numba else None, "python": platform.python_version()}


def machine() -> dict:
    """The hardware a run used."""
    return {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def provenance() -> dict:
    """When and by which command line this process ran, for the records it writes (the docs' result
    pages quote them)."""
    program = os.path.basename(sys.argv[0])
    if program == "__main__.py":
        program = "python -m w2v_contrastive"
    elif program != "w2v-contrastive":
        program = shlex.join(["python", sys.argv[0]])
    return {"date": time.strftime("%Y-%m-%d"), "command": " ".join([program, shlex.join(sys.argv[1:])]).strip()}


def load_model(path: str | os.PathLike) -> tuple[SkipGram, Vocabulary, TrainConfig]:
    """Reload the model, vocabulary and config of a training output directory (its checkpoint.pt)."""
    path = os.fspath(path)
    file = os.path.join(path, "checkpoint.pt") if os.path.isdir(path) else path
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise W2VError(f"{file}: no such checkpoint") from None
    except Exception as exc:
        raise W2VError(f"{file}: not a readable checkpoint ({type(exc).__name__})") from None
    config = TrainConfig.from_dict(checkpoint["config"])
    vocab = Vocabulary(checkpoint["words"], np.array(checkpoint["counts"], dtype=np.int64))
    model = build_model(dataclasses.replace(config, output_bias="bias.weight" in checkpoint["model"]), vocab.words,
                        build_head(config.head, config))
    model.load_state_dict(checkpoint["model"])
    return model, vocab, config


def recorded_held_out(path: str | os.PathLike) -> dict | None:
    """The held-out diagnostics recorded in a training output directory's config.json, if any."""
    summary = os.path.join(os.fspath(path), "config.json")
    if not os.path.isfile(summary):
        return None
    try:
        with open(summary, encoding="utf-8") as handle:
            return json.load(handle).get("held_out")
    except (OSError, ValueError):
        return None
