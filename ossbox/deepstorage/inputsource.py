"""Druid's `oss` input source for ingestion tools: which objects to read, each readable as a stream.

Exactly one of `uris` (`oss://bucket/key`), `prefixes` (`oss://bucket/prefix`) or `objects`
(`{"bucket":..,"path":..}`) is given. Prefixes are listed 1000 keys a page, skipping directory placeholders
(`dir/` or `dir_$folder$` of size 0) and empty objects; uris and objects are taken as given, as Druid does.
`filter` is Druid's wildcard (commons-io wildcardMatch on the key: `*` any run of characters, `?` one);
`objectGlob`, the newer spelling, is a Java glob on the key (`*` within a path segment, `**` across, `?`,
`[abc]`, `{a,b}`). Either one applies to every way of naming objects.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from ossbox.deepstorage.client import OssClients, list_objects
from ossbox.deepstorage.errors import InputSourceError, SegmentFormatError
from ossbox.deepstorage.pinned import open_pinned

SCHEME = "oss"


@dataclass(frozen=True)
class CloudObjectLocation:
    bucket: str
    path: str

    @classmethod
    def from_uri(cls, uri: str) -> CloudObjectLocation:
        parts = urlsplit(uri)
        if parts.scheme != SCHEME:
            raise InputSourceError(f"{uri!r}: expected an {SCHEME}:// URI")
        if not parts.netloc:
            raise InputSourceError(f"{uri!r}: no bucket")
        return cls(parts.netloc, parts.path.lstrip("/"))

    @property
    def uri(self) -> str:
        return f"{SCHEME}://{self.bucket}/{self.path}"


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """commons-io FilenameUtils.wildcardMatch, case-sensitive: `*` any characters, `?` exactly one."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL
    )


def glob_regex(pattern: str) -> re.Pattern[str]:
    """java.nio's `glob:` syntax over `/`-separated paths."""
    out: list[str] = []
    i, depth = 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise InputSourceError(f"objectGlob {pattern!r}: unclosed '['")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        raise InputSourceError(f"objectGlob {pattern!r}: unclosed '{{'")
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class OssEntity:
    """One object to ingest."""

    clients: OssClients
    location: CloudObjectLocation
    size: int | None  # None when named directly (uris/objects): not looked up until opened

    def open(self, offset: int = 0) -> BinaryIO:
        """The raw bytes from `offset`, one object version (ETag-pinned ranged reads)."""
        bucket, key = self.location.bucket, self.location.path
        handle = self.clients.bucket(bucket)
        head = self.clients.call(f"head {self.location.uri}", lambda: handle.head_object(key), bucket, key)
        size = int(head.content_length or 0)
        if size == 0:
            return io.BytesIO(b"")
        return open_pinned(self.clients, bucket, key, head.etag, min(max(offset, 0), size), size)

    def open_decompressed(self) -> BinaryIO:
        """Decompressed by extension, like Druid's CompressionUtils.decompress (.gz .bz2 .xz, zip entry 1)."""
        path = self.location.path
        raw = self.open()
        if path.endswith(".gz"):
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        if path.endswith(".bz2"):
            return bz2.BZ2File(raw, "rb")  # type: ignore[return-value]
        if path.endswith(".xz"):
            return lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
        if path.endswith(".zip"):
            try:
                zf = zipfile.ZipFile(raw)
            except zipfile.BadZipFile as e:
                raise SegmentFormatError(f"{self.location.uri} is not a zip archive: {e}") from None
            names = zf.namelist()
            return zf.open(names[0]) if names else io.BytesIO(b"")  # type: ignore[return-value]
        if path.endswith((".zst", ".sz", ".lz4")):
            raise InputSourceError(f"{self.location.uri}: this compression is not supported by ossbox")
        return raw


class OssInputSource:
    def __init__(
        self,
        clients: OssClients,
        *,
        uris: Iterable[str] | None = None,
        prefixes: Iterable[str] | None = None,
        objects: Iterable[Mapping[str, str] | CloudObjectLocation] | None = None,
        filter: str | None = None,
        object_glob: str | None = None,
        max_listing_length: int = 1000,
    ) -> None:
        given = [name for name, v in (("uris", uris), ("prefixes", prefixes), ("objects", objects)) if v]
        if len(given) != 1:
            raise InputSourceError("exactly one of uris, prefixes or objects must be specified")
        if filter and object_glob:
            raise InputSourceError("give filter or objectGlob, not both")
        if not 1 <= max_listing_length <= 1000:
            raise InputSourceError("maxListingLength must be within [1, 1000]")
        self.clients = clients
        self.uris = [CloudObjectLocation.from_uri(u) for u in uris] if uris else None
        self.prefixes = [CloudObjectLocation.from_uri(p) for p in prefixes] if prefixes else None
        self.objects = [self._object(o) for o in objects] if objects else None
        pattern = wildcard_regex(filter) if filter else glob_regex(object_glob) if object_glob else None
        self._pattern = pattern
        self.max_listing_length = max_listing_length

    @staticmethod
    def _object(o: Mapping[str, str] | CloudObjectLocation) -> CloudObjectLocation:
        if isinstance(o, CloudObjectLocation):
            return o
        bucket, path = o.get("bucket"), o.get("path")
        if not bucket or path is None:
            raise InputSourceError(f"object {dict(o)!r} needs 'bucket' and 'path'")
        return CloudObjectLocation(bucket, path.lstrip("/"))

    @classmethod
    def from_spec(cls, clients: OssClients, spec: Mapping[str, Any]) -> OssInputSource:
        """From Druid's JSON: `{"type":"oss","uris":[..]|"prefixes":[..]|"objects":[..],"filter":..}`."""
        if spec.get("type", SCHEME) != SCHEME:
            raise InputSourceError(f"input source type is {spec.get('type')!r}, expected 'oss'")
        return cls(
            clients,
            uris=spec.get("uris"),
            prefixes=spec.get("prefixes"),
            objects=spec.get("objects"),
            filter=spec.get("filter"),
            object_glob=spec.get("objectGlob"),
        )

    def _matches(self, path: str) -> bool:
        return self._pattern is None or self._pattern.fullmatch(path) is not None

    def entities(self) -> Iterator[OssEntity]:
        if self.prefixes is not None:
            for prefix in self.prefixes:
                for info in list_objects(self.clients, prefix.bucket, prefix.path, self.max_listing_length):
                    if info.size == 0:
                        continue  # empty objects, which include the `dir/` and `dir_$folder$` placeholders
                    if self._matches(info.key):
                        yield OssEntity(self.clients, CloudObjectLocation(prefix.bucket, info.key), info.size)
            return
        for location in self.uris or self.objects or []:
            if self._matches(location.path):
                yield OssEntity(self.clients, location, None)

    def __iter__(self) -> Iterator[OssEntity]:
        return self.entities()
