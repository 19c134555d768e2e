"""What every registered head must do, checked over the head registry: a head is covered the day it is
registered. Its own test module (tests/heads/test_<name>.py) gives the reference loop and the variants."""

import dataclasses
import importlib.util
import json

import pytest
import torch

from w2v_contrastive import HEADS, TrainConfig, W2VError
from w2v_contrastive.heads import build_head, constructor_arguments
from w2v_contrastive.train.setup import model_shape

from .common import COLLAPSED, DIM, collapsed, head_and_reference, head_module

NAMES = sorted(HEADS)
SETTINGS = {f.name for f in dataclasses.fields(TrainConfig)}


def module_name(name):
    return f"tests.heads.test_{name.replace('-', '_')}"


def cases():
    found = []
    for name in NAMES:
        if importlib.util.find_spec(module_name(name)) is not None:
            found += [(name, geometry, settings) for geometry, settings in head_module(name).CASES]
    return found


CASES = cases()


def test_every_head_has_a_test_module_with_its_reference_loop():
    for name in NAMES:
        assert importlib.util.find_spec(module_name(name)) is not None, f"write {module_name(name)} (docs/extending.md)"
        module = head_module(name)
        assert callable(module.reference) and module.CASES, name


def test_constructor_arguments_are_training_settings():
    """build_head fills each constructor argument from the TrainConfig field of the same name; an argument
    without one could never be set by a user."""
    for name in NAMES:
        missing = set(constructor_arguments(HEADS[name])) - SETTINGS
        assert not missing, f"{name}: constructor arguments {sorted(missing)} are no TrainConfig fields"


@pytest.mark.parametrize("name,geometry,settings", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_hyperparameters_record_every_option_as_used(name, geometry, settings):
    head = build_head(name, TrainConfig(head=name, **settings))
    recorded = head.hyperparameters()
    assert list(recorded) == constructor_arguments(HEADS[name])
    assert None not in recorded.values(), recorded  # defaults resolved: the value trained with
    json.dumps(recorded)  # config.json and compare's results hold them
    for key, value in settings.items():
        if key in recorded and key != "negatives":  # (n-pair without noise negatives uses none)
            assert recorded[key] == value, (key, recorded)


@pytest.mark.parametrize("name,geometry,settings", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_and_gradient_match_the_papers_formula_written_as_loops(name, geometry, settings):
    loss, expected, grads, expected_grads, _ = head_and_reference(name, geometry, **settings)
    assert loss.shape == expected.shape == (6,)
    # atol: with tied tables a noise word can be the word itself: the loop's distance is exactly 0, the
    # head's, from ||u||^2 + ||v||^2 - 2 u.v in float32, up to sqrt(rounding) ~ 1e-3
    assert torch.allclose(loss, expected, rtol=1e-4, atol=5e-3), (loss, expected)
    assert len(grads) == len(expected_grads)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, rtol=1e-3, atol=1e-4)
        assert want.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_at_a_constant_embedding_no_loss_is_minimised_and_only_dot_product_heads_push_away(name):
    """The seed's question: what happens when the network outputs a constant? Dot-product heads move
    the vectors apart (the true context's row is pulled towards u, others pushed away); for distance
    heads every distance and its gradient is 0: a stationary point the loss cannot leave, though it
    is at its worst. Each head's module checks its loss value there."""
    loss, gradient, head, _ = collapsed(name, COLLAPSED)
    assert (loss > 0.01).all(), name  # every loss is >= 0 and none is at its minimum
    if head.takes_output_bias:  # scores are dot products
        assert gradient > 1e-3, (name, gradient)
    else:
        assert gradient < 1e-6, (name, gradient)


@pytest.mark.parametrize("name", NAMES)
def test_at_the_zero_embedding_every_head_is_stationary(name):
    assert collapsed(name, torch.zeros(DIM))[1] < 1e-6


def test_distance_heads_take_no_output_bias_and_bad_options_are_one_line_errors():
    for name in NAMES:
        if not HEADS[name].takes_output_bias:
            with pytest.raises(W2VError, match="takes no --output-bias"):
                model_shape(TrainConfig(head=name, output_bias=True), build_head(name, TrainConfig(head=name)))
    with pytest.raises(W2VError, match="unknown distance"):
        build_head("contrastive", TrainConfig(distance="manhattan"))
    with pytest.raises(W2VError, match="unknown mining"):
        build_head("triplet", TrainConfig(mining="easy"))
    for name, option, message in [("triplet", {"margin": -1.0}, "margin must be > 0"),
                                  ("infonce", {"temperature": 0.0}, "temperature must be > 0"),
                                  ("n-pair", {"embedding_l2": -0.1}, "embedding-l2 must be >= 0"),
                                  ("infonce", {"negatives": 0}, "infonce needs negatives")]:
        with pytest.raises(W2VError, match=message):
            TrainConfig(head=name, **option).validate()  # the head checks its own options


def test_the_registry_holds_the_heads_and_builds_them_from_settings():
    assert {"softmax", "hierarchical-softmax", "nce", "negative-sampling", "infonce", "n-pair", "contrastive",
            "triplet", "lifted-structured"} <= set(HEADS)
    head = build_head("infonce", TrainConfig(negatives=7, temperature=0.5, in_batch_negatives=True))
    assert head.request.negatives == 7 and head.request.in_batch and head.temperature == 0.5
    with pytest.raises(W2VError, match="unknown head 'magic'; choose one of: contrastive, hierarchical-softmax, info"):
        build_head("magic", TrainConfig())
