"""Opening a SPAN file: regular files only, plain XML, ``.gz`` or ``.zip`` (recognised by magic bytes).

Archives are read as streams; what they inflate to is bounded by
:class:`~spanlike.spn.reading.limits.ReadLimits` and every archive fault
(bad header, bad CRC, truncated stream, a member whose declared size lies,
an encrypted member) becomes an :class:`~spanlike.errors.InputFileError`
naming the file and what is wrong with the archive.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Callable

from spanlike.params.errors import InputFileError
from spanlike.spn.reading.limits import RATIO_FREE_BYTES, ReadLimits

#: what a damaged gzip or zip stream raises while it is read (zipfile raises OSError for a
#: bad seek and RuntimeError for an encrypted member; gzip/zlib their own errors)
_ARCHIVE_ERRORS = (gzip.BadGzipFile, zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                   NotImplementedError)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "another kind of file"


def _open_source(path: Path, limits: ReadLimits = ReadLimits()) -> tuple[IO[bytes], int | None, Callable[[], int]]:
    """Open ``path`` as a binary stream of XML, decompressing .gz/.zip.

    Returns the stream, the number of bytes to expect (None if unknown) and
    a function giving the bytes consumed so far on that scale. Only regular
    files are read (after symlinks are resolved): a FIFO would block and a
    device such as ``/dev/zero`` never ends.
    """
    try:
        info = os.stat(path)  # follows symlinks: the target decides
    except FileNotFoundError:
        raise InputFileError(
            f"Cannot open SPAN file '{path}': it does not exist. Give the path of a .spn, .gz or .zip file."
        ) from None
    except OSError as exc:
        raise InputFileError(f"Cannot open SPAN file '{path}': {exc.strerror or exc}.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(
            f"Cannot open SPAN file '{path}': it is not a regular file but {_kind(info.st_mode)}. "
            "Give the path of a .spn, .gz or .zip file."
        )
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise InputFileError(f"Cannot open SPAN file '{path}': {exc.strerror or exc}.") from exc
    magic = raw.read(4)
    raw.seek(0)
    size = os.fstat(raw.fileno()).st_size
    if magic.startswith(b"PK\x03\x04"):
        try:
            archive = zipfile.ZipFile(raw)
            members = [i for i in archive.infolist() if not i.is_dir()]
            spn = [i for i in members if i.filename.lower().endswith(".spn")]
            if not spn:
                raise InputFileError(
                    f"SPAN file '{path}' is a zip archive without a .spn member "
                    f"(members: {[i.filename for i in members][:10]}). Pass the .spn file or a zip holding one."
                )
            member = spn[0]
            if member.flag_bits & 0x1:
                raise InputFileError(
                    f"SPAN file '{path}': zip member '{member.filename}' is encrypted. Decrypt the archive "
                    "(or extract the .spn file) and pass the plain file."
                )
            if member.file_size > limits.max_inflated_bytes:
                raise InputFileError(
                    f"SPAN file '{path}': zip member '{member.filename}' declares {member.file_size:,} bytes, "
                    f"more than max_inflated_bytes={limits.max_inflated_bytes:,}. Raise the limit on purpose "
                    "with read_spn(..., max_inflated_bytes=N) if the file is genuine."
                )
            stream = archive.open(member)
        except InputFileError:
            raw.close()
            raise
        except _ARCHIVE_ERRORS as exc:
            raw.close()
            raise InputFileError(f"SPAN file '{path}' is a damaged zip archive: {exc}. Fetch the file again.") from None
        counter = _CountingReader(stream, path, "zip", limits, raw.tell, (archive, raw))
        return counter, member.file_size, lambda: counter.count
    if magic.startswith(b"\x1f\x8b"):
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
        return _CountingReader(stream, path, "gzip", limits, raw.tell, (raw,)), size, raw.tell
    counter = _CountingReader(raw, path, None, limits, lambda: 0)
    return counter, size, lambda: counter.count


class _CountingReader(io.RawIOBase):
    """Counts bytes read from a binary stream (decompressed bytes for archives).

    For an archive (``kind`` "gzip" or "zip") it also turns the archive's own errors into
    :class:`InputFileError` and refuses to inflate past the limits; ``compressed()`` gives the
    compressed bytes consumed so far.
    """

    def __init__(
        self, stream: IO[bytes], path: Path, kind: str | None, limits: ReadLimits, compressed: Callable[[], int],
        also_close: tuple[Any, ...] = (),
    ) -> None:
        self._also_close = also_close
        self._stream = stream
        self._path = path
        self._kind = kind
        self._limits = limits
        self._compressed = compressed
        self.count = 0

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        if self._kind is None:
            data = self._stream.read(n)
            self.count += len(data)
            return data
        try:
            data = self._stream.read(n)
        except _ARCHIVE_ERRORS as exc:
            what = str(exc) or type(exc).__name__
            if isinstance(exc, EOFError):
                what = f"the compressed stream ends early ({what})"
            raise InputFileError(
                f"SPAN file '{self._path}' is a damaged {self._kind} archive after {self.count:,} inflated bytes: "
                f"{what}. Fetch the file again."
            ) from None
        self.count += len(data)
        limits = self._limits
        if self.count > limits.max_inflated_bytes:
            raise InputFileError(
                f"SPAN file '{self._path}' inflates past max_inflated_bytes={limits.max_inflated_bytes:,} bytes; "
                "refused as a likely decompression bomb. Raise the limit on purpose with "
                "read_spn(..., max_inflated_bytes=N) if the file is genuine."
            )
        if self.count > RATIO_FREE_BYTES:
            ratio = self.count / max(self._compressed(), 1)
            if ratio > limits.max_inflation_ratio:
                raise InputFileError(
                    f"SPAN file '{self._path}' inflates {ratio:,.0f} times (past max_inflation_ratio="
                    f"{limits.max_inflation_ratio:g}; SPAN XML compresses 10 to 30 times): refused as a likely "
                    "decompression bomb. Raise the limit on purpose with read_spn(..., max_inflation_ratio=X) "
                    "if the file is genuine."
                )
        return data

    def close(self) -> None:
        self._stream.close()
        for other in self._also_close:
            other.close()
        super().close()
