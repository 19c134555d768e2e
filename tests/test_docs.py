"""The docs: the result pages match the records they are rendered from, the site builds with warnings as
errors (broken links and anchors fail), and README.md stays a page a newcomer reads."""

import importlib.util
import os
import re
import subprocess
import sys

from tests.conftest import ROOT

#: how development narrative reads; the docs speak of the software only
NARRATIVE = re.compile(r"been lent|this VM|our CI|issue [0-9]", re.IGNORECASE)


def load_report():
    """scripts/report.py as a module (registered first: its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location("report", os.path.join(ROOT, "scripts", "report.py"))
    report = sys.modules["report"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    return report


def test_the_result_pages_and_the_readme_table_are_what_the_records_give():
    stale = []
    for path, text in load_report().rendered().items():
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            if handle.read() != text:
                stale.append(path)
    assert not stale, f"{stale}: differ from the records in bench/; run python scripts/report.py and commit"


def test_every_figure_a_page_shows_is_committed():
    report = load_report()
    figures = [report.HEADLINE.figure] + [t.figure for page in report.PAGES.values() for s in page.sections
                                          for t in s.tables if getattr(t, "figure", None)]
    assert figures and all(os.path.isfile(os.path.join(ROOT, report.FIGURES, f)) for f in figures)


def test_the_site_builds_strictly(tmp_path):
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml",
                            "-d", str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, build.stdout + build.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "prepare_corpus" in api and "most_similar" in api  # the reference is generated from the docstrings


def test_the_readme_is_short_and_the_docs_speak_of_the_software_only():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert len(readme.splitlines()) <= 300
    pages = ["README.md"] + [os.path.join(folder, name) for folder, _, names in os.walk(os.path.join(ROOT, "docs"))
                             for name in names if name.endswith(".md")]
    found = []
    for page in pages:
        with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
            found += [f"{os.path.relpath(page, ROOT)}:{n}: {line.strip()}" for n, line in enumerate(handle, 1)
                      if NARRATIVE.search(line)]
    assert not found, "\n".join(found)
