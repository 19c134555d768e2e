"""The package's names load on first use: a process that only reads vectors imports neither torch nor scipy.stats,
and every exported name is the object its module defines (``train`` the function, not the trainer's subpackage)."""

import ast
import importlib
import os
import subprocess
import sys

import w2v_contrastive

#: a fresh process that loads and queries vectors through the top-level names, then reports what it imported
VECTORS_ONLY = """
import sys, numpy as np
from w2v_contrastive import Vectors, W2VError, load
vectors = Vectors(["a", "b", "c"], np.eye(3))
assert vectors.most_similar("a", k=1)[0][0] in ("b", "c")
print("torch" in sys.modules, "scipy.stats" in sys.modules)
"""


def test_reading_vectors_imports_neither_torch_nor_scipy_stats():
    done = subprocess.run([sys.executable, "-c", VECTORS_ONLY], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"], done.stdout


def test_every_exported_name_is_its_module_s_object_and_train_is_the_function():
    import w2v_contrastive.train.trainer  # noqa: F401  (a subpackage import must not rebind the name ``train``)

    for name, module in w2v_contrastive._EXPORTS.items():
        assert getattr(w2v_contrastive, name) is getattr(importlib.import_module(module, "w2v_contrastive"), name)
    assert callable(w2v_contrastive.train) and w2v_contrastive.train.__module__ == "w2v_contrastive.api"
    assert set(w2v_contrastive.__all__) == set(w2v_contrastive._EXPORTS) <= set(dir(w2v_contrastive))
    try:
        w2v_contrastive.no_such_name
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_the_type_checkers_imports_name_the_same_exports():
    """(the ``if TYPE_CHECKING:`` imports that editors read must list what ``_EXPORTS`` serves)"""
    source = open(os.path.join(os.path.dirname(w2v_contrastive.__file__), "__init__.py"), encoding="utf-8").read()
    block = next(node for node in ast.parse(source).body if isinstance(node, ast.If)
                 and getattr(node.test, "id", None) == "TYPE_CHECKING")
    imported = {f".{node.module}": [alias.name for alias in node.names] for node in block.body}
    assert {name: module for module, names in imported.items() for name in names} == w2v_contrastive._EXPORTS
