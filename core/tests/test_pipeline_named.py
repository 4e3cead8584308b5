"""Named components and credential profiles, in-process."""

from __future__ import annotations

import os
import textwrap

import pytest
from databay import Inlet, load_pipeline
from databay.pipeline import PipelineError, check_pipeline
from databay.redaction import forget_secrets, redact

NAMED = """
[inlets.dice]
use = "random_int"
min = 1
max = 6

[outlets.shown]
use = "print"
only_payload = true

[[links]]
tags = ["a"]
interval = 1
inlets = ["dice"]
outlets = ["shown", "null"]

[[links]]
tags = ["b"]
interval = 1
inlets = ["dice", { use = "random_int" }]
outlets = ["shown"]
"""


class CountingInlet(Inlet):
    """Counts its starts and shutdowns (a module-level class: pipelines name it by import string)."""

    starts = 0
    shutdowns = 0

    def pull(self, update):
        return [1]

    def on_start(self):
        CountingInlet.starts += 1

    def on_shutdown(self):
        CountingInlet.shutdowns += 1


def problems(text: str, **kwargs) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        check_pipeline(textwrap.dedent(text), **kwargs)
    return [f"{p.place}: {p.message}" for p in caught.value.problems]  # lines: test_pipeline_lines.py


def test_a_named_component_is_one_instance_in_every_link():
    pipeline = load_pipeline(NAMED)
    first, second = pipeline.links
    assert first.inlets[0] is second.inlets[0]
    assert first.outlets[0] is second.outlets[0]
    assert second.inlets[1] is not first.inlets[0]
    assert first.inlets[0].min == 1 and first.outlets[0].only_payload is True


def test_a_shared_named_inlet_is_started_and_stopped_once():
    CountingInlet.starts = CountingInlet.shutdowns = 0
    pipeline = load_pipeline(f"""
        [inlets.counted]
        use = "{__name__}:CountingInlet"

        [[links]]
        tags = ["a"]
        interval = 1
        inlets = ["counted"]
        outlets = ["null"]

        [[links]]
        tags = ["b"]
        interval = 1
        inlets = ["counted"]
        outlets = ["null"]
    """)
    result = pipeline.run_once(handle_signals=False)
    assert not result.failed
    assert [stats.records_pulled for stats in result.outcomes.values()] == [1, 1]
    assert (CountingInlet.starts, CountingInlet.shutdowns) == (1, 1)


@pytest.mark.parametrize("text, expected", [
    (NAMED.replace('inlets = ["dice"]', 'inlets = ["dic"]'),
     "links[0].inlets[0] (dic): unknown inlet 'dic': neither a named nor a registered inlet (did you mean 'dice'?)"),
    (NAMED.replace('outlets = ["shown"]\n', 'outlets = ["dice"]\n'),
     "links[1].outlets[0] (dice): unknown outlet 'dice': 'dice' is a named inlet (inlets.dice), not outlet"),
    (NAMED.replace('outlets = ["shown"]\n', 'outlets = [{ use = "shown" }]\n'),
     "links[1].outlets[0] (shown): 'shown' is a named outlet (outlets.shown): refer to it by its name alone, "
     "e.g. outlets = [\"shown\"]"),
    (NAMED.replace("[outlets.shown]", "[outlets.print]").replace('"shown"', '"print"'),
     "outlets.print: 'print' is the name of the registered outlet 'print' (databay:print): a named outlet may "
     "not shadow it, choose another name"),
    (NAMED.replace("[inlets.dice]", "[inlets.RandomIntInlet]").replace('"dice"', '"RandomIntInlet"'),
     "inlets.RandomIntInlet: 'RandomIntInlet' is the name of the registered inlet 'RandomIntInlet' "
     "(databay:random_int): a named inlet may not shadow it, choose another name"),
    (NAMED.replace("max = 6", "max = 'six'"), "inlets.dice (random_int): argument 'max' must be int, not str ('six')"),
    (NAMED.replace('inlets = ["dice"]', 'inlets = ["dice", "dice"]'),
     "links[0].inlets[1]: the named inlet 'dice' is already one of the inlets of links[0]"),
    (NAMED.replace("[inlets.dice]", '[inlets."my dice"]').replace('"dice"', '"my dice"'),
     "inlets.my dice: 'my dice' is not a component name: use letters, digits, '_' and '-'"),
    ("inlets = ['dice']\n" + NAMED[NAMED.index("[[links]]"):],
     "pipeline: 'inlets' must be named inlet tables such as [inlets.orders], not list (['dice'])"),
])
def test_named_component_mistakes(text, expected):
    assert expected in problems(text)


def test_a_problem_in_a_definition_is_reported_once_however_many_links_use_it():
    assert problems(NAMED.replace("max = 6", "maximum = 6")) == [
        "inlets.dice (random_int): unknown argument 'maximum' (did you mean 'max'?)"]


def test_a_definition_no_link_uses_is_a_warning():
    spec = check_pipeline(NAMED + "\n[inlets.spare]\nuse = 'null'\n")
    assert [str(w) for w in spec.warnings] == [
        "inlets.spare (null): the named inlet 'spare' is used by no link (line 23)"]


# -- profiles ------------------------------------------------------------------

PROFILED = """
[[links]]
interval = 1
inlets = [{ use = "random_int", profile = "dice", max = 20 }]
outlets = [{ use = "file", profile = "files" }]
"""


@pytest.fixture
def profiles_file(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text('[dice]\nmin = 3\nmax = 12\n\n[files]\ndefault_filepath = "out/private-name.txt"\n')
    path.chmod(0o600)
    yield path
    forget_secrets()


def test_a_profile_gives_arguments_and_the_component_s_own_win(profiles_file):
    spec = check_pipeline(PROFILED, environ={"DATABAY_PROFILES": str(profiles_file)})
    inlet, outlet = spec.links[0].components("inlets")[0], spec.links[0].components("outlets")[0]
    assert inlet.arguments == {"min": 3, "max": 20} and inlet.from_profile == {"min"}
    assert str(outlet.arguments["default_filepath"]) == "out/private-name.txt"
    assert redact("wrote out/private-name.txt") == "wrote <profile files.default_filepath>"


def test_the_profiles_file_defaults_to_the_user_s_config_folder(profiles_file, tmp_path):
    (tmp_path / "config" / "databay").mkdir(parents=True)
    os.rename(profiles_file, tmp_path / "config" / "databay" / "profiles.toml")
    spec = check_pipeline(PROFILED, environ={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert spec.links[0].components("inlets")[0].arguments["min"] == 3


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_a_profiles_file_others_can_read_is_refused(profiles_file, mode):
    profiles_file.chmod(mode)
    assert problems(PROFILED, environ={"DATABAY_PROFILES": str(profiles_file)}) == [
        f"links[0].inlets[0] (random_int): argument 'profile': the profiles file {profiles_file} can be read or "
        f"changed by others (mode {mode:03o}): it holds secrets, make it private with chmod 600 {profiles_file}",
    ]


@pytest.mark.parametrize("profiles, expected", [
    ('[dices]\nmin = 1\n', "argument 'profile': no profile 'dice' in {path} (did you mean 'dices'?)"),
    ('dice = 1\n', "argument 'profile': profile 'dice' in {path} must be a table of arguments ([dice])"),
    ('[dice]\nuse = "null"\n', "argument 'profile': profile 'dice' in {path} may not set 'use': a profile gives "
                               "arguments, the pipeline names the component"),
    ('[dice\n', "argument 'profile': the profiles file {path} is not valid TOML: Expected ']' at the end of a table "
                "declaration (at line 1, column 6)"),
    ('[dice]\nminimum = 1\n', "unknown argument 'minimum' (did you mean 'min'?) (from profile 'dice')"),
    ('[dice]\nmin = "secret-min"\n', "argument 'min' (from profile 'dice') must be int, not str"),
])
def test_profile_mistakes(tmp_path, profiles, expected):
    path = tmp_path / "profiles.toml"
    path.write_text(profiles)
    path.chmod(0o600)
    text = PROFILED.replace(', profile = "files"', "")
    [problem] = problems(text, environ={"DATABAY_PROFILES": str(path)})
    assert problem == f"links[0].inlets[0] (random_int): {expected.format(path=path)}"
    assert "secret-min" not in problem
    forget_secrets()


def test_a_missing_profiles_file_is_reported_once(tmp_path):
    path = tmp_path / "nowhere.toml"
    assert problems(PROFILED, environ={"DATABAY_PROFILES": str(path)}) == [
        f"links[0].inlets[0] (random_int): argument 'profile': no profiles file {path} (create it, private to you: "
        f"chmod 600 {path}; or set DATABAY_PROFILES to its path)"]


def test_values_from_the_environment_are_secrets_in_problems():
    text = PROFILED.replace('profile = "dice", max = 20', 'max = "${DICE_MAX}"').replace(', profile = "files"', "")
    try:
        assert problems(text, environ={"DATABAY_MAX": "x", "DICE_MAX": "twelve-secret"}) == [
            "links[0].inlets[0] (random_int): argument 'max' must be int, not str ('${DICE_MAX}')"]
        assert redact("twelve-secret") == "${DICE_MAX}"
    finally:
        forget_secrets()


def test_a_default_written_in_the_file_is_no_secret():
    text = PROFILED.replace('profile = "dice", max = 20', 'max = "${DICE_MAX:-twelve-default}"')
    text = text.replace(', profile = "files"', "")
    assert "not str ('twelve-default')" in problems(text, environ={})[0]
