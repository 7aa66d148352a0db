"""The ``honorcalc`` command: parses arguments, calls the library, maps errors to exit codes.

Exit codes: 0 success; 1 a bug, or a check that found differences (``verify``);
2 bad input or parameters (one message on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from pathlib import Path

import click

from . import __version__
from .errors import HonorcalcError, InputError
from .messages import error_prefix, localize_error, localize_message

__all__ = ["main", "cli"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


#: The language of messages: set by ``--lang`` (or ``HONORCALC_LANG``), else by the params' ``lang``,
#: else Chinese. Module state, since an error is reported after click has returned.
_LANG: dict[str, str | None] = {"explicit": None, "params": None}


def message_lang() -> str:
    """The language to speak to the user in: ``--lang``, else the params file's ``lang``, else ``zh``."""
    return _LANG["explicit"] or _LANG["params"] or "zh"


def note_params_lang(lang: str | None) -> None:
    """Record the ``lang`` of the params file a command reads (a ``--lang`` given still wins)."""
    if lang in ("zh", "en"):
        _LANG["params"] = lang


#: A top-level ``lang: en`` line of a params file (quoted or not, a comment after it).
_LANG_LINE = re.compile(r"^lang[ \t]*:[ \t]*(['\"]?)(zh|en)\1[ \t]*(?:#.*)?$", re.MULTILINE)

#: Larger params files are not looked into for their language (the params reader says what is wrong).
_LANG_SCAN_BYTES = 1 << 20


def params_file_lang(path, overrides=()) -> str | None:
    """The ``lang`` a params file (and ``--set lang=…``) asks for, read cheaply and safely, or None.

    Only a top-level ``lang:`` line is looked for, without parsing the YAML: a file that
    is missing, too large, not text or not valid YAML gives None here, and the params
    reader then reports it as usual, in the default language.
    """
    lang = None
    try:
        path = Path(path)
        if path.is_file() and path.stat().st_size <= _LANG_SCAN_BYTES:
            found = _LANG_LINE.findall(path.read_bytes().decode("utf-8-sig", errors="replace"))
            lang = found[-1][1] if len(found) == 1 else None
    except (OSError, ValueError):
        lang = None
    for item in overrides:
        key, sep, value = str(item).partition("=")
        if sep and key.strip() == "lang" and value.strip().strip("'\"") in ("zh", "en"):
            lang = value.strip().strip("'\"")
    return lang


def _note_params_files(paths, overrides=()) -> None:
    """`note_params_lang` for the params files a command reads: their ``lang`` if they agree on one."""
    langs = {params_file_lang(p, overrides) for p in paths}
    if len(langs) == 1:
        note_params_lang(langs.pop())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="honorcalc")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, envvar="HONORCALC_LANG",
              help="Language of messages and of files written (default: the params file's lang, else zh).")
def cli(lang):
    """Compute and audit the red and black lists (红黑榜) of a civilized-city campaign.

    \b
    Start with the demo city:
      honorcalc demo data/demo          # write a demo dataset
      honorcalc run params/demo.yaml    # run its report; prints where the HTML is

    Exit codes: 0 success, 2 bad input or parameters, 1 a failed check or a bug.
    """
    _LANG["explicit"] = lang


@cli.command()
@click.argument("params_file", metavar="PARAMS.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", metavar="KEY=VALUE", multiple=True,
              help="Override a parameter, e.g. --set weights.field=0.6 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder that receives the run folder <round>/<run_id>/ (annual: <year>-annual/<run_id>/).")
def run(params_file, overrides, out):
    """Run the report of one round, or of a year: validate, execute the notebook, write a run folder.

    PARAMS.yaml names the dataset (relative to the file) and the round; with
    `report: annual`, the year up to that round. Every other rule number has a
    default (see the README). Prints the path of report.html.
    """
    from .runs.folder import run_report

    _note_params_files([params_file], overrides)
    result = run_report(params_file, overrides, out=out, progress=sys.stderr.isatty())
    click.echo(str(result.html))


@cli.command()
@click.argument("directory", required=False, default="data/demo", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="Overwrite the <table>.csv files of a folder that is not empty, or an existing workbook.")
def demo(directory, force):
    """Write the bundled demo city (about 150 units, one year of rounds) to DIRECTORY, or as one workbook.

    DIRECTORY defaults to data/demo (CSV files, one per table). A name ending in .xlsx
    (data/demo.xlsx, which params/demo.yaml runs) gets the city as an office keeps it:
    one workbook, Chinese sheets and headers, one wide score sheet per round. A folder
    that is not empty, or a workbook that exists, is refused without --force; nothing is
    ever written through a symbolic link.
    """
    from .datasets.demo import write_demo, write_demo_workbook

    if directory.suffix.lower() == ".xlsx":
        click.echo(str(write_demo_workbook(directory, force=force)))
        return
    paths = write_demo(directory, force=force)
    for path in paths:
        click.echo(str(path))


@cli.command()
@click.argument("dataset", metavar="DATASET", type=click.Path(path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="List every problem, however many (default: the first 200).")
def check(dataset, show_all):
    """Check a dataset without running a report, listing every problem at once.

    DATASET is a dataset folder, one workbook (测评数据.xlsx), or a params file
    (its dataset is checked). Exit 0 when the data are ready, 2 when not.
    """
    from .data.check import check_dataset

    if dataset.suffix.lower() in (".yaml", ".yml"):
        _note_params_files([dataset])
    outcome = check_dataset(dataset, lang=message_lang(), limit=None if show_all else 200)
    click.echo(outcome.text)
    if not outcome.ok:
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
@click.argument("path", metavar="FILE.xlsx", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE.xlsx if it exists.")
def template(path, force):
    """Write a blank workbook to fill in Excel or WPS: one sheet per table and a sheet of instructions.

    Chinese sheet names and headers (English with --lang en), drop-down lists for
    every column with fixed values. A workbook filled in as the instructions say runs as it is:
    name it as the dataset in a params file (dataset: 测评数据.xlsx).
    """
    from .data.template import write_template

    click.echo(str(write_template(path, lang=message_lang(), force=force)))


@cli.command()
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("unit_id")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the explanation (default: the run's).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def explain(run_dir, unit_id, lang, as_json):
    """Explain how UNIT_ID got its score, rank and list in the run RUN_DIR (an annual run: its year)."""
    from .explain.values import inert_json, inert_text
    from .runs.recorded import explain_in_run

    text = explain_in_run(run_dir, unit_id, lang=lang, as_json=as_json)
    # names come from the data: escape sequences and right-to-left overrides are shown, not obeyed
    click.echo(inert_json(text) if as_json else inert_text(text))


@cli.command()
@click.argument("run_dir", metavar="RUN_DIR", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--ledger", "ledger", type=click.Path(dir_okay=False, path_type=Path),
              help="Also check a ledger of published lists (or only it, without RUN_DIR).")
@click.option("--head", metavar="SHA256",
              help="With --ledger: the head hash printed when the last list was published.")
def verify(run_dir, ledger, head):
    """Check a run, a ledger, or both.

    \b
    RUN_DIR: outputs untouched, inputs unchanged, and the tables recomputed from
             the run's recorded inputs and parameters are byte-identical.
    --ledger: every entry's hash and the chain of hashes are intact.
    Both: also the run is the one published: its manifest.json has the sha256
          the ledger recorded, and the round and lists are the ledger's.
    Exit 0 when everything matches; exit 1 naming each difference.
    """
    from .runs.ledger import chain_problems, read_ledger
    from .runs.verify import check_run, published_problems

    if run_dir is None and ledger is None:
        raise click.UsageError("give RUN_DIR, --ledger LEDGER, or both")
    problems = []
    check = None
    if run_dir is not None:
        check = check_run(run_dir)
        problems += check.problems
    if ledger is not None:
        if not ledger.exists():
            raise InputError("ledger not found", file=ledger)
        entries = read_ledger(ledger)
        problems += [f"{ledger}: {p}" for p in chain_problems(entries, head=head)]
        if check is not None:
            problems += [f"{ledger}: {p}" for p in published_problems(check, entries)]
    if problems:
        for problem in problems:
            click.echo(("DIFFERS: " if message_lang() == "en" else "不一致：")
                       + localize_message(problem, message_lang()))
        sys.exit(1)
    checked = " and ".join(str(x) for x in (run_dir, ledger) if x is not None)
    click.echo(f"OK: {checked} verified" if message_lang() == "en" else f"核验通过：{checked}")


@cli.command()
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ledger", type=click.Path(dir_okay=False, path_type=Path),
              help="Ledger file (default: ledger/<city>.jsonl).")
@click.option("--supersede", is_flag=True, help="Replace a round that is already published.")
@click.option("--reason", help="Why the published list is replaced (required with --supersede).")
def publish(run_dir, ledger, supersede, reason):
    """Append the round's red and black lists to the city's hash-chained ledger.

    The run must verify first. Prints the new entry's hash: quote it with the
    published notice, so that a ledger cut short can be detected later
    (honorcalc verify --ledger LEDGER --head HASH).
    """
    from .runs.publish import default_ledger, publish_run

    entry = publish_run(run_dir, ledger, supersede=supersede, reason=reason)
    path = ledger or default_ledger(entry["city"])
    click.echo(f"published {entry['round_id']} as entry {entry['seq']} of {path}")
    click.echo(f"head sha256: {entry['entry_sha256']}")


@cli.command()
@click.argument("run_a", type=click.Path(file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def diff(run_a, run_b, as_json):
    """Show what changed between two runs: parameters, inputs, ranks and lists."""
    from .runs.diff import diff_runs

    result = diff_runs(run_a, run_b)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else result["text"])


@cli.command()
@click.argument("params_files", metavar="PARAMS.yaml...", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", metavar="KEY=VALUE", multiple=True,
              help="Override a parameter in every run (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder that receives the run folders.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Runs at once (default: the number of CPUs).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on Dask distributed: 'local' for a LocalCluster on this machine, "
                   "or a scheduler address such as tcp://10.0.0.5:8786.")
def batch(params_files, overrides, out, jobs, scheduler):
    """Run many rounds, cities or scenarios in parallel, each into its own run folder.

    Every params file is checked before anything runs. Prints one line per run;
    exit 0 when all succeed, 2 when some had bad input, 1 when some failed otherwise.
    """
    from .runs.batch import run_batch

    _note_params_files(params_files, overrides)
    outcomes = run_batch(params_files, overrides, out=out, jobs=jobs, scheduler=scheduler,
                         progress=sys.stderr.isatty())
    zh = message_lang() == "zh"
    for outcome in outcomes:
        if outcome.ok:
            click.echo(f"{'完成' if zh else 'OK    '} {outcome.task.params_file} → {outcome.html}")
        elif zh:
            click.echo(f"失败 {outcome.task.params_file}：{localize_message(outcome.error)}")
        else:
            click.echo(f"FAILED {outcome.task.params_file}: {outcome.error}")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        sys.exit(EXIT_BAD_INPUT if all(o.bad_input for o in failed) else 1)


def _terminated(signum, frame) -> None:
    """SIGTERM (a scheduler, `kill`, a closed session) unwinds like Ctrl-C: nothing half-written stays."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn honorcalc's errors into exit codes."""
    import signal

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> None:
    _LANG.update(explicit=None, params=None)  # in-process callers (tests) run several commands
    try:
        cli.main(args=argv, prog_name="honorcalc", standalone_mode=False)
    except click.exceptions.Abort as abort:
        # click turns Ctrl-C (and SIGTERM, see `_terminated`) into Abort; a run under way has removed its folder
        interrupted = isinstance(abort.__cause__ or abort.__context__, KeyboardInterrupt)
        _say("Interrupted; nothing was written." if interrupted else "Aborted.", argv)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as err:
        _show_click_error(err, argv)
        sys.exit(err.exit_code)
    except InputError as err:
        click.echo(localize_error(err, message_lang()), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        _say("Interrupted; nothing was written.", argv)
        sys.exit(EXIT_INTERRUPTED)
    except HonorcalcError as err:
        click.echo(localize_error(err, message_lang()), err=True)
        sys.exit(1)
    except MemoryError:
        # the fairness analysis sizes its simulations before it starts; anything else that runs
        # out of memory ends here, with what to do rather than a traceback
        lang = _usage_lang(argv)
        click.echo(error_prefix(lang) + localize_message(
            "the computation ran out of memory; nothing was written. Lower the fairness "
            "simulation sizes (fairness.replicates, fairness.null_cities, fairness.permutations) "
            "or run on a machine with more memory.", lang), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    sys.exit(0)


def _say(line: str, argv: list[str] | None) -> None:
    click.echo(localize_message(line, _usage_lang(argv)), err=True)


def _usage_lang(argv: list[str] | None) -> str:
    """The language for an error that may come before the group's ``--lang`` was applied (usage, Ctrl-C)."""
    if _LANG["explicit"] is None:
        args = list(sys.argv[1:] if argv is None else argv)
        for k, arg in enumerate(args):
            value = arg.partition("=")[2] if arg.startswith("--lang=") else (
                args[k + 1] if arg == "--lang" and k + 1 < len(args) else None)
            if value in ("zh", "en"):
                return value
            if not arg.startswith("-"):
                break  # the command's name: a --lang after it is the command's own
        if os.environ.get("HONORCALC_LANG") in ("zh", "en"):
            return os.environ["HONORCALC_LANG"]
    return message_lang()


def _show_click_error(err: click.ClickException, argv: list[str] | None) -> None:
    """click's own error (a usage error, a missing file) in the user's language."""
    lang = _usage_lang(argv)
    if lang == "en":
        err.show()
        return
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.UsageError) and ctx is not None:
        usage = ctx.get_usage()
        usage = "用法：" + usage[len("Usage:"):].lstrip() if usage.startswith("Usage:") else usage
        help_names = ctx.command.get_help_option_names(ctx)
        hint = f"帮助：{ctx.command_path} {max(help_names, key=len)}\n" if help_names else ""
        click.echo(f"{usage}\n{hint}", err=True)
    click.echo(localize_error(err, lang), err=True)
