"""Each link of a pipeline has a stable identity derived from its definition."""

from __future__ import annotations

import re
import subprocess
import sys

from databay import Link, load_pipeline

PIPELINE = """
[inlets.dice]
use = "random_int"
max = "${DICE_MAX:-6}"

[[links]]
tags = ["rolls"]
interval = 5
inlets = ["dice"]
outlets = ["null"]

[[links]]
tags = ["other"]
interval = 5
inlets = [{ use = "random_int" }]
outlets = [{ use = "print", only_payload = true }]
"""


def identities(text: str, environ: dict[str, str] | None = None) -> list[str]:
    return [link.identity for link in load_pipeline(text, environ=environ or {}).links]


def test_identities_name_the_tags_and_differ():
    first, second = identities(PIPELINE)
    assert re.fullmatch(r"rolls-[0-9a-f]{16}", first)
    assert re.fullmatch(r"other-[0-9a-f]{16}", second)


def test_the_same_in_another_process():
    code = ("import sys; from databay import load_pipeline; "
            "print(' '.join(l.identity for l in load_pipeline(sys.stdin.read(), environ={}).links))")
    out = subprocess.run([sys.executable, "-c", code], input=PIPELINE, capture_output=True, text=True, check=True)
    assert out.stdout.split() == identities(PIPELINE)


def test_moving_or_reformatting_a_link_or_a_new_variable_value_keeps_it():
    moved = PIPELINE.replace("interval = 5\ninlets = [\"dice\"]", "inlets = [ \"dice\" ]\ninterval   = 5")
    assert identities(moved) == identities(PIPELINE)
    assert identities(PIPELINE, {"DICE_MAX": "20"}) == identities(PIPELINE)
    first, second = PIPELINE.split("[[links]]", 1)[0], "[[links]]" + PIPELINE.split("[[links]]", 2)[2]
    swapped = second + "\n" + first + "[[links]]" + PIPELINE.split("[[links]]", 2)[1]
    assert sorted(identities(swapped)) == sorted(identities(PIPELINE))


def test_a_changed_definition_gets_a_new_identity():
    rolls, other = identities(PIPELINE)
    slower = identities(PIPELINE.replace('interval = 5\ninlets = ["dice"]', 'interval = 6\ninlets = ["dice"]'))
    assert slower[0] != rolls and slower[1] == other
    # a named component is part of the links that use it
    assert identities(PIPELINE.replace('max = "${DICE_MAX:-6}"', "max = 7"))[0] != rolls
    assert identities(PIPELINE.replace("only_payload = true", "only_payload = false"))[1] != other


def test_links_with_the_same_definition_are_numbered():
    text = "[[links]]\ninterval = 1\ninlets = ['null']\noutlets = ['null']\n" * 2
    first, second = identities(text)
    assert re.fullmatch(r"link-[0-9a-f]{16}", first)
    assert second == first + "#2"


def test_a_secret_tag_stays_out_of_it():
    text = "[[links]]\ntags = ['${TEAM}']\ninterval = 1\ninlets = ['null']\noutlets = ['null']\n"
    (identity,) = identities(text, {"TEAM": "hunter2"})
    assert "hunter2" not in identity and identity.startswith("TEAM-")


def test_links_made_in_python_have_none():
    assert Link([], [], 1).identity is None
