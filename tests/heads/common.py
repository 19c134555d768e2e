"""What the per-head tests share: one small random model and batch, the head's loss and gradients on it
next to a reference written as loops over the paper's formula, and the model at a collapsed embedding.

Each head has a test module ``tests/heads/test_<name>.py`` (``-`` written ``_``) that defines
``reference(head, u, v, b, words, contexts, noise, log_q) -> float[B]`` and ``CASES``, the
(geometry, settings) variants to check; tests/heads/test_contract.py runs every registered head
through them.
"""

import importlib
import math

import torch

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.train.setup import build_model

V, DIM, B, K = 12, 5, 6, 4
WORDS = [0, 1, 2, 3, 3, 5]
CONTEXTS = [1, 0, 4, 4, 7, 2]  # a repeated context: its other occurrence is no negative for in-batch heads
NOISE_SEED = 123
#: the vocabulary's words (their character n-grams are the rows of a subword model)
VOCAB = [f"word{i}" for i in range(V)]


def head_module(name: str):
    """The test module of head ``name``."""
    return importlib.import_module(f"tests.heads.test_{name.replace('-', '_')}")


#: the word counts of the batch's vocabulary (the noise distribution's, and the hierarchical softmax's tree)
COUNTS = torch.arange(V, 0, -1).numpy() * 10


def noise_distribution() -> NoiseDistribution:
    return NoiseDistribution(COUNTS, 0.75, torch.device("cpu"))


def head_and_reference(name: str, geometry: str = "untied", seed: int = 0, **settings):
    """(head loss, reference loss, head gradients, reference gradients, head) on one batch of a random model.

    The head's loss comes through score_batch (the log partition in chunks of 5 rows, so in several);
    the reference gets the same noise words, per pair (a shared draw repeated on every row), and the
    model's tables: u, v (v is u when tied), b (None without a bias) and log Q."""
    torch.manual_seed(seed)
    config = TrainConfig(**{"head": name, "dim": DIM, "negatives": K, "geometry": geometry, **settings})
    head = build_head(name, config)
    head.use_vocabulary(COUNTS)
    model = build_model(config, VOCAB, head)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter)
    noise = noise_distribution()
    words, contexts = torch.tensor(WORDS), torch.tensor(CONTEXTS)
    scores = score_batch(model, noise, head.request, words, contexts, torch.Generator().manual_seed(NOISE_SEED),
                         softmax_chunk=5)
    loss = head(scores)
    loss.sum().backward()
    grads = [p.grad.to_dense().clone() for p in model.parameters()]

    reference_model = build_model(config, VOCAB, head)
    reference_model.load_state_dict(model.state_dict())
    generator = torch.Generator().manual_seed(NOISE_SEED)
    request = head.request
    if request.negatives and request.shared_negatives:
        noise_words = [noise.sample((request.negatives,), generator).tolist()] * B
    elif request.negatives:
        noise_words = noise.sample((B, request.negatives), generator).tolist()
    else:
        noise_words = None
    bias = None if reference_model.bias is None else reference_model.bias.weight.squeeze(1)
    expected = head_module(name).reference(head, reference_model.input.weight, reference_model.output.weight, bias,
                                           WORDS, CONTEXTS, noise_words, noise.log_probs)
    expected.sum().backward()
    return loss.detach(), expected.detach(), grads, [p.grad.clone() for p in reference_model.parameters()], head


def score(u, v, b, w, x):
    """s(w, x) = u_w . v_x (+ b_x)."""
    return u[w] @ v[x] + (b[x] if b is not None else 0.0)


def distance(a, b, kind):
    """D(a, b): Euclidean, or the chord between the normalised vectors ("cosine")."""
    if kind == "cosine":
        a, b = a / a.norm(), b / b.norm()
    return (a - b).norm()


def collapsed(name: str, value: torch.Tensor):
    """(loss[B], gradient norm, head, negatives per pair that are not the true context) of head ``name``
    with every word and context vector equal to ``value``, no bias, distinct contexts."""
    config = TrainConfig(head=name, dim=DIM, negatives=K, output_bias=False, geometry="untied")
    head = build_head(name, config)
    head.use_vocabulary(torch.ones(V).numpy())
    model = build_model(config, VOCAB, head)
    with torch.no_grad():
        model.input.weight.copy_(value.expand(V, DIM))
        model.output.weight.copy_(value.expand(V, DIM))
    noise = NoiseDistribution(torch.ones(V).numpy(), 1.0, torch.device("cpu"))
    words, contexts = torch.arange(B), torch.arange(B) + B
    scores = score_batch(model, noise, head.request, words, contexts, torch.Generator().manual_seed(1))
    loss = head(scores)
    loss.sum().backward()
    gradient = math.sqrt(sum(float(p.grad.to_dense().square().sum()) for p in model.parameters()))
    negatives = None if scores.negative is None else (~scores.negative_is_positive).sum(1)
    return loss.detach(), gradient, head, negatives


COLLAPSED = torch.full((DIM,), 0.3)
