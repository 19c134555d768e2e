"""gensim's ``KeyedVectors`` calls on our :class:`~w2v_contrastive.vectors.Vectors`, answering as gensim does.

A gensim user's habits work unchanged (``v["king"]``, ``v.most_similar(positive=[...], negative=[...])``,
``v.evaluate_word_analogies(path)``, ...), and ``v.to_gensim()`` hands over a real ``KeyedVectors``
(``FastTextKeyedVectors`` for a subword model). The arithmetic is gensim's (its keyedvectors.py), on the float32
rows x_i, with x^ = x / |x| and cos(x, y) = x^ . y^:

- a query of keys k_j with weights w_j (+1 positive, -1 negative unless given as ``(key, weight)``) is
  q = (sum_j w_j y_j / sum_j |w_j|)^, y_j the unit vector of a word or a vector as given; ``most_similar``
  ranks the rows by cos(x_i, q) and leaves out the query's words;
- ``most_similar_cosmul`` (3CosMul, Levy & Goldberg 2014) ranks by
  prod_p (1 + x^_i . y_p) / 2  /  (prod_n (1 + x^_i . y_n) / 2 + 1e-6), y the unit vectors of the positive
  words p and negative words n (vectors as given);
- ``doesnt_match``: the word w whose x^_w has the least dot product with (mean_w x^_w)^;
- ``n_similarity``: cos(mean of the first words' vectors, mean of the second's);
- ``rank(a, b)``: 1 + the number of words other than a at a smaller cosine distance 1 - cos from a than b.

``restrict_vocab=N`` searches the first N rows (the most frequent words). Keys are words (gensim also takes row
numbers; row i here is ``v.vectors[i]``). A word without a vector is a KeyError, an empty query a ValueError, as
in gensim; both are also W2VErrors, so the command line prints them as one line.
"""

from __future__ import annotations

import logging
import os
from numbers import Integral
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, Union

import numpy as np

from .errors import W2VError

if TYPE_CHECKING:
    import gensim.models

#: a word, a vector float[d], or either with its weight
Query = Union[str, np.ndarray, tuple[Union[str, np.ndarray], float]]
#: the topn (word, score), best first; or every searched row's score, float[N], when topn is None
Ranking = Union[list[tuple[str, float]], np.ndarray]

#: keeps 3CosMul finite where a negative word is opposite to a row (gensim's value)
COSMUL_EPSILON = 1e-6

logger = logging.getLogger(__name__)


class UnknownWord(W2VError, KeyError):
    """A word without a vector: a KeyError, as a key missing from gensim's KeyedVectors."""

    __str__ = W2VError.__str__  # (KeyError's would quote the message)


class QueryError(W2VError, ValueError):
    """A query gensim refuses with a ValueError: no words, or weights that do not fit the words."""


class EmptyWordSet(QueryError, ZeroDivisionError):
    """An empty list given to n_similarity, where gensim raises ZeroDivisionError."""


def _unit(vector: np.ndarray) -> np.ndarray:
    """float32[d] scaled to unit length (zero stays zero)."""
    from .vectors import unit_rows  # (vectors.py imports this module for its base class)

    return unit_rows(vector[None])[0]


def _folding(case_insensitive: bool) -> Callable[[str], str]:
    """How gensim matches a benchmark's words with the vocabulary: in upper case with case_insensitive."""
    return str.upper if case_insensitive else (lambda word: word)


def _as_list(value: Any) -> list:
    """gensim's reading of a ``positive``/``negative`` argument: None -> [], one word or vector -> [it], a 2-d
    array -> its rows."""
    if value is None:
        return []
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    return list(value)


class GensimQueries:
    """gensim's ``KeyedVectors`` methods, for a class with ``words``, ``index`` (word -> row), ``matrix``
    (float32[V, d]), ``unit`` (its rows at unit length), ``subwords``, ``dim``, ``vector(word)``,
    ``vectors_of(words)``, ``covers(word)``, ``_row(word)`` and ``_top(similarities, k, excluded)``."""

    @property
    def key_to_index(self) -> dict[str, int]:
        return self.index

    @property
    def index_to_key(self) -> list[str]:
        return self.words

    @property
    def vectors(self) -> np.ndarray:
        """float32[V, d], row i the vector of ``index_to_key[i]``."""
        return self.matrix

    @property
    def vector_size(self) -> int:
        return self.dim

    def get_normed_vectors(self) -> np.ndarray:
        return self.unit

    def __getitem__(self, words: str | Sequence[str]) -> np.ndarray:
        """``v["king"]``: float32[d]; ``v[["king", "queen"]]``: float32[N, d]."""
        if isinstance(words, str):
            return self.vector(words)
        if not len(words):
            raise QueryError("no words to look up: v[[]]")
        return self.vectors_of(list(words))

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """float32[d]: the word's vector (a subword model's for any word with n-grams), at unit length with norm."""
        return _unit(self.vector(word)) if norm else self.vector(word)

    def get_mean_vector(self, keys: Sequence[str | np.ndarray], weights: Sequence[float] | None = None,
                        pre_normalize: bool = True, post_normalize: bool = False,
                        ignore_missing: bool = True) -> np.ndarray:
        """float32[d]: sum_j w_j y_j / sum_j |w_j| over the keys with a vector (y_j a word's vector, at unit length
        with pre_normalize, or a vector as given; w_j = 1 unless ``weights``); at unit length with post_normalize.
        Words without a vector are skipped with ignore_missing, a KeyError otherwise."""
        if not len(keys):
            raise QueryError("no words or vectors to take the mean of")
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(keys),):
            raise QueryError(f"{len(keys)} keys but weights of shape {weights.shape}")
        total, mean = 0.0, np.zeros(self.dim)
        for key, weight in zip(keys, weights):
            if isinstance(key, np.ndarray):
                vector = key
            elif ignore_missing and not self.covers(key):
                continue
            else:
                vector = self.get_vector(key, norm=pre_normalize)
            mean += weight * vector
            total += abs(weight)
        mean = (mean / total if total > 0 else mean).astype(np.float32)
        return _unit(mean) if post_normalize else mean

    def most_similar(self, positive: Query | Sequence[Query] | None = None,
                     negative: Query | Sequence[Query] | int | None = None, topn: int | None = 10,
                     restrict_vocab: int | None = None, *, k: int | None = None) -> Ranking:
        """The topn words of highest cos(x_i, q) for the query q of the module docstring, among the first
        restrict_vocab rows, leaving out the query's words; with topn None, every row's cosine (float32[N]).
        ``most_similar(word, k)`` and ``most_similar(word, k=k)`` are this module's own spelling of
        ``most_similar(word, topn=k)``."""
        if isinstance(negative, Integral) and not isinstance(negative, bool):  # most_similar(word, k)
            negative, topn = None, negative
        topn = topn if k is None else k
        if isinstance(topn, Integral) and topn < 1:
            return []
        keys, weights = [], []
        for items, default in ((_as_list(positive), 1.0), (_as_list(negative), -1.0)):
            for item in items:
                key, weight = (item, default) if isinstance(item, (str, np.ndarray)) else item
                keys.append(key)
                weights.append(weight)
        query = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        return self._ranked(self.unit[: restrict_vocab or None] @ query, topn, keys)

    def most_similar_cosmul(self, positive: str | np.ndarray | Sequence[str | np.ndarray] | None = None,
                            negative: str | np.ndarray | Sequence[str | np.ndarray] | None = None,
                            topn: int | None = 10,
                            restrict_vocab: int | None = None) -> Ranking:
        """The topn words of highest 3CosMul score (module docstring) among the first restrict_vocab rows, leaving
        out the query's words; with topn None, every row's score. (gensim 4.4 takes restrict_vocab here but
        searches every row.)"""
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _as_list(positive), _as_list(negative)
        terms = [[self.get_vector(y, norm=True) if isinstance(y, str) else y for y in side]
                 for side in (positive, negative)]
        if not terms[0]:
            raise QueryError("most_similar_cosmul needs at least one positive word or vector")
        rows = self.unit[: restrict_vocab or None]
        shifted = [[(1 + rows @ y) / 2 for y in side] for side in terms]
        scores = np.prod(shifted[0], axis=0) / (np.prod(shifted[1], axis=0) + COSMUL_EPSILON)
        return self._ranked(scores, topn, positive + negative)

    def _ranked(self, scores: np.ndarray, topn: int | None, query: list) -> Ranking:
        """The topn (word, score) of ``scores`` (float[N], one per first row), leaving out the query's words;
        ``scores`` itself with topn None."""
        if not topn:
            return scores
        rows = [self.index.get(key) for key in query if isinstance(key, str)]
        return self._top(scores, topn, [row for row in rows if row is not None and row < len(scores)])

    def similar_by_word(self, word: str, topn: int | None = 10, restrict_vocab: int | None = None) -> Ranking:
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def similar_by_vector(self, vector: np.ndarray, topn: int | None = 10,
                          restrict_vocab: int | None = None) -> Ranking:
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word that goes least with the others (module docstring); words without a vector are left out
        (logged), as gensim does."""
        words = list(words)
        used = [word for word in words if self.covers(word)]
        if len(used) < len(words):
            logger.warning("doesnt_match: no vectors for %s; left out", sorted(set(words) - set(used)))
        if not used:
            raise QueryError("doesnt_match needs at least one word with a vector")
        unit = [self.get_vector(word, norm=True) for word in used]
        centre = self.get_mean_vector(unit, post_normalize=True)
        return min(zip(np.stack(unit) @ centre, used))[1]

    def n_similarity(self, first: Sequence[str], second: Sequence[str]) -> float:
        """cos(mean of the first words' vectors, mean of the second's); words without a vector are skipped, as
        gensim does."""
        if not (len(first) and len(second)):
            raise EmptyWordSet("n_similarity needs two non-empty lists of words")
        means = [_unit(self.get_mean_vector(words, pre_normalize=False)) for words in (first, second)]
        return float(means[0] @ means[1])

    def distance(self, first: str, second: str) -> float:
        """1 - cos(first, second)."""
        return 1 - self.similarity(first, second)

    def distances(self, word_or_vector: str | np.ndarray, other_words: Sequence[str] = ()) -> np.ndarray:
        """float32[N]: 1 - cos(x, y) for each word y of ``other_words`` (every word in row order when empty)."""
        vector = self.vector(word_or_vector) if isinstance(word_or_vector, str) else np.asarray(word_or_vector)
        others = self.unit[[self._row(word) for word in other_words]] if len(other_words) else self.unit
        return 1 - others @ _unit(vector)

    def closer_than(self, first: str, second: str) -> list[str]:
        """The words other than ``first`` at a smaller cosine distance from it than ``second``, in row order."""
        row, distances = self._row(first), self.distances(first)
        return [self.words[i] for i in np.flatnonzero(distances < distances[self._row(second)]) if i != row]

    def rank(self, first: str, second: str) -> int:
        """1 + the number of words other than ``first`` nearer to it than ``second`` (1: its nearest)."""
        return len(self.closer_than(first, second)) + 1

    def evaluate_word_pairs(self, pairs: str | os.PathLike, *, restrict_vocab: int = 300000,
                            case_insensitive: bool = True, dummy4unknown: bool = False) -> tuple[Any, Any, float]:
        """gensim's (Pearson r, Spearman rho, percentage of pairs left out) on a word-similarity file (read by
        eval/benchmarks.py: tab- or space-separated ``word1 word2 score``, a header line and ``#`` comments
        skipped): scipy's results (statistic, pvalue) over the pairs whose two words are among the first
        restrict_vocab (compared in upper case with case_insensitive); with dummy4unknown the others count with
        cosine 0 and the percentage is of the counted pairs."""
        from scipy.stats import pearsonr, spearmanr

        from .eval.benchmarks import load_similarity
        from .eval.similarity import pair_cosines

        fold = _folding(case_insensitive)
        row = {fold(word): i for i, word in reversed(list(enumerate(self.words[:restrict_vocab])))}  # first wins
        benchmark = load_similarity(pairs, lowercase=False)
        found = [(self.words[row[fold(a)]], self.words[row[fold(b)]], score) for a, b, score in benchmark.pairs
                 if fold(a) in row and fold(b) in row]
        unknown = [score for a, b, score in benchmark.pairs if not (fold(a) in row and fold(b) in row)]
        human = [score for _, _, score in found] + (unknown if dummy4unknown else [])
        if not human:
            raise QueryError(f"{pairs}: no pair has both words among the first {restrict_vocab}")
        model = np.concatenate([pair_cosines(self, found) if found else np.zeros(0), np.zeros(len(human) - len(found))])
        return pearsonr(human, model), spearmanr(human, model), 100.0 * len(unknown) / len(benchmark.pairs)

    def evaluate_word_analogies(self, analogies: str | os.PathLike, restrict_vocab: int = 300000,
                                case_insensitive: bool = True, dummy4unknown: bool = False,
                                similarity_function: str = "most_similar") -> tuple[float, list[dict]]:
        """gensim's (accuracy, sections) on a questions-words file (read by eval/analogy.py), 3CosAdd among the
        first restrict_vocab rows (eval/analogy.py's answers): each section ``{"section", "correct",
        "incorrect"}`` with its questions (a, b, c, d) (in upper case with case_insensitive), then the "Total
        accuracy" section. A question with a word outside those rows is left out, or counted incorrect with
        dummy4unknown."""
        from .eval.analogy import AnalogySet, graded_sections, load_analogies

        if similarity_function != "most_similar":
            raise QueryError(f"similarity_function {similarity_function!r}: analogies are answered with most_similar")
        fold = _folding(case_insensitive)
        data = load_analogies(analogies, lowercase=False)
        folded = AnalogySet(data.name, [(name, [tuple(map(fold, q)) for q in questions])
                                        for name, questions in data.sections])
        sections = []
        restrict = len(self) if restrict_vocab is None else restrict_vocab
        for graded in graded_sections(self, folded, "3cosadd", restrict, keys=list(map(fold, self.words))):
            answers = list(zip(graded.questions, graded.right))
            sections.append({"section": graded.name, "correct": [q for q, right in answers if right],
                             "incorrect": [q for q, right in answers if right is False or
                                           (right is None and dummy4unknown)]})
        total = {"section": "Total accuracy", **{key: [q for s in sections for q in s[key]]
                                                 for key in ("correct", "incorrect")}}
        scored = len(total["correct"]) + len(total["incorrect"])
        return (len(total["correct"]) / scored if scored else 0.0), [*sections, total]

    def to_gensim(self) -> "gensim.models.KeyedVectors":
        """gensim's ``KeyedVectors`` of these vectors, in memory (a copy); for a subword model a
        ``FastTextKeyedVectors`` whose words' own rows and n-gram rows are ours, so that gensim composes the same
        vector for any word (its n-gram hashing is fastText's, as ours)."""
        try:
            from gensim.models.fasttext import FastTextKeyedVectors
            from gensim.models.keyedvectors import KeyedVectors
        except ImportError:
            raise W2VError("gensim is not installed: pip install 'w2v-contrastive[gensim]'") from None
        if self.subwords is None:
            keyed = KeyedVectors(self.dim)
            keyed.add_vectors(self.words, self.matrix)
            return keyed
        units = self.subwords.units
        keyed = FastTextKeyedVectors(self.dim, units.min_n, units.max_n, units.buckets)
        keyed.index_to_key = list(self.words)
        keyed.key_to_index = dict(self.index)
        # fastText's input matrix, as ours: the words' rows, then the buckets'; gensim composes each word's vector
        keyed.init_post_load(np.concatenate([self.subwords.word_rows, self.subwords.ngrams]))
        return keyed
