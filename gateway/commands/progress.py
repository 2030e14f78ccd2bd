"""The progress bar of long commands (sync, export, feeds): counts, rate and elapsed time on a
terminal; nothing at all when stderr is not one (cron, `--json` pipelines)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from gateway.commands.common import err


class _Rate(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"– {self.unit}/s")


class Counter:
    """What a command advances: `advance(n, remaining)` after each page."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress = progress
        self.task = task
        self.done = 0

    def __call__(self, n: int, remaining: int | None = None) -> None:
        self.done += n
        total = self.done + remaining if remaining is not None else None
        self.progress.update(self.task, advance=n, total=total)


@contextmanager
def counting(label: str, unit: str = "records", *, enabled: bool = True) -> Iterator[Counter]:
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(unit),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not (enabled and err.is_terminal),
    )
    with progress:
        yield Counter(progress, progress.add_task(label, total=None))
