"""Slide-ready PNG charts of an outreach report (1920x1080, large type, Indonesian labels).

Why this shape: a facilitator drops these straight into a presentation, so each chart says one
thing with a plain title. Only disclosed figures are drawn (``storage.outreach.disclose``): a
suppressed bar is left out and labelled "< 5" instead, so a chart never shows a small group.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from storage.measurement import FUNNEL_STEPS  # noqa: E402
from storage.outreach import (  # noqa: E402
    ALL_CHANNELS,
    MIN_GROUP,
    PRIVACY_NOTE,
    RATING_SCORES,
    STEP_LABELS,
    OutreachFigures,
    Stat,
    disclose,
    disclose_text,
)

WIDTH_IN, HEIGHT_IN, DPI = 12.8, 7.2, 150  # 1920 x 1080 pixels
CHANNEL_LABELS = {ALL_CHANNELS: "Semua", "telegram": "Telegram", "whatsapp": "WhatsApp", "sms": "SMS", "rest": "Web"}
DARK_BLUE = "#0B2A5B"
ORANGE = "#D55E00"  # distinguishable from the blue for colour-blind viewers (Okabe-Ito)
SKY = "#56B4E9"
STYLE = {
    "font.size": 18,
    "axes.titlesize": 26,
    "axes.titleweight": "bold",
    "axes.labelsize": 20,
    "xtick.labelsize": 18,
    "ytick.labelsize": 18,
    "legend.fontsize": 18,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def channel_label(name: str) -> str:
    return CHANNEL_LABELS.get(name, name.capitalize())


def _subtitle(figures: OutreachFigures) -> str:
    period = f"{figures.start:%d-%m-%Y} s.d. {figures.end:%d-%m-%Y}"
    if figures.event is not None:
        return f"{figures.event.name} ({figures.event.code}), {period}"
    return f"Semua percakapan, {period}"


def _new_figure(figures: OutreachFigures, title: str, note: str = "", note_colour: str = "black"):
    """Title, subtitle (event and period) and an optional key message, stacked above the axes."""
    figure, axes = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    figure.suptitle(title, fontsize=28, fontweight="bold", x=0.02, ha="left", y=0.97)
    figure.text(0.02, 0.875, _subtitle(figures), fontsize=18, ha="left", va="center")
    if note:
        figure.text(0.02, 0.82, note, fontsize=20, fontweight="bold", ha="left", va="center", color=note_colour)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.text(0.02, 0.015, PRIVACY_NOTE, fontsize=13, ha="left", va="bottom", color="#333333")
    return figure, axes


def _save(figure, path: Path, left: float = 0.08, top: float = 0.77) -> Path:
    figure.subplots_adjust(left=left, right=0.96, top=top, bottom=0.16)
    figure.savefig(path, dpi=DPI, facecolor="white")
    plt.close(figure)
    return path


def _label_bars(axes, bars, stats: Sequence[Stat], horizontal: bool, scale: float) -> None:
    """Each bar gets its disclosed value; a withheld bar (not drawn) still gets "< 5" at its place."""
    for bar, stat in zip(bars, stats):
        text = disclose_text(stat)
        colour = "black" if disclose(stat) is not None else "#555555"
        if horizontal:
            axes.text(bar.get_width() + scale * 0.01, bar.get_y() + bar.get_height() / 2, text,
                      va="center", ha="left", fontsize=18, fontweight="bold", color=colour)
        else:
            axes.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + scale * 0.01, text,
                      va="bottom", ha="center", fontsize=18, fontweight="bold", color=colour)


def _values(stats: Sequence[Stat]) -> List[float]:
    return [float(disclose(stat) or 0) for stat in stats]


def _scale(axes, values: Sequence[float], stats: Sequence[Stat]) -> float:
    """The axis runs at least to the privacy threshold, so a "< 5" label sits below a visible 5;
    when every figure is withheld the chart says so instead of looking empty."""
    if not any(disclose(stat) is not None for stat in stats):
        axes.text(0.5, 0.55, f"Semua kelompok kurang dari {MIN_GROUP} orang:\nangka tidak ditampilkan.",
                  transform=axes.transAxes, ha="center", va="center", fontsize=22, color="#333333")
    return max(list(values) + [float(MIN_GROUP)])


def funnel_chart(figures: OutreachFigures, path: Path) -> Path:
    """How many conversations reached each step, top to bottom, and where most people stopped."""
    worst = figures.total.most_given_up_step
    note = ""
    if disclose(worst) is not None:
        lost = figures.total.gave_up_at[worst.raw]
        note = f"Paling banyak berhenti sebelum: {disclose_text(worst)} ({disclose_text(lost)} percakapan)"
    with plt.rc_context(STYLE):
        figure, axes = _new_figure(figures, "Sampai mana orang melapor", note, ORANGE)
        stats = [figures.total.reached[step] for step in FUNNEL_STEPS]
        values = _values(stats)
        scale = _scale(axes, values, stats)
        positions = list(range(len(FUNNEL_STEPS)))[::-1]
        # The step most people did not reach is orange, matching the note above the chart.
        colours = [ORANGE if note and step == worst.raw else DARK_BLUE for step in FUNNEL_STEPS]
        bars = axes.barh(positions, values, color=colours, height=0.7)
        axes.set_yticks(positions)
        axes.set_yticklabels([STEP_LABELS[step] for step in FUNNEL_STEPS])
        axes.set_xlabel("Jumlah percakapan")
        axes.set_xlim(0, scale * 1.15)
        _label_bars(axes, bars, stats, horizontal=True, scale=scale)
        return _save(figure, path, left=0.25)


def _grouped_bars(figures: OutreachFigures, path: Path, title: str, ylabel: str,
                  series: Dict[str, str], colours: Sequence[str]) -> Path:
    with plt.rc_context(STYLE):
        figure, axes = _new_figure(figures, title)
        columns = list(figures.columns)
        width = 0.8 / len(series)
        everything: List[float] = []
        every_stat: List[Stat] = []
        drawn = []
        for index, (attribute, label) in enumerate(series.items()):
            stats = [getattr(figures.columns[name], attribute) for name in columns]
            values = _values(stats)
            everything += values
            every_stat += stats
            offsets = [position + (index - (len(series) - 1) / 2) * width for position in range(len(columns))]
            drawn.append((axes.bar(offsets, values, width=width * 0.95, color=colours[index], label=label), stats))
        scale = _scale(axes, everything, every_stat)
        for bars, stats in drawn:
            _label_bars(axes, bars, stats, horizontal=False, scale=scale)
        axes.set_xticks(range(len(columns)))
        axes.set_xticklabels([channel_label(name) for name in columns])
        axes.set_ylabel(ylabel)
        axes.set_ylim(0, scale * 1.12)
        # Above the axes, not inside: a tall bar on the right must never hide behind it.
        axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=len(series), frameon=False)
        return _save(figure, path)


def channel_chart(figures: OutreachFigures, path: Path) -> Path:
    return _grouped_bars(
        figures, path, "Percakapan dan laporan per saluran", "Jumlah",
        {"started": "Percakapan dimulai", "filed": "Laporan terkirim"}, (SKY, DARK_BLUE),
    )


def accessibility_chart(figures: OutreachFigures, path: Path) -> Path:
    return _grouped_bars(
        figures, path, "Bantuan aksesibilitas per saluran", "Jumlah percakapan",
        {"voice": "Memakai pesan suara", "simple_language": "Memakai bahasa sederhana"}, (DARK_BLUE, ORANGE),
    )


def satisfaction_chart(figures: OutreachFigures, path: Path) -> Path:
    satisfaction = figures.total.satisfaction_after_filing
    note = f"Rata-rata: {disclose_text(satisfaction.mean)}    Jumlah penilaian: {disclose_text(satisfaction.ratings)}"
    with plt.rc_context(STYLE):
        figure, axes = _new_figure(figures, "Kepuasan setelah melapor", note)
        stats = [satisfaction.distribution[score] for score in RATING_SCORES]
        values = _values(stats)
        scale = _scale(axes, values, stats)
        bars = axes.bar(list(RATING_SCORES), values, color=DARK_BLUE, width=0.6)
        axes.set_xticks(list(RATING_SCORES))
        _label_bars(axes, bars, stats, horizontal=False, scale=scale)
        axes.set_xlabel("Nilai (1 = sangat tidak puas, 5 = sangat puas)")
        axes.set_ylabel("Jumlah penilaian")
        axes.set_ylim(0, scale * 1.15)
        return _save(figure, path)


def write_charts(figures: OutreachFigures, out_dir: Path, stem: str) -> List[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        funnel_chart(figures, out_dir / f"{stem}-corong.png"),
        channel_chart(figures, out_dir / f"{stem}-saluran.png"),
        accessibility_chart(figures, out_dir / f"{stem}-aksesibilitas.png"),
        satisfaction_chart(figures, out_dir / f"{stem}-kepuasan.png"),
    ]
