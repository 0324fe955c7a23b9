from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.pipeline.multipart import MultipartError, boundary_of, parse

CT = "multipart/form-data; boundary=----relayB0undary"
BINARY = bytes(range(256)) + b"\r\n------relayB0undar\r\n--"


def body(*parts: tuple[str, bytes, str | None], boundary: str = "----relayB0undary") -> bytes:
    out = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: image/png\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_fields_and_files_are_found_without_copying() -> None:
    raw = body(("model", b"gpt-image-1", None), ("image[]", BINARY, "a.png"), ("n", b"2", None))
    form = parse(CT, raw)
    assert [p.name for p in form.parts] == ["model", "image[]", "n"]
    assert form.value("model") == "gpt-image-1" and form.value("n") == "2"
    assert form.value("missing") is None
    (image,) = form.files("image[]")
    assert image.filename == "a.png" and image.content_type == "image/png"
    assert form.content(image) == BINARY


def test_with_field_replaces_the_model_and_keeps_the_files_byte_for_byte() -> None:
    raw = body(("prompt", b"a hat", None), ("model", b"old", None), ("image", BINARY, "x.png"))
    rewritten = parse(CT, raw).with_field("model", "new-model")
    again = parse(CT, rewritten)
    assert [p.name for p in again.parts] == ["model", "prompt", "image"]
    assert again.value("model") == "new-model" and again.value("prompt") == "a hat"
    assert again.content(again.files("image")[0]) == BINARY
    # an independent parser reads the same form
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + CT.encode() + b"\r\n\r\n" + rewritten
    )
    payloads = [p.get_payload(decode=True) for p in msg.iter_parts()]  # type: ignore[attr-defined]
    assert payloads == [b"new-model", b"a hat", BINARY]


def test_with_field_adds_a_missing_field() -> None:
    raw = body(("file", b"abc", "a.mp3"))
    form = parse(CT, parse(CT, raw).with_field("model", "whisper-1"))
    assert form.value("model") == "whisper-1" and form.content(form.files("file")[0]) == b"abc"


def test_the_boundary_is_read_from_the_content_type() -> None:
    assert boundary_of('multipart/form-data; boundary="a b"') == b"a b"
    assert boundary_of("multipart/form-data; charset=utf-8; boundary=xyz") == b"xyz"
    assert boundary_of("application/json") is None
    assert boundary_of("multipart/form-data") is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no boundary here",
        b'------relayB0undary\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end',
        b'------relayB0undary\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n'
        b"------relayB0undary--",
        b"------relayB0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n------relayB0undary--",
        b"------relayB0undary\r\nbroken header\r\n\r\nx\r\n------relayB0undary--",
    ],
)
def test_malformed_bodies_are_refused(raw: bytes) -> None:
    with pytest.raises(MultipartError):
        parse(CT, raw)


def test_a_non_multipart_content_type_is_refused() -> None:
    with pytest.raises(MultipartError):
        parse("application/json", body(("a", b"b", None)))


_names = st.text(alphabet="abcdefghij[]_-", min_size=1, max_size=8)
_parts = st.lists(
    st.tuples(_names, st.binary(max_size=64), st.one_of(st.none(), st.just("f.bin"))),
    min_size=1,
    max_size=5,
)


@given(_parts)
def test_parts_round_trip_like_the_standard_library(
    parts: list[tuple[str, bytes, str | None]],
) -> None:
    raw = body(*parts)
    form = parse(CT, raw)
    assert [(p.name, form.content(p), p.filename) for p in form.parts] == parts
