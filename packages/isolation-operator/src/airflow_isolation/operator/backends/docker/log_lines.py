"""Lines out of a container's output, which arrives in chunks that may cut lines (and UTF-8
sequences) anywhere."""

from __future__ import annotations

import codecs
from typing import Iterable, Iterator, List


class LineSplitter:
    """Feed chunks, get whole lines (without their line ends); ``finish`` returns what is left."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> List[str]:
        self._pending += self._decoder.decode(chunk)
        *lines, self._pending = self._pending.split("\n")
        return [line.rstrip("\r") for line in lines]

    def finish(self) -> List[str]:
        rest = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return [rest.rstrip("\r")] if rest else []


def split_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    splitter = LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.finish()
