"""The report of a comparison: per-head summaries over seeds, the markdown table, the plots."""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

import numpy as np

from ..fileio import atomic_write

#: the benchmarks followed during training, plotted against time
TIMELINE_BENCHMARKS = ("wordsim353", "simlex999")
#: what a baseline row is, under a table that holds one
BASELINE_NOTE = ("Baselines are the incumbent tools trained on the same lines and vocabulary with the same dimension, "
                 "window, negatives, subsampling, epochs and threads, at their own default step unless lr is set "
                 "(comparison/baselines.py).")


def summarise(runs: list[dict]) -> dict:
    """Per head: mean and 95% interval of every benchmark over seeds, analogy accuracy, words/s, wall
    time and peak memory (means over seeds)."""
    summary: dict[str, dict] = {}
    order = sorted(runs, key=lambda r: ("baseline" in r, r["head"]))  # (the heads, then the baselines)
    for head, group in itertools.groupby(order, key=lambda r: r["head"]):
        group = list(group)
        row: dict[str, Any] = {"seeds": [r["seed"] for r in group], "scores": {}}
        for name in group[0]["similarity"]:
            values = np.array([r["similarity"][name]["spearman"] for r in group])
            if len(values) > 1:
                from scipy import stats as scipy_stats  # (a second to import: only for these tables)

                half = scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
                interval = [float(values.mean() - half), float(values.mean() + half)]
            else:
                interval = group[0]["similarity"][name]["spearman_ci95"]
            row["scores"][name] = {"mean": float(values.mean()), "ci95": interval,
                                   "covered": group[0]["similarity"][name]["covered"],
                                   "pairs": group[0]["similarity"][name]["pairs"]}
        if "analogy" in group[0]:
            row["analogy"] = float(np.mean([r["analogy"]["accuracy"] for r in group]))
        for key, source in (("words_per_second", "words_per_second"), ("seconds", "seconds")):
            row[key] = float(np.mean([r["training"][source] for r in group]))
        row["peak_memory_mb"] = float(np.mean([r["peak_memory_mb"] for r in group]))
        row["geometry"] = {k: float(np.mean([r["geometry"][k] for r in group])) for k in ("mean_cosine", "effective_rank")}
        if group[0].get("held_out", {}) and group[0]["held_out"].get("pairs"):
            held = [r["held_out"] for r in group]
            row["held_out"] = {"cross_entropy": float(np.mean([h.get("cross_entropy", h.get("softmax_cross_entropy"))
                                                               for h in held])),
                               "model": held[0].get("model", "softmax"), "pairs": held[0]["pairs"]}
            if "log_z" in held[0]:  # (the softmax's view of the scores; not for a tree's nodes)
                row["held_out"].update(log_z_mean=float(np.mean([h["log_z"]["mean"] for h in held])),
                                       log_z_std=float(np.mean([h["log_z"]["std"] for h in held])),
                                       infonce_bound=float(np.mean([h["infonce_bound"]["bound"] for h in held])),
                                       infonce_max=held[0]["infonce_bound"]["max"])
        row["optimizer"], row["lr"] = group[0]["training"]["optimizer"], group[0]["training"]["lr"]
        row["batch_size"] = group[0]["training"]["batch_size"]
        row["hyperparameters"] = group[0].get("head_settings", {}).get("hyperparameters", {})
        if group[0].get("baseline"):  # (comparison/baselines.py: the tool, its version, what it trains)
            row["baseline"] = group[0]["baseline"]
        summary[head] = row
    return summary


def overlapping_pairs(summary: dict, benchmark: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(pairs of heads whose intervals on ``benchmark`` overlap, pairs whose intervals are apart, the
    better head first)."""
    inside, apart = [], []
    for a, b in itertools.combinations(summary, 2):
        (la, ha), (lb, hb) = summary[a]["scores"][benchmark]["ci95"], summary[b]["scores"][benchmark]["ci95"]
        if la <= hb and lb <= ha:
            inside.append((a, b))
        else:
            apart.append((a, b) if la > hb else (b, a))
    return inside, apart


def results_table(results: dict) -> str:
    summary = results["summary"]
    names = list(next(iter(summary.values()))["scores"])
    n_seeds = len(results["seeds"])
    lines = [f"# Comparison on {results['corpus']} ({results['tokens']:,} tokens)", "",
             f"Seeds {', '.join(map(str, results['seeds']))}; rho = Spearman, mean over seeds and 95% interval "
             + ("(Student's t over seeds)." if n_seeds > 1 else "(bootstrap over the benchmark's pairs, one seed)."),
             "", "| head | " + " | ".join(names) + " | analogy | words/s | seconds | peak MB | optimizer, lr, batch; options |",
             "|---|" + "---|" * (len(names) + 5)]
    for head, row in summary.items():
        cells = [f"{row['scores'][n]['mean']:.3f} [{row['scores'][n]['ci95'][0]:.3f}, {row['scores'][n]['ci95'][1]:.3f}]"
                 for n in names]
        analogy = f"{row['analogy']:.3f}" if "analogy" in row else "-"
        setup = (f"{row['baseline']['trains']}, lr {row['lr']:g}" if "baseline" in row else
                 f"{row['optimizer']}, {row['lr']:g}, {row['batch_size']}{_options(row.get('hyperparameters'))}")
        lines.append(f"| {row_label(head, row)} | " + " | ".join(cells) + f" | {analogy} | {row['words_per_second']:,.0f} | "
                     f"{row['seconds']:.0f} | {row['peak_memory_mb']:,.0f} | {setup} |")
    first = next(iter(summary.values()))  # one vocabulary for all runs: one coverage
    coverage = ", ".join(f"{n} {first['scores'][n]['covered']}/{first['scores'][n]['pairs']}" for n in names)
    lines += ["", f"Pairs covered: {coverage}.", ""]
    if any("baseline" in row for row in summary.values()):
        lines += [BASELINE_NOTE, ""]
    lines += ["Estimator diagnostics on pairs of held-out documents: the cross-entropy (nats) of each run's "
              "normalised model (the softmax over its scores; for the hierarchical softmax its tree's, marked *), "
              "log Z(w) and the InfoNCE bound log(K+1) - L of the scores; geometry of the vectors (mean cosine of "
              "random pairs, effective rank).",
              "", "| head | held-out CE | log Z mean (std) | InfoNCE bound (max) | mean cosine | effective rank |",
              "|---|---|---|---|---|---|"]
    for head, row in summary.items():
        held = row.get("held_out")
        if held and "log_z_mean" in held:
            cells = (f"{held['cross_entropy']:.3f} | {held['log_z_mean']:.2f} ({held['log_z_std']:.2f}) | "
                     f"{held['infonce_bound']:.3f} ({held['infonce_max']:.3f})")
        else:
            cells = f"{held['cross_entropy']:.3f}* | 0 (normalised) | -" if held else "- | - | -"
        lines.append(f"| {head} | {cells} | {row['geometry']['mean_cosine']:.3f} | "
                     f"{row['geometry']['effective_rank']:.1f} |")
    lines.append("")
    if len(summary) > 1:
        lines.append("Differences inside the intervals (overlapping 95% intervals: ~) and outside them (>):")
        for name in names:
            inside, apart = overlapping_pairs(summary, name)
            pairs = [f"{a} ~ {b}" for a, b in inside] + [f"{a} > {b}" for a, b in apart]
            lines.append(f"- {name}: " + ", ".join(pairs))
    return "\n".join(lines) + "\n"


def row_label(name: str, row: dict) -> str:
    """A table's name for a head's row, or for a baseline's: "gensim-sgns (baseline: gensim 4.4.0)"."""
    return f"{name} (baseline: {row['baseline']['tool']})" if "baseline" in row else name


def _options(hyperparameters: dict | None) -> str:
    """A head's options as used, for the table: "; negatives 5, margin 1" (nothing for runs recorded before)."""
    return "; " + ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                            for k, v in hyperparameters.items()) if hyperparameters else ""


def plot(results: dict, out: str) -> None:
    """loss.png and rho.png (against training seconds, one line per run) and scores.png (bars, 95% intervals)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    colours = {head: f"C{i}" for i, head in enumerate(results["summary"])}
    labels = {head: row_label(head, row) for head, row in results["summary"].items()}
    dashes = {head: "--" if "baseline" in row else "-" for head, row in results["summary"].items()}
    figure, axis = pyplot.subplots(figsize=(7, 4.5))
    for run in results["runs"]:
        history = run["history"]
        if "baseline" in run:  # (the tools report no loss)
            continue
        axis.plot([h["seconds"] for h in history], [h["loss"] for h in history], color=colours[run["head"]],
                  label=run["head"] if run["seed"] == results["seeds"][0] else None, alpha=0.8)
    axis.set(xlabel="training seconds", ylabel="loss per pair (each head its own scale)", yscale="log",
             title="Training loss")
    if axis.get_legend_handles_labels()[0]:  # (no line when only baselines ran)
        axis.legend(fontsize=8)
    _save(figure, os.path.join(out, "loss.png"))

    figure, axes = pyplot.subplots(1, len(TIMELINE_BENCHMARKS), figsize=(11, 4.5), sharex=True)
    for axis, name in zip(axes, TIMELINE_BENCHMARKS):
        for run in results["runs"]:
            timeline = run["timeline"]
            axis.plot([p["seconds"] for p in timeline], [p[name] for p in timeline], marker=".",
                      color=colours[run["head"]], linestyle=dashes[run["head"]],
                      label=labels[run["head"]] if run["seed"] == results["seeds"][0] else None)
        axis.set(xlabel="training seconds", ylabel="Spearman rho", title=name)
    axes[0].legend(fontsize=8)
    _save(figure, os.path.join(out, "rho.png"))

    summary = results["summary"]
    names = list(next(iter(summary.values()))["scores"])
    width = 0.8 / len(summary)
    figure, axis = pyplot.subplots(figsize=(max(8, 1.3 * len(names)), 4.5))
    for i, (head, row) in enumerate(summary.items()):
        means = np.array([row["scores"][n]["mean"] for n in names])
        low = means - np.array([row["scores"][n]["ci95"][0] for n in names])
        high = np.array([row["scores"][n]["ci95"][1] for n in names]) - means
        axis.bar(np.arange(len(names)) + i * width, means, width, yerr=[low, high], capsize=2, label=labels[head],
                 color=colours[head], hatch="//" if "baseline" in row else None)
    axis.set_xticks(np.arange(len(names)) + width * (len(summary) - 1) / 2, names, rotation=20, fontsize=8)
    axis.set(ylabel="Spearman rho (95% interval)", title="Word similarity")
    axis.legend(fontsize=8)
    _save(figure, os.path.join(out, "scores.png"))


def _save(figure, path: str) -> None:
    from matplotlib import pyplot

    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    pyplot.close(figure)


