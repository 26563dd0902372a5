"""The outreach report as a printed table and a CSV file, from ``storage.outreach`` figures.

Why it exists: the facilitator needs the same numbers in a terminal, in a spreadsheet and on
slides. Every cell comes from ``OutreachFigures.rows()``, which passes each figure through the
privacy gate; nothing here reads a raw value.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import List

from bot.outreach.charts import channel_label
from storage.outreach import PRIVACY_NOTE, OutreachFigures


def header_lines(figures: OutreachFigures) -> List[str]:
    lines = [f"Laporan manfaat SapaLapor, {figures.start:%d-%m-%Y} s.d. {figures.end:%d-%m-%Y}"]
    if figures.event is not None:
        event = figures.event
        lines.append(f"Acara: {event.name} ({event.code}), {event.place}, {event.event_date:%d-%m-%Y}, "
                     f"sasaran: {event.target_group}")
    lines.append(f"Ditinggalkan: tidak ada langkah selama {figures.idle_minutes} menit "
                 f"(dihitung {figures.computed_at:%d-%m-%Y %H:%M} UTC)")
    return lines


def format_table(figures: OutreachFigures) -> str:
    columns = list(figures.columns)
    rows = figures.rows()
    labels = [label for _key, label, _cells in rows]
    label_width = max(len(label) for label in labels + ["Ukuran"])
    widths = [max(len(channel_label(column)), *(len(cells[column]) for _k, _l, cells in rows)) for column in columns]

    def line(first: str, cells: List[str]) -> str:
        return "  ".join([first.ljust(label_width)] + [cell.rjust(width) for cell, width in zip(cells, widths)])

    out = header_lines(figures) + [""]
    out.append(line("Ukuran", [channel_label(column) for column in columns]))
    out.append("-" * len(out[-1]))
    for _key, label, cells in rows:
        out.append(line(label, [cells[column] for column in columns]))
    out += ["", PRIVACY_NOTE]
    return "\n".join(out)


def write_csv(figures: OutreachFigures, path: Path) -> Path:
    """One row per measure, one column per channel ("semua" first): opens in any spreadsheet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(figures.columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ukuran", "keterangan", *columns])
        for key, label, cells in figures.rows():
            writer.writerow([key, label, *(cells[column] for column in columns)])
    return path


def file_stem(figures: OutreachFigures) -> str:
    stem = f"outreach-{figures.start:%Y%m%d}-{figures.end:%Y%m%d}"
    return f"{stem}-{figures.event.code}" if figures.event is not None else stem
