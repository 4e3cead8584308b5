"""The plugin authors' guides: their Python examples are valid code, their links lead somewhere."""

from __future__ import annotations

import ast
import re

import pytest

GUIDES = ["writing-plugins.md", "publishing.md", "known-plugins.md", "plugins.md"]


@pytest.mark.parametrize("guide", GUIDES)
def test_python_examples_parse_and_links_resolve(repo, guide):
    text = (repo / "docs" / guide).read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        ast.parse(block)
    for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (repo / "docs" / target).resolve().exists(), f"{guide} links to missing {target}"


def test_readme_and_plugins_page_link_the_guides(repo):
    readme = (repo / "README.md").read_text(encoding="utf-8")
    plugins = (repo / "docs" / "plugins.md").read_text(encoding="utf-8")
    for guide in ("writing-plugins.md", "publishing.md", "known-plugins.md"):
        assert f"docs/{guide}" in readme and f"({guide})" in plugins
