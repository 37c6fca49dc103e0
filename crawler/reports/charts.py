"""Charts for the digest and the periodic report: matplotlib (Agg), PNG as base64 for data: URIs,
so each document is one self-contained file with nothing fetched from anywhere."""

from __future__ import annotations

import base64
import io


def font() -> list[str]:
    from matplotlib import font_manager

    wanted = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei")
    present = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in wanted if name in present] + ["DejaVu Sans"]


def digest_charts(trend: dict[str, object], lang: str) -> dict[str, str]:
    """PNG charts as base64 data (for data: URIs): per day by area, and the week comparison."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = font()
    plt.rcParams["axes.unicode_minus"] = False
    images = {}
    days, per_day = trend["days"], trend["per_day"]
    figure, axis = plt.subplots(figsize=(9, 3.2), dpi=110)
    bottom = [0] * len(days)
    for area, counts in sorted(per_day.items()):
        values = [counts.get(d, 0) for d in days]
        axis.bar([d.strftime("%m-%d") for d in days], values, bottom=bottom, label=area)
        bottom = [b + v for b, v in zip(bottom, values)]
    axis.set_title("每日新增可疑商品（按类别，近30天）" if lang == "zh" else "New suspects per day by area (30 days)")
    axis.tick_params(axis="x", labelrotation=60, labelsize=7)
    if per_day:
        axis.legend(fontsize=7, ncol=3)
    images["per_day"] = png(figure)
    periods = trend["periods"]
    figure, axis = plt.subplots(figsize=(5, 3), dpi=110)
    labels = ["本周", "上周", "去年同期"] if lang == "zh" else ["this week", "last week", "last year"]
    values = [periods["this_week"], periods["last_week"], periods["last_year"]]
    axis.bar(labels, values, color=["#c0392b", "#e67e22", "#7f8c8d"])
    for x, value in enumerate(values):
        axis.annotate(str(value), (x, value), ha="center", va="bottom")
    axis.set_title("本周、上周与去年同期" if lang == "zh" else "This week, last week, same week last year")
    images["periods"] = png(figure)
    return images


def png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def report_charts(spans: dict[str, str], table: list[tuple], by_area: list[tuple]) -> dict[str, str]:
    """The periodic report's charts: its figures against the previous period and the same period
    last year, and suspects by area for the three."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = font()
    plt.rcParams["axes.unicode_minus"] = False
    images = {}
    colours = ("#c0392b", "#e67e22", "#7f8c8d")
    names = (spans["now"], spans["previous"], spans["last_year"])
    figure, axis = plt.subplots(figsize=(8, 3.2), dpi=110)
    width = 0.26
    for i, (column, name) in enumerate(zip((1, 2, 4), names)):
        axis.bar([x + (i - 1) * width for x in range(len(table))], [row[column] for row in table], width,
                 label=name, color=colours[i])
    axis.set_xticks(range(len(table)), [row[0] for row in table], fontsize=8)
    axis.legend(fontsize=7)
    axis.set_title("本期与上期、去年同期")
    images["figures"] = png(figure)
    figure, axis = plt.subplots(figsize=(8, 3.2), dpi=110)
    for i, name in enumerate(names):
        axis.bar([x + (i - 1) * width for x in range(len(by_area))], [row[1 + i] for row in by_area], width,
                 label=name, color=colours[i])
    axis.set_xticks(range(len(by_area)), [row[0] for row in by_area], fontsize=8, rotation=20)
    axis.legend(fontsize=7)
    axis.set_title("按类别的可疑商品")
    images["by_area"] = png(figure)
    return images
