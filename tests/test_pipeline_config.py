"""Configuration for operators through the installed CLI (issue 15): YAML pipelines, named
components, credential profiles and `validate --show`."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

TOML = """
[planner]
use = "schedule"
threads = 2

[inlets.lines]
use = "file"
filepath = "${DATA_FILE}"
read_mode = "file"

[outlets.copy]
use = "file"
default_filepath = "out/${OUT_NAME:-copy}.txt"

[[links]]
tags = ["first"]
interval = "1m30s"
inlets = ["lines"]
outlets = ["copy"]

[[links]]
tags = ["second"]
interval = 2
inlets = ["lines"]
outlets = ["copy", { use = "null" }]
"""

YAML = """
planner:
  use: schedule
  threads: 2

inlets:
  lines:
    use: file
    filepath: ${DATA_FILE}
    read_mode: file

outlets:
  copy:
    use: file
    default_filepath: out/${OUT_NAME:-copy}.txt

links:
  - tags: [first]
    interval: 1m30s
    inlets: [lines]
    outlets: [copy]
  - tags: [second]
    interval: 2
    inlets: [lines]
    outlets: [copy, {use: "null"}]
"""


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def pair(tmp_path):
    """The same pipeline as TOML and as YAML, each in its own folder, with its data file."""
    folders = {}
    for name, text in (("pipeline.toml", TOML), ("pipeline.yaml", YAML)):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / "data.txt").write_text("one\ntwo\n")
        write(folder, name, text)
        folders[name] = folder
    return folders


def without_source(text: str, name: str) -> str:
    return text.replace(name, "PIPELINE")


def test_yaml_and_toml_give_identical_results(installed, pair):
    outputs = {}
    for name, folder in pair.items():
        env = {"DATA_FILE": "data.txt"}
        results = [installed.databay(*command, name, cwd=folder, env=env)
                   for command in (["validate"], ["validate", "--json"], ["validate", "--show"],
                                   ["validate", "--show", "--json"], ["run", "--once"])]
        assert [r.returncode for r in results] == [0] * 5, [r.stderr for r in results]
        assert all(r.stderr == "" for r in results[:4])
        texts = [without_source(r.stdout, name) for r in results]
        texts[-1] = re.sub(r"in \d+ ms", "in N ms", texts[-1])
        outputs[name] = texts + [sorted(filter(None, (folder / "out" / "copy.txt").read_text().splitlines()))]
    assert outputs["pipeline.toml"] == outputs["pipeline.yaml"]
    summary, _, shown, _, once, written = outputs["pipeline.yaml"]
    assert "inlets:     lines=file(filepath='${DATA_FILE}', read_mode='file')" in summary
    assert "# inlets.lines: the named component 'lines', one instance shared with links[1].inlets[0]" in shown
    assert 'default_filepath = "out/copy.txt"' in shown and 'filepath = "${DATA_FILE}"' in shown
    assert once.count("ok     links[") == 2
    assert written == ["one", "one", "two", "two"]  # one inlet instance, read by both links


MISTAKES_TOML = """
[planner]
thread = 2

[inlets.lines]
use = "file"

[outlets.print]
use = "print"

[[links]]
interval = "5x"
inlets = ["lines", "lnes"]
outlets = [{ use = "file", default_filepath = 7 }]
"""

MISTAKES_YAML = """
planner:
  thread: 2
inlets:
  lines:
    use: file
outlets:
  print:
    use: print
links:
  - interval: 5x
    inlets: [lines, lnes]
    outlets:
      - use: file
        default_filepath: 7
"""


def test_yaml_and_toml_give_identical_problems_yaml_with_lines(installed, tmp_path):
    reports = {}
    for name, text in (("pipeline.toml", MISTAKES_TOML), ("pipeline.yml", MISTAKES_YAML)):
        result = installed.databay("validate", "--json", str(write(tmp_path, name, text)))
        assert result.returncode == 2 and result.stderr == ""
        reports[name] = json.loads(result.stdout)["problems"]
    assert [(p["place"], p["message"]) for p in reports["pipeline.toml"]] == [
        (p["place"], p["message"]) for p in reports["pipeline.yml"]]
    assert [(p["place"], p["line"]) for p in reports["pipeline.toml"]] == [
        ("inlets.lines (file)", 5),
        ("outlets.print", 8),
        ("planner (schedule)", 3),
        ("links[0]", 12),
        ("links[0].inlets[1] (lnes)", 13),
        ("links[0].outlets[0] (file)", 14),
    ]
    assert [(p["place"], p["line"]) for p in reports["pipeline.yml"]] == [
        ("inlets.lines (file)", 5),
        ("outlets.print", 8),
        ("planner (schedule)", 3),
        ("links[0]", 11),
        ("links[0].inlets[1] (lnes)", 12),
        ("links[0].outlets[0] (file)", 15),
    ]
    text = installed.databay("validate", str(tmp_path / "pipeline.yml")).stderr
    assert "  links[0].outlets[0] (file): argument 'default_filepath' must be str or PathLike, " \
           "not int (7) (line 15)" in text.replace("os.PathLike", "PathLike")


@pytest.mark.parametrize("text, expected", [
    ("links: [\n", "line 2, column 1: invalid YAML: while parsing a flow node"),
    ("links:\n- interval: 1\n  interval: 2\n", "links[0].interval: duplicate key 'interval' (line 3)"),
    ("links:\n  - !!python/object/apply:os.system [echo]\n", "links[0]: the tag"),
    ("links:\n  - interval: 1\n    inlets: [null]\n    outlets: [print]\n",
     "links[0].inlets[0]: expected a table such as { use = \"...\" } or an inlet name, not NoneType (None) "
     "(in YAML, write \"null\" in quotes for the null inlet) (line 3)"),
])
def test_yaml_mistakes_exit_2_with_their_place(installed, tmp_path, text, expected):
    path = write(tmp_path, "pipeline.yaml", text)
    for command in (["validate"], ["run", "--once"]):
        result = installed.databay(*command, str(path))
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"  {expected}" in result.stderr, result.stderr


def test_a_named_component_no_link_uses_is_a_warning(installed, pair):
    folder = pair["pipeline.yaml"]
    path = folder / "pipeline.yaml"
    path.write_text(path.read_text().replace("outlets:\n  copy:", "outlets:\n  spare:\n    use: print\n  copy:"))
    line = path.read_text().splitlines().index("  spare:") + 1
    result = installed.databay("validate", "pipeline.yaml", cwd=folder, env={"DATA_FILE": "data.txt"})
    assert result.returncode == 0
    assert result.stderr == (f"Warning: pipeline.yaml: outlets.spare (print): the named outlet "
                             f"'spare' is used by no link (line {line})\n")
    report = json.loads(installed.databay("validate", "--json", "pipeline.yaml", cwd=folder,
                                          env={"DATA_FILE": "data.txt"}).stdout)
    assert report["valid"] and report["warnings"] == [
        {"place": "outlets.spare (print)", "message": "the named outlet 'spare' is used by no link", "line": line}]


# -- profiles --------------------------------------------------------------------

PROFILED = """
[outlets.store]
use = "file"
profile = "prod-files"

[[links]]
interval = 1
inlets = [{ use = "random_int", profile = "dice", max = 3 }]
outlets = ["store"]
"""


def profiles_at(path, mode: int = 0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[prod-files]\ndefault_filepath = "out/profile-chosen-name.txt"\n\n[dice]\nmin = 2\nmax = 9\n')
    path.chmod(mode)
    return path


def test_profiles_come_from_the_user_s_config_folder(installed, tmp_path):
    profiles_at(tmp_path / "home" / ".config" / "databay" / "profiles.toml")
    write(tmp_path, "pipeline.toml", PROFILED)
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": ""}
    result = installed.databay("run", "--once", "pipeline.toml", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    [value] = (tmp_path / "out" / "profile-chosen-name.txt").read_text().split()
    assert 2 <= int(value) <= 3  # min from the profile, max from the pipeline (its own wins)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
@pytest.mark.parametrize("command", [["validate"], ["validate", "--json"], ["run", "--once"]])
def test_a_profiles_file_others_can_read_is_refused(installed, tmp_path, mode, command):
    path = profiles_at(tmp_path / "profiles.toml", mode)
    write(tmp_path, "pipeline.toml", PROFILED)
    result = installed.databay(*command, "pipeline.toml", cwd=tmp_path, env={"DATABAY_PROFILES": str(path)})
    assert result.returncode == 2
    expected = (f"the profiles file {path} can be read or changed by others (mode {mode:03o}): it holds secrets, "
                f"make it private with chmod 600 {path}")
    assert expected in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


# -- secrets -----------------------------------------------------------------------

PROFILE_SECRET = "pr0file-pa55word-XYZ"
ENV_SECRET = "env-t0ken-QRS"

SECRETIVE = """
[outlets.vault]
use = "file"
profile = "vault"
default_file_mode = "${MODE_SECRET}"

[[links]]
interval = 1
inlets = [
  { use = "random_int", max = "${API_TOKEN}" },
  { use = "http", url = "http://127.0.0.1:9/x?api_key=${API_TOKEN}", headers = { X-Api-Key = "${API_TOKEN}" }, timeout = "${API_TOKEN}" },
]
outlets = ["vault"]
"""


@pytest.fixture
def secretive(tmp_path):
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[vault]\ndefault_filepath = "out/{PROFILE_SECRET}.txt"\ndefault_encoding = 5\n')
    profiles.chmod(0o600)
    write(tmp_path, "pipeline.toml", SECRETIVE)
    return tmp_path, {"DATABAY_PROFILES": str(profiles), "API_TOKEN": ENV_SECRET, "MODE_SECRET": "w-secret-mode"}


@pytest.mark.parametrize("command", [["validate"], ["validate", "--json"], ["validate", "--show"],
                                     ["validate", "--show", "--json"], ["run", "--once"]])
def test_no_secret_in_any_output_of_validate_and_run(installed, secretive, command):
    folder, env = secretive
    result = installed.databay(*command, "pipeline.toml", cwd=folder, env=env)
    assert result.returncode == 2  # max and default_encoding are wrong: the messages would echo them
    output = result.stdout + result.stderr
    for secret in (PROFILE_SECRET, ENV_SECRET, "w-secret-mode"):
        assert secret not in output
    assert "argument 'max' must be int, not str ('${API_TOKEN}')" in output
    assert "argument 'timeout' must be float, not str ('${API_TOKEN}')" in output
    assert "argument 'default_encoding' (from profile 'vault') must be str, not int" in output


@pytest.mark.parametrize("as_json", [False, True])
def test_show_applies_everything_and_redacts_every_secret(installed, secretive, as_json):
    folder, env = secretive
    profiles = folder / "profiles.toml"
    profiles.write_text(f'[vault]\ndefault_filepath = "out/{PROFILE_SECRET}.txt"\ndefault_encoding = "utf-8"\n')
    (folder / "pipeline.toml").write_text(SECRETIVE.replace('max = "${API_TOKEN}"', 'max = "${API_MAX}"')
                                          .replace('timeout = "${API_TOKEN}"', "timeout = 5"))
    result = installed.databay("validate", "--show", *(["--json"] if as_json else []), "pipeline.toml",
                               cwd=folder, env={**env, "API_MAX": "12345"})
    assert result.returncode == 0, result.stderr
    for secret in (PROFILE_SECRET, "12345", "w-secret-mode", "utf-8", ENV_SECRET):
        assert secret not in result.stdout
    if as_json:
        config = json.loads(result.stdout)
        [inlet, http] = config["links"][0]["inlets"]
        assert inlet["arguments"] == {"min": 0, "max": "${API_MAX}", "metadata": None, "retry": None}
        assert http["arguments"]["url"] == "http://127.0.0.1:9/x?api_key=${API_TOKEN}"
        assert http["arguments"]["headers"] == {"X-Api-Key": "${API_TOKEN}"}
        [outlet] = config["links"][0]["outlets"]
        assert outlet["name"] == "vault" and outlet["profile"] == "vault"
        assert outlet["arguments"]["default_filepath"] == "<profile vault.default_filepath>"
        assert outlet["arguments"]["default_file_mode"] == "${MODE_SECRET}"
    else:
        assert 'max = "${API_MAX}"' in result.stdout
        assert '# default_filepath = "<profile vault.default_filepath>"' in result.stdout
        (folder / "shown.toml").write_text(result.stdout)  # a pipeline that runs the same
        again = installed.databay("validate", "--show", "shown.toml", cwd=folder, env={**env, "API_MAX": "12345"})
        assert again.returncode == 0, again.stderr
        settings = [[line for line in out.splitlines() if not line.startswith("# ")] for out in (again.stdout,
                                                                                             result.stdout)]
        assert settings[0] == settings[1]


# A secret flows into an exception raised while running: what the log formatters, `run --once`,
# the stage and `databay stage` show of it is redacted by the output sinks and the stage
# (issue 10 item 4: the edge and stage branches); this branch registers the secrets.
LEAKY = '''
from databay import Outlet


class LeakyOutlet(Outlet):
    def __init__(self, password: str, token: str, **kwargs):
        super().__init__(**kwargs)
        self.password, self.token = password, token

    def push(self, records, update):
        raise ConnectionError(f"login refused: password={self.password} token={self.token}")
'''

LEAKY_PIPELINE = """
[outlets.vault]
use = "leaky:LeakyOutlet"
profile = "vault"
token = "${API_TOKEN}"
retry = { attempts = 1 }

[[links]]
tags = ["leak"]
interval = 1
stage = "leak.stage"
inlets = ["random_int"]
outlets = ["vault"]
"""


def test_no_secret_in_run_once_logs_or_the_stage(installed, tmp_path):
    (tmp_path / "leaky.py").write_text(LEAKY)
    write(tmp_path, "pipeline.toml", LEAKY_PIPELINE)
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[vault]\npassword = "{PROFILE_SECRET}"\n')
    profiles.chmod(0o600)
    env = {"DATABAY_PROFILES": str(profiles), "API_TOKEN": ENV_SECRET}
    outputs = []
    for command in (["run", "--once"], ["run", "--once", "--log-format", "json"], ["run", "--once", "-vv"],
                    ["stage"], ["stage", "--json"]):
        result = installed.databay(*command, "pipeline.toml", cwd=tmp_path, env=env)
        outputs.append(result.stdout + result.stderr)
    assert "login refused" in outputs[0] and "dead-lettered" in outputs[0]
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("leak.stage*") if path.is_file())
    for secret in (PROFILE_SECRET, ENV_SECRET):
        assert all(secret not in output for output in outputs), outputs
        assert secret.encode() not in stored
