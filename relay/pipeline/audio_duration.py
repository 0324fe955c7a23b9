"""Audio durations for billing, as new-api reads them (common/audio.go): MPEG audio frames
(mp3), WAV headers and raw 24 kHz 16-bit mono PCM. Pure functions over bytes."""

from __future__ import annotations

import math
import struct

# Bitrates in kbit/s by (MPEG-1?, layer) and the 4-bit index; 0 = free format (unsupported).
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by the 2-bit version id (0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1).
_SAMPLE_RATES = {0: (11025, 12000, 8000), 2: (22050, 24000, 16000), 3: (44100, 48000, 32000)}
PCM_BYTES_PER_SECOND = 24000 * 2  # OpenAI TTS pcm: 24 kHz, 16-bit, mono


def _skip_id3(data: bytes) -> int:
    if len(data) >= 10 and data[:3] == b"ID3":
        size = 0
        for byte in data[6:10]:  # a "syncsafe" integer: 7 bits per byte
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[5] & 0x10 else 0
        return 10 + size + footer
    return 0


def _frame(header: int) -> tuple[int, float] | None:
    """(frame length in bytes, seconds) of a 4-byte MPEG audio header, or None if invalid."""
    if header >> 21 != 0x7FF:
        return None
    version, layer_bits = (header >> 19) & 3, (header >> 17) & 3
    bitrate_index, rate_index = (header >> 12) & 0xF, (header >> 10) & 3
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (header >> 9) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384 / rate
    samples = 1152 if layer == 2 or mpeg1 else 576
    return samples // 8 * bitrate // rate + padding, samples / rate


def mp3_duration(data: bytes) -> float | None:
    """The sum of the frames' durations (junk between frames is skipped), None if no frame."""
    pos, seconds, frames = _skip_id3(data), 0.0, 0
    while pos + 4 <= len(data):
        frame = _frame(int.from_bytes(data[pos : pos + 4], "big"))
        if frame is None or frame[0] < 4:
            pos += 1
            continue
        length, duration = frame
        if pos + length > len(data):
            break  # a truncated last frame
        seconds += duration
        frames += 1
        pos += length
    return seconds if frames else None


def wav_duration(data: bytes) -> float | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"fmt " and size >= 16:
            channels, rate = struct.unpack_from("<HI", data, pos + 10)
            bits = struct.unpack_from("<H", data, pos + 22)[0]
            byte_rate = rate * channels * bits // 8
        elif chunk == b"data":
            if not byte_rate:
                return None
            if size in (0, 0xFFFFFFFF):  # a streamed WAV: the data runs to the end
                size = len(data) - pos - 8
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def audio_duration(data: bytes, audio_format: str) -> float | None:
    """Seconds of audio in `data` of the given format (mp3, wav, pcm), None if unknown."""
    if audio_format == "pcm":
        return len(data) / PCM_BYTES_PER_SECOND
    if audio_format == "mp3":
        return mp3_duration(data)
    if audio_format == "wav":
        return wav_duration(data)
    return None


def duration_tokens(seconds: float) -> int:
    """new-api's audio tokens: 1000 per started minute's worth of seconds, ceil(s) / 60 × 1000."""
    return round(math.ceil(max(seconds, 0.0)) / 60.0 * 1000)
