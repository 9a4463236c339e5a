"""Page images (photographed or scanned reports, scanned PDFs rasterised by the PDF reader) read by OCR.

RapidOCR (PaddleOCR's models on onnxruntime, shipped in the wheel, so it runs offline) gives text
boxes; the tables are rebuilt from the page's own ruling lines, because the template's tables are
ruled grids and the rules, not the spacing of the text, say which cell a number belongs to — a
blank cell then stays blank instead of shifting its neighbours. Pages without rules fall back to
rows by y and columns by x. Text is kept exactly as recognised: a "O" in a number column is not
made a 0 here, the template's checks are what flag it.
"""

from __future__ import annotations

import bisect
import io
import os
import statistics
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from parsing.document import Document, Table, Unreadable
from parsing.formats.limits import (
    MAX_IMAGE_PIXELS,
    MAX_OCR_PAGES,
    MAX_PAGE_BOXES,
    MAX_PAGE_REREADS,
    MAX_TABLE_CELLS,
    PAGE_NUMBER,
    is_cjk,
    scale_for,
)

#: A recognised piece scoring below this is noise (RapidOCR's own default threshold).
MIN_SCORE = 0.5

_lock = threading.Lock()
_engine: tuple[int, object] | None = None  # (pid, RapidOCR): loading the models takes a second; one per process


@dataclass
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    score: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass
class Grid:
    """A ruled table found on a page: its rule positions and which grid cells form one (merged) cell."""

    xs: list[float]
    ys: list[float]
    #: (row, column) → index of the merged cell it belongs to.
    cell_of: dict[tuple[int, int], int]
    boxes: dict[int, list[Box]] = field(default_factory=dict)

    def locate(self, x: float, y: float) -> tuple[int, int] | None:
        i, j = bisect.bisect(self.ys, y) - 1, bisect.bisect(self.xs, x) - 1
        return (i, j) if 0 <= i < len(self.ys) - 1 and 0 <= j < len(self.xs) - 1 else None

    @cached_property
    def _extents(self) -> dict[int, tuple[int, int, int, int]]:
        """Each cell's first and last row and column, found in one pass once its cells are final (a scan
        through ``cell_of`` for each cell would be quadratic in a grid's cells)."""
        extents: dict[int, tuple[int, int, int, int]] = {}
        for (i, j), cell in self.cell_of.items():
            top, left, bottom, right = extents.get(cell, (i, j, i, j))
            extents[cell] = (min(top, i), min(left, j), max(bottom, i), max(right, j))
        return extents

    def rect(self, cell: int) -> tuple[float, float, float, float]:
        top, left, bottom, right = self._extents[cell]
        return self.xs[left], self.ys[top], self.xs[right + 1], self.ys[bottom + 1]


@dataclass
class PageTable:
    """A table as read from one page, with what stitching it to the next page's table needs."""

    table: Table
    xs: list[float]
    scores: list[float]


def recognise(pages: Iterable[bytes], format: str) -> Document:
    """Page images (PNG, JPEG, TIFF — every page of a multi-page one — or BMP) as one Document.

    Pages are decoded and read one at a time (an iterable may make each only when asked), at most
    ``MAX_OCR_PAGES`` of them. ``confidence`` is the mean recognition score of every piece of text kept;
    each table has its own."""
    document = Document(format, pages=0)
    scores: list[float] = []
    previous: PageTable | None = None  # the table that ended the page before, which this page may continue
    for number, image in enumerate(_images(pages, document.notes), 1):
        document.pages = number
        image, angle = straighten(image)
        if angle:
            document.notes.append(f"page {number} turned {angle:+.2f}° to straighten its rules")
        blocks, page_scores = read_page(image, number, document.notes)
        scores += page_scores
        first = next((b for b in blocks if not _is_page_number(b)), None)
        if previous is not None and isinstance(first, PageTable) and _continues(previous, first):
            _stitch(previous, first)
            document.notes.append(f"a table on page {previous.table.pages[0]} continues on page {number}: stitched")
            blocks = [previous if b is first else b for b in blocks]
        document.blocks += [b.table if isinstance(b, PageTable) else b for b in blocks if b is not previous]
        tables = [k for k, b in enumerate(blocks) if isinstance(b, PageTable)]
        ends_page = bool(tables) and all(_is_page_number(b) for b in blocks[tables[-1] + 1:])
        previous = blocks[tables[-1]] if ends_page else None
    document.confidence = statistics.fmean(scores) if scores else None
    return document


def _images(pages: Iterable[bytes], notes: list[str]) -> Iterator[np.ndarray]:
    """Each page of each image, decoded only when its turn comes and only if its header's size is within
    bounds (a PNG of a few hundred KB can declare 20,000 × 20,000 white pixels), scaled to at most
    ``MAX_PAGE_PIXELS``."""
    count = 0
    for number, body in enumerate(pages, 1):
        for frame in range(_frames(body, number)):
            if count == MAX_OCR_PAGES:
                notes.append(f"only the first {MAX_OCR_PAGES} pages are read by OCR; the rest are left out")
                return
            pixels = np.frombuffer(body, np.uint8)
            ok, decoded = cv2.imdecodemulti(pixels, cv2.IMREAD_UNCHANGED, range=(frame, frame + 1))
            if not ok or not decoded:
                raise Unreadable(f"page {number} is not a PNG, JPEG, TIFF or BMP image (it begins {body[:8]!r})")
            count += 1
            yield _scaled(_on_white(decoded[0]))


def _frames(body: bytes, number: int) -> int:
    """How many pages an image holds, each checked against ``MAX_IMAGE_PIXELS`` from its header alone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(body))
            frames = getattr(image, "n_frames", 1)
            for frame in range(frames):
                image.seek(frame)
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise Unreadable(f"page {number} is an image of {width} × {height} pixels, more than the "
                                     f"{MAX_IMAGE_PIXELS} a scan can need")
    except Image.DecompressionBombError as e:
        raise Unreadable(f"page {number} is an image of more than {MAX_IMAGE_PIXELS} pixels ({e})") from e
    except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError) as e:
        raise Unreadable(f"page {number} is not a PNG, JPEG, TIFF or BMP image (it begins {body[:8]!r})") from e
    return frames


def _scaled(image: np.ndarray) -> np.ndarray:
    scale = scale_for(image.shape[1], image.shape[0])
    if scale == 1.0:
        return image
    size = (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _on_white(image: np.ndarray) -> np.ndarray:
    """8-bit BGR whatever was stored: grey scans, 16-bit TIFFs, and PNGs whose transparent background
    would otherwise turn black under black text."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:].astype(np.float32) / 255
        return (image[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return image


def straighten(image: np.ndarray) -> tuple[np.ndarray, float]:
    """A scan turned so that its long horizontal rules are level, and by how many degrees (0 if it
    was level or has none). Rules are found at their nominal rows and columns: 1° over a 1,600 px
    table moves a rule by 28 px, more than a cell is high."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)
    width = image.shape[1]
    runs = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(1, width // 50), 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs)
    angles = []
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if w >= width // 4 and h <= 0.1 * w:  # a long rule, however slanted
            ys, xs = np.nonzero(labels[y:y + h, x:x + w] == label)
            angles.append(float(np.degrees(np.arctan(np.polyfit(xs, ys, 1)[0]))))
    angle = statistics.median(angles) if angles else 0.0
    if not 0.1 <= abs(angle) <= 5:
        return image, 0.0
    turn = cv2.getRotationMatrix2D((width / 2, image.shape[0] / 2), angle, 1.0)
    level = cv2.warpAffine(image, turn, (width, image.shape[0]), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    return level, angle


@dataclass
class _Rereads:
    """Regions of one page still to be recognised again alone (each is a recogniser call, ~20 ms)."""

    left: int = MAX_PAGE_REREADS

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def read_page(image: np.ndarray, number: int, notes: list[str]) -> tuple[list[str | PageTable], list[float]]:
    """One page's paragraphs and tables, top to bottom, and the scores of the text kept; what was left
    out to stay within bounds is noted."""
    boxes = _ocr_page(image)
    if len(boxes) > MAX_PAGE_BOXES:
        notes.append(f"page {number}: {len(boxes)} pieces of text, only the {MAX_PAGE_BOXES} surest kept")
        boxes = sorted(sorted(boxes, key=lambda b: -b.score)[:MAX_PAGE_BOXES], key=lambda b: (b.y0, b.x0))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    unit = statistics.median(b.y1 - b.y0 for b in boxes) if boxes else 30.0
    binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)
    grids, lines = find_grids(binary, unit, notes, f"page {number}")
    rereads = _Rereads()
    loose = []
    for box in boxes:
        grid = next((g for g in grids if g.locate(box.cx, box.cy)), None)
        if grid is None:
            loose.append(box)
        else:
            for piece in _split_across_rules(image, grid, box, unit, rereads):
                spot = grid.locate(piece.cx, piece.cy)
                if spot:
                    grid.boxes.setdefault(grid.cell_of[spot], []).append(piece)
                else:
                    loose.append(piece)  # the part outside the table
    if not grids:  # no rules on the page: rows by y, columns by x
        for rows in _unruled_tables(loose, unit):
            if len(rows) * max(len(row) for row in rows) > MAX_TABLE_CELLS:
                notes.append(f"page {number}: {len(rows)} lines of many pieces read as text, not as a table")
                continue
            in_table = {id(b) for row in rows for b in row}
            loose = [b for b in loose if id(b) not in in_table]
            grids.append(_grid_from_rows(rows, unit))
    placed: list[tuple[float, PageTable]] = []
    for grid in grids:
        _read_blank_cells(image, binary & ~lines, grid, unit, rereads)
        placed.append((grid.ys[0], _table(grid, number, len(placed) + 1, unit)))
    if rereads.left < 0:
        notes.append(f"page {number}: only {MAX_PAGE_REREADS} cells read again alone; the rest as first recognised")
    kept = [b.score for b in loose] + [s for _, table in placed for s in table.scores]
    ordered = sorted([*placed, *_paragraphs(loose, unit)], key=lambda item: item[0])
    return [block for _, block in ordered], kept


def find_grids(binary: np.ndarray, unit: float, notes: list[str], where: str) -> tuple[list[Grid], np.ndarray]:
    """The ruled tables on a page, and the mask of their rules.

    Rules are what survives a morphological opening with a long thin kernel: longer than any stroke
    of a character (a text box's height is more than its characters'), shorter than any cell. A ruling
    of more than ``MAX_TABLE_CELLS`` cells (graph paper, a hatched figure) is noted and not read as a table."""
    long_h = max(12, int(1.5 * unit))
    long_v = max(10, int(0.9 * unit))
    horizontal = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (long_h, 1)))
    vertical = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, long_v)))
    rules = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rules)
    grids = []
    tolerance = max(2, int(unit / 6))
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if w < 3 * unit or h < unit:
            continue  # an underline, a dash
        mine = labels[y:y + h, x:x + w] == label
        h_mask = (horizontal[y:y + h, x:x + w] > 0) & mine
        v_mask = (vertical[y:y + h, x:x + w] > 0) & mine
        ys = _rule_positions(h_mask, axis=1, gap=unit / 2)
        xs = _rule_positions(v_mask, axis=0, gap=unit / 2)
        if len(ys) < 2 or len(xs) < 2 or len(ys) + len(xs) < 5:
            continue  # no cell, or a single one: a frame around a heading, not a table
        if (len(ys) - 1) * (len(xs) - 1) > MAX_TABLE_CELLS:
            notes.append(f"{where}: a ruling of {len(ys) - 1} × {len(xs) - 1} cells is not read as a table")
            continue
        cell_of = _merge_cells(h_mask, v_mask, xs, ys, tolerance)
        grids.append(Grid([x + v for v in xs], [y + v for v in ys], cell_of))
    return grids, cv2.dilate(horizontal | vertical, np.ones((5, 5), np.uint8))


def _rule_positions(mask: np.ndarray, axis: int, gap: float) -> list[float]:
    """Where the rules of one direction lie: the rows (axis=1) or columns (axis=0) holding rule pixels,
    neighbouring ones (a thick or slightly skewed rule) taken as one."""
    profile = mask.sum(axis=axis)
    hits = np.flatnonzero(profile)
    positions: list[list[int]] = []
    for hit in hits:
        if positions and hit - positions[-1][-1] <= gap:
            positions[-1].append(int(hit))
        else:
            positions.append([int(hit)])
    return [float(np.average(run, weights=profile[run])) for run in positions]


def _merge_cells(h_mask: np.ndarray, v_mask: np.ndarray, xs: list[float], ys: list[float],
                 tolerance: int) -> dict[tuple[int, int], int]:
    """Grid cells not separated by a rule are one merged cell (union-find over the grid)."""
    parent = {(i, j): (i, j) for i in range(len(ys) - 1) for j in range(len(xs) - 1)}

    def root(spot: tuple[int, int]) -> tuple[int, int]:
        while parent[spot] != spot:
            parent[spot] = parent[parent[spot]]
            spot = parent[spot]
        return spot

    def ruled(mask: np.ndarray, at: float, start: float, end: float, vertical: bool) -> bool:
        lo, hi = int(start) + tolerance, int(end) - tolerance
        if hi <= lo:
            return True
        band = slice(max(0, int(at) - tolerance), int(at) + tolerance + 1)
        strip = mask[lo:hi, band] if vertical else mask[band, lo:hi].T
        return strip.any(axis=1).mean() >= 0.5

    for i, j in parent:
        if j + 1 < len(xs) - 1 and not ruled(v_mask, xs[j + 1], ys[i], ys[i + 1], vertical=True):
            parent[root((i, j + 1))] = root((i, j))
        if i + 1 < len(ys) - 1 and not ruled(h_mask, ys[i + 1], xs[j], xs[j + 1], vertical=False):
            parent[root((i + 1, j))] = root((i, j))
    numbers = {spot: k for k, spot in enumerate(sorted({root(spot) for spot in parent}))}
    return {spot: numbers[root(spot)] for spot in parent}


def _split_across_rules(image: np.ndarray, grid: Grid, box: Box, unit: float, rereads: _Rereads) -> list[Box]:
    """A box the detector drew over a rule read again within each cell it covers, the rule left out:
    two cells' text close together would run into one, and a digit against a rule reads as 13 for 3.
    Kept whole once the page's rereads are spent."""
    i = bisect.bisect(grid.ys, box.cy) - 1
    last = len(grid.xs) - 1
    crossed = [grid.xs[k] for k in range(len(grid.xs)) if box.x0 + 1 < grid.xs[k] < box.x1 - 1
               and (k in (0, last) or grid.cell_of[(i, k - 1)] != grid.cell_of[(i, k)])]
    if not crossed or not rereads.take():
        return [box]
    margin = max(3.0, unit / 8)
    edges = [box.x0 - margin, *crossed, box.x1 + margin]
    pieces = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        lo, hi = lo + margin, hi - margin
        if hi - lo >= 0.4 * unit and (read := _read_crop(image, lo, box.y0, hi, box.y1, unit / 4)):
            pieces.append(Box(lo, box.y0, hi, box.y1, *read))
    return pieces


def _read_blank_cells(image: np.ndarray, ink: np.ndarray, grid: Grid, unit: float, rereads: _Rereads) -> None:
    """Cells where the detector found no text but the page has ink are read again alone: the
    detector misses a lone digit pressed against a rule, and a missed 3 would read as a blank."""
    margin = int(max(3, unit / 8))  # off the rules: a rule's blurred edge read with a 3 makes it 13
    for cell in set(grid.cell_of.values()) - set(grid.boxes):
        x0, y0, x1, y1 = (int(v) for v in grid.rect(cell))
        x0, y0, x1, y1 = x0 + margin, y0 + margin, x1 - margin, y1 - margin
        if x1 <= x0 or y1 <= y0:
            continue
        count, _, stats, _ = cv2.connectedComponentsWithStats(ink[y0:y1, x0:x1])
        marks = [stats[k] for k in range(1, count)
                 if max(stats[k][2], stats[k][3]) >= 0.3 * unit and stats[k][4] >= 0.02 * unit * unit]
        if not marks or not rereads.take():
            continue
        left = x0 + min(m[0] for m in marks)
        top = y0 + min(m[1] for m in marks)
        right = x0 + max(m[0] + m[2] for m in marks)
        bottom = y0 + max(m[1] + m[3] for m in marks)
        pad = unit / 4
        read = _read_crop(image, max(x0, left - pad), max(y0, top - pad), min(x1, right + pad), min(y1, bottom + pad),
                          pad)
        if read:
            grid.boxes[cell] = [Box(left, top, right, bottom, *read)]


def _table(grid: Grid, number: int, index: int, unit: float) -> PageTable:
    texts = {cell: _join_lines(boxes, unit) for cell, boxes in grid.boxes.items()}
    rows = [[texts.get(grid.cell_of[(i, j)], "") for j in range(len(grid.xs) - 1)] for i in range(len(grid.ys) - 1)]
    scores = [b.score for boxes in grid.boxes.values() for b in boxes]
    table = Table(rows, f"page {number}, table {index}", (number,), statistics.fmean(scores) if scores else None)
    return PageTable(table, grid.xs, scores)


def _unruled_tables(boxes: list[Box], unit: float) -> list[list[list[Box]]]:
    """Runs of two or more lines of three or more separate pieces: tables printed without rules."""
    runs: list[list[list[Box]]] = [[]]
    for line in _lines(boxes, unit):
        if len(line) >= 3:
            runs[-1].append(line)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if len(run) >= 2]


def _grid_from_rows(rows: list[list[Box]], unit: float) -> Grid:
    """A grid drawn where the rules would be: columns from the fullest rows' pieces (x intervals that
    overlap taken as one column), rows halfway between lines. A piece wider than one column makes
    the columns it covers one merged cell, as a rule-less header over several columns is."""
    widest = max(len(r) for r in rows)
    bands: list[list[float]] = []
    for box in sorted((b for r in rows if len(r) == widest for b in r), key=lambda b: b.x0):
        if bands and box.x0 <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], box.x1)
        else:
            bands.append([box.x0, box.x1])
    pad = unit / 2
    inner_xs = [(left[1] + right[0]) / 2 for left, right in zip(bands, bands[1:], strict=False)]
    xs = [min(r[0].x0 for r in rows) - pad, *inner_xs, max(r[-1].x1 for r in rows) + pad]
    inner_ys = [(max(b.y1 for b in above) + min(b.y0 for b in below)) / 2
                for above, below in zip(rows, rows[1:], strict=False)]
    ys = [min(b.y0 for b in rows[0]) - pad, *inner_ys, max(b.y1 for b in rows[-1]) + pad]
    grid = Grid(xs, ys, {(i, j): i * len(bands) + j for i in range(len(rows)) for j in range(len(bands))})
    for i, row in enumerate(rows):
        for box in row:
            covered = [j for j in range(len(bands)) if min(xs[j + 1], box.x1) - max(xs[j], box.x0) > unit / 2]
            covered = covered or [min(max(bisect.bisect(xs, box.cx) - 1, 0), len(bands) - 1)]
            cell = grid.cell_of[(i, covered[0])]
            for j in covered[1:]:  # merge: what the other cells held moves into the first
                grid.boxes.setdefault(cell, []).extend(grid.boxes.pop(grid.cell_of[(i, j)], []))
                grid.cell_of[(i, j)] = cell
            grid.boxes.setdefault(cell, []).append(box)
    return grid


def _paragraphs(boxes: list[Box], unit: float) -> list[tuple[float, str]]:
    """Lines joined into paragraphs: a new one starts indented, after a short line or after a gap."""
    lines = _lines(boxes, unit)
    if not lines:
        return []
    left = min(line[0].x0 for line in lines)
    right = max(line[-1].x1 for line in lines)
    paragraphs: list[tuple[float, list[list[Box]]]] = []
    for line in lines:
        if paragraphs:
            last = paragraphs[-1][1][-1]
            starts = (line[0].x0 > left + 1.2 * unit or last[-1].x1 < right - 2 * unit
                      or min(b.y0 for b in line) - max(b.y1 for b in last) > unit)
            if not starts:
                paragraphs[-1][1].append(line)
                continue
        paragraphs.append((min(b.y0 for b in line), [line]))
    return [(top, _join_lines([b for line in group for b in line], unit)) for top, group in paragraphs]


def _lines(boxes: list[Box], unit: float) -> list[list[Box]]:
    """Boxes grouped into lines by their vertical centres, each line left to right."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        if lines and box.cy - statistics.fmean(b.cy for b in lines[-1]) <= unit / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _join_lines(boxes: list[Box], unit: float) -> str:
    """Text of boxes read as lines: Chinese runs on without spaces across a line break or a small gap;
    anything else (two numbers, a number and a word) keeps a space so "12" and "34" never become 1234."""
    text = ""
    for line in _lines(boxes, unit):
        for k, box in enumerate(line):
            wide_gap = k > 0 and box.x0 - line[k - 1].x1 > unit
            if text and (wide_gap or not (is_cjk(text[-1]) or is_cjk(box.text[0]))):
                text += " "
            text += box.text
    return text


def _ocr_page(image: np.ndarray) -> list[Box]:
    result, _ = _recognise(image)
    boxes = []
    for points, text, score in result or []:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        if text.strip() and float(score) >= MIN_SCORE:
            boxes.append(Box(min(xs), min(ys), max(xs), max(ys), text.strip(), float(score)))
    return boxes


def _read_crop(image: np.ndarray, x0: float, y0: float, x1: float, y1: float, pad: float) -> tuple[str, float] | None:
    """Recognition alone (no detection) of one region, on a white margin of ``pad`` (the recogniser
    wants space around text; taking it from the page would take in the rules): text and score, or None."""
    height, width = image.shape[:2]
    crop = image[max(0, int(y0)):min(height, int(y1) + 1), max(0, int(x0)):min(width, int(x1) + 1)]
    if crop.size == 0:
        return None
    border = int(pad)
    crop = cv2.copyMakeBorder(crop, border, border, border, border, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    result, _ = _recognise(crop, use_det=False, use_cls=False)
    if not result:
        return None
    text, score = result[0]
    return (text.strip(), float(score)) if text.strip() and float(score) >= MIN_SCORE else None


def _recognise(image: np.ndarray, **options):
    """This process's engine (loaded on first use, again after a fork), one call at a time."""
    global _engine
    with _lock:
        if _engine is None or _engine[0] != os.getpid():
            from rapidocr_onnxruntime import RapidOCR

            _engine = (os.getpid(), RapidOCR())
        return _engine[1](image, **options)


def _is_page_number(block: str | PageTable) -> bool:
    return isinstance(block, str) and bool(PAGE_NUMBER.match(block))


def _continues(previous: PageTable, table: PageTable) -> bool:
    """A table at the top of a page continues the one that ended the page before when its column rules
    are among that table's (a continuation may merge columns, never add them) and its edges match."""
    tolerance = 0.01 * (previous.xs[-1] - previous.xs[0])
    matched = all(any(abs(x - p) <= tolerance for p in previous.xs) for x in table.xs)
    edges = abs(table.xs[0] - previous.xs[0]) <= tolerance and abs(table.xs[-1] - previous.xs[-1]) <= tolerance
    return matched and edges


def _stitch(previous: PageTable, table: PageTable) -> None:
    """Append a continuation's rows to the table it continues, its columns spread over the earlier grid's."""
    tolerance = 0.01 * (previous.xs[-1] - previous.xs[0])
    columns = [max(k for k, x in enumerate(table.xs[:-1]) if x <= p + tolerance) for p in previous.xs[:-1]]
    previous.table.rows += [[row[k] for k in columns] for row in table.table.rows]
    previous.table.pages = (*previous.table.pages, *table.table.pages)
    pages, rest = previous.table.pages, previous.table.where.partition(",")[2]
    previous.table.where = f"page {pages[0]}–{pages[-1]},{rest}"
    previous.scores += table.scores
    previous.table.confidence = statistics.fmean(previous.scores) if previous.scores else None
