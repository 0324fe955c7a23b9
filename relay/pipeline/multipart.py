"""A small multipart/form-data reader over a body already in memory (RFC 7578).

It finds the parts and their names without copying file contents, so a route can read the
few text fields it needs (model, n, size...) and send the body upstream as it came, or with
one text field replaced, never re-encoding the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


class MultipartError(ValueError):
    """The body is not the multipart/form-data its Content-Type says."""


@dataclass(frozen=True, slots=True)
class Part:
    """One part: its form name, filename (None for a text field), content type, and where
    it lies in the body (`start:end` is the whole part, headers and CRLF included; the
    content is `body[content_start:end]`)."""

    name: str
    filename: str | None
    content_type: str
    start: int
    content_start: int
    end: int


@dataclass(frozen=True, slots=True)
class Form:
    body: bytes
    boundary: bytes
    parts: tuple[Part, ...]

    def value(self, name: str) -> str | None:
        """The first text field called `name` (decoded as UTF-8), or None."""
        for part in self.parts:
            if part.name == name and part.filename is None:
                return self.content(part).decode("utf-8", "replace")
        return None

    def files(self, name: str) -> list[Part]:
        return [p for p in self.parts if p.name == name and p.filename is not None]

    def content(self, part: Part) -> bytes:
        return self.body[part.content_start : part.end]

    def with_field(self, name: str, value: str) -> bytes:
        """The body with every `name` text field removed and one `name=value` put first."""
        field = (
            b"--" + self.boundary + b"\r\n"
            b'Content-Disposition: form-data; name="' + _quote(name) + b'"\r\n\r\n'
            + value.encode() + b"\r\n"
        )  # fmt: skip
        out = [self.body[: self.parts[0].start] if self.parts else b"", field]
        cursor = self.parts[0].start if self.parts else 0
        for part in self.parts:
            if part.name == name and part.filename is None:
                out.append(self.body[cursor : part.start])
                cursor = part.end + 2  # the part and the CRLF before the next delimiter
        out.append(self.body[cursor:])
        return b"".join(out)


def _quote(name: str) -> bytes:
    return name.replace("\\", "\\\\").replace('"', '\\"').encode()


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type, or None for any other type."""
    msg = Message()
    msg["content-type"] = content_type
    if msg.get_content_type() != "multipart/form-data":
        return None
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 200:
        return None
    return boundary.encode("latin-1", "replace")


def _headers(raw: bytes) -> tuple[str, str | None, str]:
    msg = Message()
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep:
            raise MultipartError("a part header has no colon")
        msg[key.strip()] = value.strip()
    if msg.get_content_disposition() != "form-data":
        raise MultipartError("a part is not form-data")
    name = msg.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise MultipartError("a part has no name")
    filename = msg.get_filename()
    content_type = msg.get("content-type", "text/plain" if filename is None else "")
    return name, filename, str(content_type)


def parse(content_type: str, body: bytes) -> Form:
    """Split a multipart/form-data body into its parts; raises MultipartError."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise MultipartError("Content-Type is not multipart/form-data with a boundary")
    delimiter = b"--" + boundary
    pos = body.find(delimiter)
    if pos == -1:
        raise MultipartError("no multipart boundary in the body")
    parts: list[Part] = []
    while True:
        after = pos + len(delimiter)
        if body[after : after + 2] == b"--":
            return Form(body, boundary, tuple(parts))
        line_end = body.find(b"\r\n", after)
        if line_end == -1 or body[after:line_end].strip(b" \t"):
            raise MultipartError("a boundary line is malformed")
        head_end = body.find(b"\r\n\r\n", line_end + 2)
        if head_end == -1:
            raise MultipartError("a part's headers never end")
        content_start = head_end + 4
        following = body.find(b"\r\n" + delimiter, content_start - 2)
        if following == -1:
            raise MultipartError("the body ends before the closing boundary")
        name, filename, ctype = _headers(body[line_end + 2 : head_end])
        end = max(following, content_start)
        parts.append(Part(name, filename, ctype, pos, content_start, end))
        pos = following + 2
