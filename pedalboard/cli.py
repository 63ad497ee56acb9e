"""The ``pedal`` command (also ``python -m pedalboard``).

Subcommands that pull in heavy modules (the circuit compiler, the engine, the
web server) load only when used, so ``pedal ctl status`` answers at once.
User errors print one line and exit non-zero; no traceback reaches a user
(set ``PEDAL_DEBUG=1`` to see one).
"""

from __future__ import annotations

import gc
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from pedalboard.errors import PedalError

# Typer 0.20 and later carry a click of their own (``typer._click``) whose
# exceptions are not click's; catch both, whichever typer is installed.
_USAGE_ERRORS: tuple[type[Exception], ...] = tuple(
    {click.ClickException, getattr(typer, "TyperException", click.ClickException)})
_EXITS: tuple[type[BaseException], ...] = tuple({click.exceptions.Exit, typer.Exit})
_ABORTS: tuple[type[BaseException], ...] = tuple({click.exceptions.Abort, typer.Abort})

#: Subcommand groups and commands that live in other modules: name -> (module, attribute, help).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "circuit": ("pedalboard.circuit.cli", "app", "Inspect, render and verify SPICE netlists."),
    "ctl": ("pedalboard.control.ctl", "app", "Control a running pedal."),
    "run": ("pedalboard.control.run", "app", "Start the pedal: engine, controls, web service."),
}


class LazyGroup(TyperGroup):
    """A click group whose listed subcommands import their module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def _available(self) -> list[str]:
        found = []
        for name, (module, _, _) in LAZY_COMMANDS.items():
            try:
                if importlib.util.find_spec(module) is not None:
                    found.append(name)
            except ModuleNotFoundError:
                continue
        return found

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name in self._available():
            module_name, attribute, _ = LAZY_COMMANDS[name]
            target = getattr(importlib.import_module(module_name), attribute)
            command = typer.main.get_command(target) if isinstance(target, typer.Typer) else target
            command.name = name
            return command
        return super().get_command(ctx, name)


app = typer.Typer(
    cls=LazyGroup,
    help="A networked guitar-effects pedal: circuits, chains, live engine, phone control, streaming.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _console(plain: bool = False) -> Any:
    """A rich console on stderr; ``plain``: the same lines without colour (and
    without importing rich), for ``-q``."""
    if plain:
        return _PlainConsole()
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


class _PlainConsole:
    """Prints console markup (``[red]error:[/] ...``) as plain text on stderr."""

    _TAG = re.compile(r"\[/?[a-z ]*\]")

    def print(self, text: str, **_: Any) -> None:
        sys.stderr.write(self._TAG.sub("", text) + "\n")
        sys.stderr.flush()


@app.command()
def render(
    inputs: Annotated[list[Path], typer.Argument(help="Audio files, or folders of them, to render.",
                                                 show_default=False)],
    preset: Annotated[str, typer.Option("--preset", "-p", help="Factory preset id or preset .json file.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (one input).")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Output folder (any number of inputs).")
    ] = None,
    sample_rate: Annotated[
        int | None, typer.Option("--sample-rate", help="Resample to this rate (soxr).")
    ] = None,
    tail: Annotated[str, typer.Option(help="'auto' (until silent), 'none', or seconds.")] = "auto",
    normalize: Annotated[
        float | None, typer.Option("--normalize", help="Normalise the peak to this dBFS.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override a parameter: SLOT_ID.PARAM=VALUE.")] = [],  # noqa: B006
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0,
                                      help="Files rendered at once in a batch (0: one per CPU).")] = 1,
) -> None:
    """Render audio files through a preset's chain (WAV, FLAC, OGG, AIFF).

    A folder stands for the audio files in it. In a batch a file that fails is
    reported and skipped; the others are rendered and the exit code says so."""
    from pedalboard.presets import parameter_override, read_preset

    inputs = _expand_inputs(inputs)
    if (output is None) == (out_dir is None):
        raise PedalError("give either -o OUTPUT (one input) or --out-dir DIR")
    if output is not None and len(inputs) != 1:
        raise PedalError(f"-o takes one input, got {len(inputs)}; use --out-dir for several")
    if tail not in ("auto", "none"):
        try:
            float(tail)
        except ValueError:
            raise PedalError(f"--tail {tail!r}: use 'auto', 'none' or a number of seconds") from None
    if out_dir is not None and not out_dir.is_dir():
        raise PedalError(f"--out-dir {out_dir}: no such folder")
    chosen = read_preset(preset)
    if set_:
        chosen = parameter_override(chosen, dict(_assignment(text) for text in set_))
    targets = [(src, output if output is not None else out_dir / src.name) for src in inputs]
    _check_distinct_outputs(targets)
    console = _console(plain=quiet)
    options = {"sample_rate": sample_rate, "tail": tail, "normalize_dbfs": normalize}
    workers = min(len(targets), jobs if jobs > 0 else (os.cpu_count() or 1))
    if workers > 1:
        failed = _render_in_parallel(chosen, targets, options, workers, console, quiet)
    else:
        failed = _render_one_by_one(chosen, targets, options, console, quiet)
    if failed:
        raise PedalError(f"{len(failed)} of {len(targets)} files failed: {', '.join(failed)}")


class _NoProgress:
    """What ``-q`` gets instead of a rich progress bar (which it need not import)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def update(self, task: int, **fields: Any) -> None:
        return None

    def advance(self, task: int, advance: float = 1) -> None:
        return None

    def remove_task(self, task: int) -> None:
        return None


def _progress(console: Any, quiet: bool) -> Any:
    if quiet:
        return _NoProgress()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                    console=console, disable=quiet, transient=True)


def _report(console: Any, src: Path, result: Any) -> None:
    console.print(
        f"{src} -> {result.output}  ({result.duration_s:.2f} s, {result.sample_rate} Hz, "
        f"{result.channels} ch, peak {result.peak_dbfs:+.1f} dBFS)"
    )
    if result.clipped:
        console.print(
            f"[yellow]warning:[/] {result.output} peaks at {result.peak_dbfs:+.1f} dBFS "
            "and will clip; try --normalize -1"
        )


def _render_one_by_one(preset: Any, targets: list[tuple[Path, Path]], options: dict[str, Any],
                       console: Any, quiet: bool) -> list[str]:
    """Render in this process, with a bar per file; returns the names that failed."""
    from pedalboard.presets import build_chain
    from pedalboard.render import render_file

    failed: list[str] = []
    with _progress(console, quiet) as bar:
        for src, dst in targets:
            task = bar.add_task(src.name, total=1)
            try:
                result = render_file(
                    build_chain(preset), src, dst, **options,
                    progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
                )
            except PedalError as error:
                if len(targets) == 1:
                    raise
                console.print(f"[red]error:[/] {error}", highlight=False)
                failed.append(src.name)
                continue
            finally:
                bar.remove_task(task)
            _report(console, src, result)
    return failed


def _render_in_parallel(preset: Any, targets: list[tuple[Path, Path]], options: dict[str, Any],
                        workers: int, console: Any, quiet: bool) -> list[str]:
    """Render whole files in worker processes (the chain is one thread per
    file; several files use several cores). The bar counts files."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    failed: list[str] = []
    data = preset.model_dump(mode="json", exclude_none=True)
    # spawn, not fork: the progress bar runs a thread, and a forked child
    # would inherit its locks mid-flight.
    context = multiprocessing.get_context("spawn")
    with _progress(console, quiet) as bar, ProcessPoolExecutor(workers, mp_context=context) as pool:
        task = bar.add_task(f"{len(targets)} files, {workers} at a time", total=len(targets))
        futures = {pool.submit(_render_worker, data, src, dst, options): src for src, dst in targets}
        for future in as_completed(futures):
            src = futures[future]
            bar.advance(task)
            try:
                result = future.result()
            except PedalError as error:
                console.print(f"[red]error:[/] {error}", highlight=False)
                failed.append(src.name)
                continue
            _report(console, src, result)
    return sorted(failed)


def _render_worker(preset_data: dict[str, Any], src: Path, dst: Path, options: dict[str, Any]) -> Any:
    """One file in a worker process (PedalErrors travel back pickled)."""
    from pedalboard.presets import build_chain, parse_preset
    from pedalboard.render import render_file

    return render_file(build_chain(parse_preset(preset_data)), src, dst, **options)


#: What a folder given to ``pedal render`` contributes.
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".w64", ".caf", ".au", ".mp3"}


def _expand_inputs(inputs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES
                           and p.is_file() and not p.name.startswith("."))
            if not found:
                raise PedalError(f"{item}: no audio files in this folder "
                                 f"({', '.join(sorted(AUDIO_SUFFIXES))})")
            files += found
        else:
            files.append(item)
    return files


def _check_distinct_outputs(targets: list[tuple[Path, Path]]) -> None:
    seen: dict[Path, Path] = {}
    for src, dst in targets:
        key = dst.resolve()
        if key in seen and seen[key].resolve() != src.resolve():
            raise PedalError(f"{seen[key]} and {src} would both be written to {dst}")
        seen[key] = src


def _assignment(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or "." not in key:
        raise PedalError(f"--set {text!r}: expected SLOT_ID.PARAM=VALUE")
    return key.strip(), _parse_value(raw.strip())


def _parse_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "on", "yes"):
        return True
    if lowered in ("false", "off", "no"):
        return False
    try:
        return float(raw)
    except ValueError:
        return raw


@app.command()
def presets() -> None:
    """List the factory presets."""
    from rich.console import Console
    from rich.table import Table

    from pedalboard.presets import factory_presets

    table = Table("id", "name", "chain")
    for preset_id, preset in factory_presets().items():
        chain = " > ".join(getattr(n, "effect", "parallel") for n in preset.chain)
        table.add_row(preset_id, preset.name, chain)
    Console().print(table)


@app.command()
def effects(name: Annotated[str | None, typer.Argument(help="Show one effect's parameters.")] = None) -> None:
    """List the builtin effects, or one effect's parameters."""
    from rich.console import Console
    from rich.table import Table

    from pedalboard.effects.registry import effect_class, effect_names

    console = Console()
    if name is None:
        table = Table("effect", "parameters")
        for effect in effect_names():
            table.add_row(effect, ", ".join(p.name for p in effect_class(effect).PARAMS))
        console.print(table)
        return
    cls = effect_class(name)
    table = Table("parameter", "default", "range", "taper")
    for p in cls.PARAMS:
        table.add_row(p.name, str(p.default), p.range_text(), p.taper if p.kind == "float" else "")
    console.print(table)


@app.command()
def demo(
    preset: Annotated[
        str, typer.Option("--preset", "-p", help="Factory preset id or .json file.")
    ] = "crunch",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Render the bundled demo guitar clip through a preset and say where it is."""
    from pedalboard.presets import build_chain, read_preset
    from pedalboard.render import render_file

    source = demo_clip()
    target = output or Path("out") / f"demo-{Path(preset).stem}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    result = render_file(build_chain(read_preset(preset)), source, target)
    typer.echo(
        f"Rendered the demo clip through '{preset}': {result.output.resolve()} "
        f"({result.duration_s:.1f} s, peak {result.peak_dbfs:+.1f} dBFS)"
    )


def demo_clip() -> Path:
    """The bundled demo guitar clip."""
    from importlib import resources

    return Path(str(resources.files("pedalboard") / "data" / "demo_guitar.flac"))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and an exit code."""
    try:
        _main(argv)
    finally:
        if argv is None:  # the program itself, about to exit
            # The interpreter's last garbage collections would walk every object
            # numba, scipy and pydantic made at import (a third of a second of
            # exit): leave them to the operating system.
            gc.freeze()


def _main(argv: list[str] | None) -> None:
    command = typer.main.get_command(app)
    try:
        # Outside standalone mode click returns (not raises) a typer.Exit's code.
        code = command.main(args=argv, prog_name="pedal", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except PedalError as error:
        _console().print(f"[red]error:[/] {error}", highlight=False, markup=True)
        sys.exit(error.exit_code)
    except _ABORTS:
        sys.exit(130)
    except _EXITS as done:
        sys.exit(getattr(done, "exit_code", 0))
    except _USAGE_ERRORS as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            _console().print(f"[red]error:[/] {error}", highlight=False, markup=True)
        sys.exit(getattr(error, "exit_code", 2))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # the last line of defence: one line, not a traceback
        if os.environ.get("PEDAL_DEBUG"):
            raise
        _console().print(
            f"[red]internal error:[/] {type(error).__name__}: {error} (set PEDAL_DEBUG=1 for details)",
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
