"""The tests that README.md and docs/ name exist, so that a page never points at a test that is gone:
every test module (``tests/test_x.py``, or ``test_x.py`` for the one of that name under tests/), every
``module.py::name`` (a function or class of that module, ``::Class::method`` a method of the class, a
``[case]`` after it an id or value written in the module), and every test named on its own in backquotes
(a function of some test module). A page's ```python file=PATH blocks are files the reader writes, not
references (test_extending.py runs them)."""

import ast
import glob
import os
import re
from functools import cache

from tests.conftest import ROOT

PAGES = ["README.md", *sorted(os.path.relpath(p, ROOT)
                              for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))]
#: a test module (after a folder or not), its ::names, and a parametrized case's [id]
MODULE_REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*test_\w+\.py)((?:::\w+)*)(\[[^\]\s`]+\])?")
#: a test named on its own: `test_name` or `test_name[id]`
NAME_REFERENCE = re.compile(r"`(test_\w+)(\[[^\]`]+\])?`")
WRITTEN_BY_THE_READER = re.compile(r"```\w* file=\S+")


def module_paths() -> list[str]:
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "tests", "**", "test_*.py"),
                                                                recursive=True))


@cache
def definitions(module: str) -> tuple[str, dict[str, set[str]]]:
    """(source, {top-level function or class name: the names of a class's methods})."""
    source = open(os.path.join(ROOT, module), encoding="utf-8").read()
    names = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = {n.name for n in getattr(node, "body", []) if isinstance(n, ast.FunctionDef)}
    return source, names


def broken_references(page: str, text: str) -> list[str]:
    """What ``text`` (the page ``page``) names that does not exist, each as 'page:line: reference: why'."""
    broken = []
    modules = module_paths()
    for number, line in enumerate(WRITTEN_BY_THE_READER.sub("", text).splitlines(), 1):
        where = f"{page}:{number}"
        for path, names, case in MODULE_REFERENCE.findall(line):
            reference = path + names + case
            found = [path] if "/" in path else [m for m in modules if os.path.basename(m) == path]
            if len(found) != 1 or not os.path.isfile(os.path.join(ROOT, found[0])):
                broken.append(f"{where}: {reference}: no such test module")
                continue
            broken += [f"{where}: {reference}: {why}" for why in missing(found[0], names.split("::")[1:], case)]
        for name, case in NAME_REFERENCE.findall(line):
            holders = [m for m in modules if name in definitions(m)[1]]
            if not holders:
                broken.append(f"{where}: {name}: no test module defines it")
            elif all(missing(m, [name], case) for m in holders):
                broken.append(f"{where}: {name}{case}: no case {case} in {', '.join(holders)}")
    return broken


def missing(module: str, names: list[str], case: str) -> list[str]:
    """Why ``module::names[case]`` does not resolve (empty if it does)."""
    source, defined = definitions(module)
    if names and names[0] not in defined:
        return [f"{module} defines no {names[0]}"]
    if len(names) > 1 and (len(names) > 2 or names[1] not in defined[names[0]]):
        return [f"{module} has no {'::'.join(names)}"]
    if case and case[1:-1] not in source:
        return [f"{module} has no case {case}"]
    return []


def test_every_test_the_pages_name_exists():
    broken, seen = [], 0
    for page in PAGES:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        seen += len(MODULE_REFERENCE.findall(text)) + len(NAME_REFERENCE.findall(text))
        broken += broken_references(page, text)
    assert not broken, "\n".join(broken)
    assert seen > 50  # (the pattern still finds the pages' references)


def test_a_reference_to_a_test_that_is_gone_is_reported():
    text = ("See `tests/test_metric_heads.py`, tests/test_cbow.py::test_gone, `test_cbow.py::"
            "test_a_distance_head_refuses_cbow_in_one_line`, `test_no_such_test`, `test_reliability.py::"
            "test_an_interrupted_run_resumes_to_the_vectors_of_an_uninterrupted_one[SIGSTOP]`\n"
            "```python file=tests/heads/test_to_write.py\n")
    assert [entry.split(": ", 1)[1] for entry in broken_references("page.md", text)] == [
        "tests/test_metric_heads.py: no such test module",
        "tests/test_cbow.py::test_gone: tests/test_cbow.py defines no test_gone",
        "test_reliability.py::test_an_interrupted_run_resumes_to_the_vectors_of_an_uninterrupted_one[SIGSTOP]: "
        "tests/test_reliability.py has no case [SIGSTOP]",
        "test_no_such_test: no test module defines it",
    ]
