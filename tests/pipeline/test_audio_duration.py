from __future__ import annotations

import pytest

from relay.pipeline.audio_duration import (
    audio_duration,
    duration_tokens,
    mp3_duration,
    wav_duration,
)

MP3_128K = b"\xff\xfb\x90\xc4" + bytes(413)  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 B
MP3_PADDED = b"\xff\xfb\x92\xc4" + bytes(414)  # the same with the padding bit: 418 B
MPEG2_L3 = b"\xff\xf3\x90\xc4" + bytes(284)  # MPEG-2 Layer III, 64 kbit/s, 22.05 kHz: 288 B


def wav(pcm: bytes, rate: int = 24000, channels: int = 1, bits: int = 16) -> bytes:
    byte_rate = rate * channels * bits // 8
    fmt = (
        (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + channels.to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + byte_rate.to_bytes(4, "little")
        + (channels * bits // 8).to_bytes(2, "little")
        + bits.to_bytes(2, "little")
    )
    chunks = b"WAVE" + b"fmt " + fmt + b"LIST" + (2).to_bytes(4, "little") + b"xx"
    chunks += b"data" + len(pcm).to_bytes(4, "little") + pcm
    return b"RIFF" + len(chunks).to_bytes(4, "little") + chunks


def test_mp3_frames_are_summed() -> None:
    assert mp3_duration(MP3_128K * 100) == pytest.approx(100 * 1152 / 44100)
    assert mp3_duration(MP3_PADDED * 3 + MP3_128K) == pytest.approx(4 * 1152 / 44100)
    assert mp3_duration(MPEG2_L3 * 10) == pytest.approx(10 * 576 / 22050)


def test_mp3_skips_an_id3_tag_junk_and_a_truncated_last_frame() -> None:
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"TAGxx"
    data = id3 + b"junk" + MP3_128K * 5 + MP3_128K[:100]
    assert mp3_duration(data) == pytest.approx(5 * 1152 / 44100)


def test_not_mp3_has_no_duration() -> None:
    assert mp3_duration(b"") is None
    assert mp3_duration(bytes(5000)) is None
    assert mp3_duration(b"\xff\xff\xff\xff" * 10) is None  # reserved version and layer bits


def test_wav_reads_its_header() -> None:
    assert wav_duration(wav(bytes(48000))) == pytest.approx(1.0)
    assert wav_duration(wav(bytes(44100 * 4), rate=44100, channels=2)) == pytest.approx(1.0)
    assert wav_duration(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert wav_duration(b"not a wav") is None


def test_formats() -> None:
    assert audio_duration(bytes(48000 * 3), "pcm") == pytest.approx(3.0)
    assert audio_duration(MP3_128K * 38, "mp3") == pytest.approx(38 * 1152 / 44100)
    assert audio_duration(wav(bytes(24000)), "wav") == pytest.approx(0.5)
    assert audio_duration(b"....", "opus") is None


@pytest.mark.parametrize(
    ("seconds", "tokens"), [(0, 0), (0.2, 17), (1, 17), (2.01, 50), (59.5, 1000), (61, 1017)]
)
def test_duration_tokens_are_1000_a_minute_of_whole_seconds(seconds: float, tokens: int) -> None:
    assert duration_tokens(seconds) == tokens
