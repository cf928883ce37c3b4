"""The report as one self-contained HTML page: inline CSS, figures as base64 PNG data URIs, no script.

Its Content-Security-Policy allows nothing but inline styles and ``data:`` images, so the page cannot
reach the network even by mistake (a browser would refuse and log it). Every cell holding a number
from a CSV carries ``data-run``, ``data-source``, ``data-row``, ``data-columns``, ``data-op`` and
``data-format``, so the number can be checked against its file.
"""
from __future__ import annotations

import base64
from html import escape

from repro.report.document import Block, Bullets, Cell, Figure, Paragraph, Report, Table

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2330;
       margin: 0 auto; max-width: 1180px; padding: 0 24px 48px; }
h1 { font-size: 26px; margin: 28px 0 6px; } h2 { font-size: 21px; margin-top: 40px;
     border-bottom: 2px solid #d8dde6; padding-bottom: 4px; }
.lead { color: #4a5263; } nav ol { columns: 2; color: #4a5263; }
p.warning { background: #fff4e0; border-left: 5px solid #e08a00; padding: 8px 12px; font-weight: 600; }
p.absent { color: #6b7280; font-style: italic; }
div.table-block { overflow-x: auto; margin: 18px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #d8dde6; padding: 3px 7px; vertical-align: top; }
th { background: #eef1f6; text-align: left; } td.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #f8f9fb; }
ul.notes { font-size: 13px; color: #3b4252; margin: 6px 0 0; }
figure { margin: 22px 0; } figure img { max-width: 100%; border: 1px solid #e3e7ee; }
figcaption { font-size: 13px; color: #3b4252; } code { font-size: 12px; }
"""


def _cell(cell: Cell) -> str:
    attrs = ' class="num"' if cell.numeric else ""
    if cell.origin is not None:
        o = cell.origin
        attrs += (f' data-run="{escape(o.run)}" data-source="{escape(o.source)}" '
                  f'data-row="{o.row}" data-columns="{escape(" ".join(o.columns))}" '
                  f'data-op="{o.op}" data-format="{o.fmt}"')
    return f"<td{attrs}>{escape(cell.text)}</td>"


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in table.rows)
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.notes)
    return (f'<div class="table-block" id="{escape(table.id)}">\n'
            f'<table data-table="{escape(table.id)}"><caption>{escape(table.caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>\n"
            + (f'<ul class="notes">{notes}</ul>\n' if notes else "") + "</div>")


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png.read_bytes()).decode("ascii")
    files = ", ".join(f"<code>{escape(f)}</code>" for f in figure.files)
    return (f'<figure id="{escape(figure.id)}"><img data-figure="{escape(figure.id)}" '
            f'alt="{escape(figure.caption)}" src="data:image/png;base64,{data}">\n'
            f"<figcaption>{escape(figure.caption)} Files: {files}.</figcaption></figure>")


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f'<p class="{block.kind}">{escape(block.text)}</p>'
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        return _table(block)
    return _figure(block)


def to_html(report: Report) -> str:
    """The whole page."""
    toc = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in report.sections)
    body = "\n".join(f'<section id="{escape(s.id)}">\n<h2>{escape(s.title)}</h2>\n'
                     + "\n".join(_block(b) for b in s.blocks) + "\n</section>"
                     for s in report.sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(report.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f'<header><h1>{escape(report.title)}</h1>\n<p class="lead">{escape(report.lead)}</p>\n'
            f"<nav><ol>{toc}</ol></nav></header>\n<main>\n{body}\n</main>\n</body>\n</html>\n")
