"""databay.testing.check_readme_example: a README's example prints what the README says."""

from __future__ import annotations

import pytest
from databay.testing import check_readme_example

README = """# A plugin

### Example of an install

```python
print("not this one: a heading that only contains the one asked for")
```

## Example

```python
import os
print("hello", os.environ.get("WHO", "world"))
open("written.txt", "w").close()
```

Output:

```
hello {who}
```
"""


def test_the_example_after_the_heading_runs_in_cwd_and_its_output_is_compared(tmp_path):
    (tmp_path / "README.md").write_text(README.format(who="you"))
    (tmp_path / "run").mkdir()
    check_readme_example(tmp_path / "README.md", tmp_path / "run", env={"WHO": "you"})
    assert (tmp_path / "run" / "written.txt").exists()
    with pytest.raises(AssertionError, match="the example printed\nhello someone else\n\nbut the README says it prints\nhello you\n$"):
        check_readme_example(tmp_path / "README.md", tmp_path, env={"WHO": "someone else"})


def test_an_example_that_fails_or_hangs_fails_the_check(tmp_path):
    (tmp_path / "README.md").write_text(README.replace("import os", 'raise SystemExit("broken example")'))
    with pytest.raises(AssertionError, match="exited with 1:\nbroken example"):
        check_readme_example(tmp_path / "README.md", tmp_path)
    (tmp_path / "README.md").write_text(README.replace("import os", "import os, time; time.sleep(30)"))
    with pytest.raises(AssertionError, match="did not end within 0.5 s"):
        check_readme_example(tmp_path / "README.md", tmp_path, timeout=0.5)


def test_a_missing_example_or_output_fails_the_check(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    with pytest.raises(AssertionError, match="no line '## Usage'"):
        check_readme_example(readme, tmp_path, heading="## Usage")
    # An "Output:" that belongs to a later code block is not this example's.
    readme.write_text(README.replace("Output:", "```bash\npip install it\n```\n\nOutput:"))
    with pytest.raises(AssertionError, match="no line '## Example' followed by"):
        check_readme_example(readme, tmp_path)
