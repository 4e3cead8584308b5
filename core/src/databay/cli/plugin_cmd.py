"""``databay plugin ...``: commands for plugin authors."""

from __future__ import annotations

from pathlib import Path

import typer

from databay.cli.errors import EXIT_USAGE, CliError

app = typer.Typer(
    help="Write plugins: generate a new plugin distribution.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.command("new")
def new(
    name: str = typer.Argument(..., help="The plugin's short name, e.g. 'kafka': makes databay-kafka."),
    inlet: bool = typer.Option(False, "--inlet", help="Register an example inlet."),
    outlet: bool = typer.Option(False, "--outlet", help="Register an example outlet (the default)."),
    planner: bool = typer.Option(False, "--planner", help="Register an example planner."),
    directory: Path | None = typer.Option(
        None, "--directory", "-d", help="Folder to write into (default: ./databay-NAME); no file is overwritten."
    ),
    author: str = typer.Option("", "--author", help="Author name, for pyproject.toml and LICENSE."),
    email: str = typer.Option("", "--email", help="Author e-mail, for pyproject.toml."),
    description: str = typer.Option("", "--description", help="One-line summary, for pyproject.toml and README."),
) -> None:
    """Generate a complete plugin distribution: pyproject, package, tests, README, LICENSE.

    Choose what it registers with --inlet, --outlet and --planner (any combination; an
    outlet when none is given). Its tests pass and `python -m build` makes a wheel
    straight away.
    """
    from databay.scaffold import ScaffoldError, generate

    for option, value in (("--author", author), ("--email", email), ("--description", description)):
        _check_one_line(option, value, collapsed=option == "--description")
    kinds = tuple(kind for kind, chosen in (("inlet", inlet), ("outlet", outlet), ("planner", planner)) if chosen)
    try:
        root, written = generate(name, directory, kinds or ("outlet",), author, email, description)
    except ScaffoldError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    print(f"Created {root}/ with {len(written)} files:")
    for path in written:
        print(f"  {path.relative_to(root)}")
    print()
    print("Next steps:")
    print(f"  cd {root}")
    print("  python -m venv .venv && . .venv/bin/activate")
    print("  pip install -e '.[test]'")
    print("  pytest")
    print("  databay plugins --check")


def _check_one_line(option: str, value: str, collapsed: bool = False) -> None:
    """Refuse control characters in ``value`` (they would break pyproject.toml, and a newline
    in an author's name is a mistake); ``collapsed``: whitespace is joined into spaces anyway."""
    from databay.printable import escape_controls

    checked = " ".join(value.split()) if collapsed else value
    if escape_controls(checked) != checked:
        raise CliError(f"{option} must be one line of text without control characters, got "
                       f"'{escape_controls(value)}'", EXIT_USAGE)
