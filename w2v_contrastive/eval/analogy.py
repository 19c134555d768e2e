"""Word analogies "a is to b as c is to ?" (Mikolov et al. 2013's questions-words format).

The answer d is searched among the ``restrict`` most frequent words (gensim's and word2vec.c's
``restrict_vocab``), excluding a, b and c; a question is covered when its four words are among
them, and accuracy is over covered questions (the others are counted, never scored). With unit
vectors and cos(x, y) = x . y (Levy & Goldberg 2014, "Linguistic Regularities in Sparse and
Explicit Word Representations", CoNLL):

    3CosAdd:  d = argmax_x  cos(x, b) - cos(x, a) + cos(x, c)
    3CosMul:  d = argmax_x  cos'(x, b) cos'(x, c) / (cos'(x, a) + eps),  cos' = (cos + 1) / 2

Questions are scored in batches as matrix products on the given device. Sections whose name starts
with "gram" are syntactic, the others semantic (the Google set's convention).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..errors import W2VError
from ..vectors import Vectors
from .benchmarks import benchmark_lines

METHODS = ("3cosadd", "3cosmul")


@dataclass
class AnalogySet:
    name: str
    #: (section name, [(a, b, c, d), ...]) in file order
    sections: list[tuple[str, list[tuple[str, str, str, str]]]]


def load_analogies(path: str | os.PathLike, lowercase: bool = True) -> AnalogySet:
    """Read a questions-words file (``: section`` lines, then ``a b c d`` lines; ``#`` comments), its words
    lowercased unless not ``lowercase``."""
    path, lines = benchmark_lines(path, ".txt", "analogy")
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for number, text in lines:
        if text.startswith(":"):
            sections.append((text[1:].strip(), []))
            continue
        words = (text.lower() if lowercase else text).split()
        if len(words) != 4:
            raise W2VError(f"{path}:{number}: expected 'a b c d', found {len(words)} words")
        if not sections:
            raise W2VError(f"{path}:{number}: a question before the first ': section' line")
        sections[-1][1].append((words[0], words[1], words[2], words[3]))
    if not any(questions for _, questions in sections):
        raise W2VError(f"{path}: no analogy questions found")
    return AnalogySet(os.path.splitext(os.path.basename(path))[0], sections)


def answer_analogies(unit: torch.Tensor, questions: torch.Tensor, method: str = "3cosadd",
                     epsilon: float = 1e-3, batch_size: int = 1024) -> torch.Tensor:
    """Predicted d for each row (a, b, c) of ``questions`` (int64[Q, 3]) among the rows of ``unit``
    (float[N, dim], unit length) -> int64[Q]; a, b and c are never answers."""
    if method not in METHODS:
        raise W2VError(f"unknown analogy method {method!r}; choose one of: {', '.join(METHODS)}")
    answers = []
    for start in range(0, questions.shape[0], batch_size):
        a, b, c = questions[start : start + batch_size].T
        if method == "3cosadd":
            scores = (unit[b] - unit[a] + unit[c]) @ unit.T
        else:
            cosine = [(unit[x] @ unit.T + 1) / 2 for x in (a, b, c)]
            scores = cosine[1] * cosine[2] / (cosine[0] + epsilon)
        rows = torch.arange(a.shape[0], device=unit.device)
        for excluded in (a, b, c):
            scores[rows, excluded] = -torch.inf
        answers.append(scores.argmax(dim=1))
    return torch.cat(answers) if answers else torch.zeros(0, dtype=torch.int64, device=unit.device)


@dataclass
class GradedSection:
    name: str
    questions: list[tuple[str, str, str, str]]
    #: per question, whether it is answered right; None where it is not covered (a word outside the searched rows)
    right: list[bool | None]

    @property
    def covered(self) -> int:
        return sum(answer is not None for answer in self.right)

    @property
    def correct(self) -> int:
        return sum(answer is True for answer in self.right)


def graded_sections(vectors: Vectors, data: AnalogySet, method: str = "3cosadd", restrict: int = 30000,
                    epsilon: float = 1e-3, device: str | torch.device = "cpu",
                    keys: list[str] | None = None) -> list[GradedSection]:
    """Each section of ``data`` answered among the first ``restrict`` rows. ``keys`` name the rows
    (``vectors.words`` unless given; where two rows share a name, the first one's)."""
    if restrict < 1:
        raise W2VError(f"restrict must be at least 1, got {restrict}")
    names = (vectors.words if keys is None else keys)[:restrict]
    index = {name: i for i, name in reversed(list(enumerate(names)))}
    unit = torch.from_numpy(vectors.unit[: len(names)]).to(device)
    graded = []
    for name, questions in data.sections:
        covered = [i for i, question in enumerate(questions) if all(w in index for w in question)]
        ids = torch.tensor([[index[w] for w in questions[i]] for i in covered], dtype=torch.int64,
                           device=device).view(-1, 4)
        right: list[bool | None] = [None] * len(questions)
        for i, answer in zip(covered, (answer_analogies(unit, ids[:, :3], method, epsilon) == ids[:, 3]).tolist()):
            right[i] = answer
        graded.append(GradedSection(name, questions, right))
    return graded


def evaluate_analogies(vectors: Vectors, analogies: str | os.PathLike | AnalogySet, method: str = "3cosadd",
                       restrict: int = 30000, epsilon: float = 1e-3, device: str | torch.device = "cpu") -> dict:
    """Accuracy per section, semantic / syntactic / overall, and coverage, as one dict."""
    data = analogies if isinstance(analogies, AnalogySet) else load_analogies(analogies)
    sections = []
    for graded in graded_sections(vectors, data, method, restrict, epsilon, device):
        covered, correct = graded.covered, graded.correct
        sections.append({"section": graded.name, "questions": len(graded.questions), "covered": covered,
                         "correct": correct, "accuracy": correct / covered if covered else None})

    def total(rows: list[dict]) -> dict:
        covered = sum(r["covered"] for r in rows)
        correct = sum(r["correct"] for r in rows)
        return {"questions": sum(r["questions"] for r in rows), "covered": covered, "correct": correct,
                "accuracy": correct / covered if covered else None}

    syntactic = [s for s in sections if s["section"].startswith("gram")]
    semantic = [s for s in sections if not s["section"].startswith("gram")]
    return {"benchmark": data.name, "method": method, "restrict": restrict, **total(sections),
            "semantic": total(semantic), "syntactic": total(syntactic), "sections": sections}
