"""Reading archived reports into the official template's numbers (国办公开办函〔2021〕30号 and 〔2019〕60号).

Layers inside, each usable alone: ``formats`` turns a file's bytes into a ``Document`` (its paragraphs
and its tables as grids, in reading order, whatever the format); ``template`` finds the template's
sections and tables in a Document and reads their cells under fixed keys; ``checks`` tests those
cells against the template's own arithmetic. ``parse()`` does all three; the parse queue's consumer
(``parsing.queue``) runs it on archived bodies and records the result in the catalog.
"""

from __future__ import annotations

from parsing.reading import Reading

#: Recorded with every result: ``nianbao parse run --reparse`` parses again what an older version read.
#: Raise it whenever a change can change a result.
PARSER_VERSION = 2


def parse(body: bytes, content_type: str | None = None, name: str | None = None) -> Reading:
    """Read a file's bytes as a report: its format, template, year, agency, sections, cells and checks.

    Raises parsing.document.Unreadable (naming why) for a file no reader can open."""
    from parsing.checks import check
    from parsing.formats import read
    from parsing.template import read_template

    reading = read_template(read(body, content_type, name))
    reading.checks = check(reading.cells, reading.template)
    return reading
