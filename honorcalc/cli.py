"""The ``honorcalc`` command: parses arguments, calls the library, maps errors to exit codes.

Exit codes: 0 success; 1 a bug, or a check that found differences (``verify``);
2 bad input or parameters (one message on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import HonorcalcError, InputError

__all__ = ["main", "cli"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="honorcalc")
def cli():
    """Compute and audit the red and black lists (红黑榜) of a civilized-city campaign.

    \b
    Start with the demo city:
      honorcalc demo data/demo          # write a demo dataset
      honorcalc run params/demo.yaml    # run its report; prints where the HTML is

    Exit codes: 0 success, 2 bad input or parameters, 1 a failed check or a bug.
    """


@cli.command()
@click.argument("params_file", metavar="PARAMS.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", metavar="KEY=VALUE", multiple=True,
              help="Override a parameter, e.g. --set weights.field=0.6 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder that receives the run folder <round>/<run_id>/.")
def run(params_file, overrides, out):
    """Run the report of one round: validate, execute the notebook, write a run folder.

    PARAMS.yaml names the dataset (relative to the file) and the round; every other
    rule number has a default (see the README). Prints the path of report.html.
    """
    from .report import run_report

    result = run_report(params_file, overrides, out=out, progress=sys.stderr.isatty())
    click.echo(str(result.html))


@cli.command()
@click.argument("directory", required=False, default="data/demo",
                type=click.Path(file_okay=False, path_type=Path))
def demo(directory):
    """Write the bundled demo city (about 150 units, one year of rounds) to DIRECTORY.

    DIRECTORY defaults to data/demo, where params/demo.yaml looks for it.
    """
    from .demo import write_demo

    paths = write_demo(directory)
    for path in paths:
        click.echo(str(path))


@cli.command()
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("unit_id")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the explanation (default: the run's).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def explain(run_dir, unit_id, lang, as_json):
    """Explain how UNIT_ID got its score, rank and list in the run RUN_DIR."""
    from .runs import explain_in_run

    text = explain_in_run(run_dir, unit_id, lang=lang, as_json=as_json)
    click.echo(text)


@cli.command()
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(file_okay=False, path_type=Path))
def verify(run_dir):
    """Check a run folder: outputs untouched, inputs unchanged, results recomputed identically.

    Exit 0 when everything matches; exit 1 naming each difference.
    """
    from .runs import verify_run

    problems = verify_run(run_dir)
    if problems:
        for problem in problems:
            click.echo(f"DIFFERS: {problem}")
        sys.exit(1)
    click.echo(f"OK: {run_dir} is reproduced exactly")


@cli.command()
@click.argument("run_a", type=click.Path(file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def diff(run_a, run_b, as_json):
    """Show what changed between two runs: parameters, inputs, ranks and lists."""
    from .runs import diff_runs

    result = diff_runs(run_a, run_b)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else result["text"])


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn honorcalc's errors into exit codes."""
    try:
        cli.main(args=argv, prog_name="honorcalc", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except InputError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except HonorcalcError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    sys.exit(0)
