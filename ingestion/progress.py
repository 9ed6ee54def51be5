"""Live progress lines (rows done, rate, ETA) and one-screen summaries for long commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import TextIO


def human(n: float) -> str:
    for unit in ("", "k", "M", "G"):
        if abs(n) < 1000:
            return f"{n:.0f}{unit}" if unit == "" else f"{n:.1f}{unit}"
        n /= 1000
    return f"{n:.1f}T"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Redraws one status line on a terminal; prints a line every few seconds elsewhere."""

    def __init__(
        self,
        label: str,
        total: float | None = None,
        unit: str = "rows",
        stream: TextIO | None = None,
        quiet: bool = False,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0.0
        self.extra = ""
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.quiet = quiet
        self.started = time.monotonic()
        self._last = 0.0
        self._interval = 0.2 if self.tty else 5.0

    def advance(self, n: float = 1, extra: str | None = None) -> None:
        self.done += n
        if extra is not None:
            self.extra = extra
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._draw()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        parts = [f"{self.label}: {human(self.done)}"]
        if self.total:
            pct = 100.0 * self.done / self.total
            parts[0] += f"/{human(self.total)} {self.unit} ({pct:.0f}%)"
        else:
            parts[0] += f" {self.unit}"
        parts.append(f"{human(self.rate)} {self.unit}/s")
        if self.total and self.rate > 0 and self.done < self.total:
            parts.append(f"ETA {duration((self.total - self.done) / self.rate)}")
        parts.append(duration(self.elapsed))
        if self.extra:
            parts.append(self.extra)
        return " | ".join(parts)

    def _draw(self) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K" + self.line() + "\n")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


def summary(title: str, rows: Iterable[Sequence[object]], stream: TextIO | None = None) -> str:
    """A boxed key/value table, printed and returned."""
    table: list[tuple[str, ...]] = [tuple(str(c) for c in r) for r in rows]
    width = [max((len(r[i]) for r in table if len(r) > i), default=0) for i in range(4)]
    lines = [title, "=" * max(len(title), 20)]
    for r in table:
        cells = [c.ljust(width[i]) if i < len(r) - 1 else c for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    text = "\n".join(lines)
    print(text, file=stream or sys.stdout, flush=True)
    return text
