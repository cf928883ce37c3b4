"""The report as Markdown: the same sections and tables as the HTML, figures linked by relative path.

:func:`grid` is the one pipe-table renderer: the Markdown files beside the results CSVs use it too.
"""
from __future__ import annotations

from tabulate import tabulate

from repro.report.document import Block, Bullets, Figure, Paragraph, Report, Table


def _escape(text: str) -> str:
    """Cell text safe inside a pipe table."""
    return text.replace("|", "\\|").replace("\n", " ")


def grid(table: Table) -> str:
    """The pipe table of ``table`` (no caption, no notes); numbers aligned right."""
    # disable_numparse: tabulate would otherwise re-format numbers already formatted by the report
    numeric = [bool(table.rows) and all(row[i].numeric for row in table.rows)
               for i in range(len(table.header))]
    return tabulate([[_escape(c.text) for c in row] for row in table.rows],
                    headers=[_escape(h) for h in table.header], tablefmt="pipe",
                    disable_numparse=True, colalign=["right" if n else "left" for n in numeric])


def _table(table: Table) -> str:
    notes = "".join(f"\n- {n}" for n in table.notes)
    return f"**{table.caption}**\n\n{grid(table)}\n{notes}".rstrip()


def _figure(figure: Figure) -> str:
    files = ", ".join(f"`{f}`" for f in figure.files)
    return f"![{figure.caption}]({figure.files[0]})\n\n*{figure.caption}* Files: {files}."


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return {"warning": f"> **{block.text}**", "absent": f"_{block.text}_"}.get(block.kind,
                                                                                 block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Table):
        return _table(block)
    return _figure(block)


def to_markdown(report: Report) -> str:
    """The whole report as Markdown."""
    parts = [f"# {report.title}", report.lead,
             "Contents: " + "; ".join(s.title for s in report.sections) + "."]
    for section in report.sections:
        parts.append(f"## {section.title}")
        parts += [_block(b) for b in section.blocks]
    return "\n\n".join(parts) + "\n"
