"""The compiled chunk bodies of the full softmax give what the eager ones give (they run compiled on GPUs).

    python scripts/check_softmax_compile.py [--device cuda]      # exit code 1 when they disagree

On a GPU, ``model.ChunkedLogPartition`` runs ``chunk_log_sum_exp`` and ``chunk_gradients`` through
``torch.compile``; the test suite checks the eager functions against plain autograd. This check runs
both forms on random chunks of several batch sizes (the compiled form is built once, with dynamic
shapes) and reports the largest differences. On a CPU compiling takes about 30 s, so it is a script,
not a unit test; scripts/gpu_check.py runs it on the GPU first.
"""

from __future__ import annotations

import argparse
import json
import sys


def check(device: str = "cpu") -> dict:
    import torch

    from w2v_contrastive.model import _compiled, chunk_gradients, chunk_log_sum_exp

    torch.manual_seed(0)
    worst = {"log_sum_exp": 0.0, "grad_u": 0.0, "grad_weight": 0.0, "grad_bias": 0.0}
    for units, rows, dim in ((600, 512, 100), (37, 300, 64), (1000, 8192, 300)):
        u = torch.randn(units, dim, device=device) * 0.3
        weight, bias = torch.randn(rows, dim, device=device) * 0.3, torch.randn(rows, device=device)
        eager = chunk_log_sum_exp(u, weight, bias)
        compiled = _compiled(chunk_log_sum_exp)(u, weight, bias)
        worst["log_sum_exp"] = max(worst["log_sum_exp"], float((eager - compiled).abs().max()))
        log_z, upstream = eager + 1.0, torch.rand(units, device=device)
        for name, a, b in zip(("grad_u", "grad_weight", "grad_bias"), chunk_gradients(u, weight, bias, log_z, upstream),
                              _compiled(chunk_gradients)(u, weight, bias, log_z, upstream)):
            worst[name] = max(worst[name], float((a - b).abs().max() / a.abs().max().clamp_min(1e-12)))
    return {"device": device, "torch": torch.__version__, "largest_difference": worst,
            "agree": all(value < 1e-4 for value in worst.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    result = check(parser.parse_args().device)
    print(json.dumps(result))
    return 0 if result["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
