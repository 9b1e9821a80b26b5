"""The optional visible stamp: the resident's name as the certificate gives it, set in a Japanese font.

pyHanko embeds a subset of an OpenType font (``GlyphAccumulatorFactory``). Debian's fonts-noto-cjk ships the
Japanese faces as a TrueType *collection* (.ttc), which pyHanko's font loader does not open; the Japanese face
is extracted once into a cache file (``ANCHORID_STAMP_FONT`` names another OTF/TTF to use instead).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

from anchorid.common import config

NOTO_CJK_COLLECTION: Final = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
#: Index of "Noto Sans CJK JP" in the collection.
NOTO_CJK_JP_INDEX: Final = 0
FONT_SIZE: Final = 10
_lock = threading.Lock()


class StampUnavailable(Exception):
    """No Japanese font to draw the stamp with."""


@dataclass(frozen=True)
class Stamp:
    """Text lines and where they go (PDF points, lower-left origin) on which page (0-based)."""

    text: str
    box: tuple[int, int, int, int] = (340, 40, 570, 110)
    page: int = 0


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "anchorid" / "fonts"


def font_file() -> Path:
    configured = config.STAMP_FONT.value()
    if configured:
        return Path(configured)
    target = _cache_dir() / "NotoSansCJKjp-Regular.otf"
    with _lock:
        if target.exists():
            return target
        if not NOTO_CJK_COLLECTION.exists():
            raise StampUnavailable("no Japanese font: install fonts-noto-cjk or set ANCHORID_STAMP_FONT")
        from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]

        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        TTCollection(str(NOTO_CJK_COLLECTION)).fonts[NOTO_CJK_JP_INDEX].save(str(temporary))
        temporary.replace(target)
    return target


def style(stamp: Stamp) -> TextStampStyle:
    return TextStampStyle(
        stamp_text=stamp.text,
        text_box_style=TextBoxStyle(
            font=GlyphAccumulatorFactory(str(font_file()), font_size=FONT_SIZE, bcp47_lang_code="ja")
        ),
        border_width=1,
    )
