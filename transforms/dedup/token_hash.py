"""rensa's token hash of a text's robust tokens, computed in numpy (pure).

`robust_tokens` + `rensa.RMinHash.hash_token_sets` make a Python string per
word, another per cut token and a Python int per hash: ~50 us of a ~150 us
sketch on generated English. For a bundle of texts the same hashes come from
the UTF-8 bytes of the whole bundle in ~25 array operations: word bounds at
the spaces, the cut after `prefix` code points, and rensa's hash of each
token's bytes (rustc-hash's FxHasher `write` + `finish`, rensa's
`calculate_hash_fast`):

    s0, s1 = SEED1, SEED2, each xor-ed with the token's bytes (two 8- or
    4-byte little-endian reads, or 3 single bytes, for up to 16 bytes)
    h = mix(s0, s1) ^ length             mix = low ^ high half of the 128-bit product
    hash = rotate_left(h * K, 26)

Tokens of more than 16 bytes (5 four-byte characters, or whole words with
`token_prefix` 0) are few and go to rensa itself. The result is rensa's
hash, bit for bit: checked against rensa on first use (`matches_rensa`;
callers fall back to rensa if a new rensa hashed differently) and in
tests/test_dedup_sketch_bundle.py.
"""

from __future__ import annotations

import functools

import numpy as np
import rensa

_K = np.uint64(0xF1357AEA2E62A9C5)
_SEED1 = np.uint64(0x243F6A8885A308D3)
_SEED2 = np.uint64(0x13198A2E03707344)
_LOW32 = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)
# rensa's own hash beyond this many bytes (its loop over 16-byte blocks).
_SHORT = 16


def _multiply_mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Low 64 bits xor high 64 bits of the 128-bit product x * y."""
    x0, x1, y0, y1 = x & _LOW32, x >> _32, y & _LOW32, y >> _32
    p00, p01, p10 = x0 * y0, x0 * y1, x1 * y0
    middle = (p00 >> _32) + (p01 & _LOW32) + (p10 & _LOW32)
    high = x1 * y1 + (p01 >> _32) + (p10 >> _32) + (middle >> _32)
    return (x * y) ^ high


class _Bytes:
    """A byte array, readable as a little-endian uint64 at any byte offset
    (an unaligned view, no copy; 8 zero bytes past the end)."""

    def __init__(self, data: np.ndarray) -> None:
        self.u8 = np.zeros(data.size + 8, dtype=np.uint8)
        self.u8[: data.size] = data
        self.u64 = np.ndarray((data.size + 1,), dtype="<u8", buffer=self.u8, strides=(1,))


def _by_length(values: dict[range, int]) -> np.ndarray:
    table = np.zeros(_SHORT + 1, dtype=np.uint64)
    for lengths, value in values.items():
        table[list(lengths)] = value
    return table


_ALL = (1 << 64) - 1
# Per token length (0-16), what rensa reads from a token, taken from its first
# 8 bytes `head` (one unaligned read) by shifts and masks, without branches:
#   s0 ^= head & _FIRST
#   s1 ^= (head >> _SHIFT & _SECOND) << _UP | head >> _MIDDLE_SHIFT & _MIDDLE
# i.e. 1-3 bytes: first byte; last byte << 8 | middle byte. 4-7: first and
# last 4 bytes. 8: all 8 twice. Over 8 bytes s1 takes the last 8 bytes (a
# second read).
_FIRST = _by_length({range(1, 4): 0xFF, range(4, 8): 0xFFFFFFFF, range(8, 17): _ALL})
_SHIFT = np.array([0, 0, 8, 16, 0, 8, 16, 24] + [0] * 9, dtype=np.uint64)
_SECOND = _FIRST
_UP = _by_length({range(1, 4): 8})
_MIDDLE_SHIFT = np.array([8 * (n // 2) for n in range(_SHORT + 1)], dtype=np.uint64)
_MIDDLE = _by_length({range(1, 4): 0xFF})


def _hash_short(data: _Bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """rensa's hash of the tokens data[starts[i]:starts[i] + lengths[i]] (<= 16 bytes)."""
    head = data.u64[starts]
    first = head & _FIRST[lengths]
    second = (head >> _SHIFT[lengths]) & _SECOND[lengths]
    second <<= _UP[lengths]
    second |= (head >> _MIDDLE_SHIFT[lengths]) & _MIDDLE[lengths]
    long = np.flatnonzero(lengths > 8)
    if long.size:
        second[long] = data.u64[starts[long] + lengths[long] - 8]
    first ^= _SEED1
    second ^= _SEED2
    mixed = _multiply_mix(first, second)
    mixed ^= lengths.astype(np.uint64)
    mixed *= _K
    return (mixed << np.uint64(26)) | (mixed >> np.uint64(38))


# Tokens hashed per block: ~25 temporaries of this many 8-byte values stay in
# the allocator's free lists (whole-bundle temporaries were fresh pages each
# time: 2-3x slower on a bundle of 128 articles).
_BLOCK = 4096


def token_hashes(folded: str, prefix: int) -> np.ndarray:
    """rensa's hash of each word of `folded` cut to `prefix` characters (all of
    it if 0), in order: what rensa gives for `robust_tokens(text, prefix)` when
    `folded` is the text with its OCR confusions folded (`ocr_folded`).

    Words are non-empty and joined by single spaces (normalised text).
    """
    raw = folded.encode("utf-8")
    data = np.frombuffer(raw, dtype=np.uint8)
    spaces = np.flatnonzero(data == 0x20)  # never inside a multi-byte character
    starts = np.concatenate(([0], spaces + 1))
    ends = np.concatenate((spaces, [data.size]))
    if prefix > 0:
        if len(raw) == len(folded):  # ASCII: a character is a byte
            ends = np.minimum(ends, starts + prefix)
        else:  # the byte where the (prefix + 1)-th character of the word starts
            characters = np.flatnonzero((data & 0xC0) != 0x80)  # their first bytes
            # Words start at the first character and after each space.
            first = np.flatnonzero(np.concatenate(([True], data[characters[:-1]] == 0x20)))
            characters = np.append(characters, data.size)
            cut = characters[np.minimum(first + prefix, characters.size - 1)]
            ends = np.minimum(ends, cut)
    lengths = np.minimum(ends - starts, _SHORT + 1)
    hashes = np.empty(starts.size, dtype=np.uint64)
    words = _Bytes(data)
    for block in range(0, starts.size, _BLOCK):
        part = slice(block, block + _BLOCK)
        hashes[part] = _hash_short(words, starts[part], np.minimum(lengths[part], _SHORT))
    long = np.flatnonzero(lengths > _SHORT)
    if long.size:
        tokens = [raw[a:b] for a, b in zip(starts[long].tolist(), ends[long].tolist(), strict=True)]
        hashes[long] = rensa.RMinHash.hash_token_sets([tokens])[0]
    return hashes


# Every branch of the hash: 0-20 bytes, one- to four-byte characters, cut or not.
_CHECK_TEXT = (
    "a ab abc abcd abcde abcdefgh abcdefghi abcdefghijklmnop abcdefghijklmnopq "
    "\u00e9 \u00e9\u00e9 \u0436\u0436\u0436\u0436\u0436\u0436 \u6771\u4eac\u90fd\u5e02\u5e81\u820e "
    "\U0001f389\U0001f389\U0001f389\U0001f389\U0001f389\U0001f389 x\u00e9\u6771\U0001f389y 0l5 \x00"
)


@functools.cache
def matches_rensa() -> bool:
    """Whether `token_hashes` gives the installed rensa's token hashes."""
    words = _CHECK_TEXT.split(" ")
    for prefix in (0, 1, 3, 5):
        tokens = words if prefix <= 0 else [word[:prefix] for word in words]
        expected = rensa.RMinHash.hash_token_sets([tokens])[0]
        if token_hashes(_CHECK_TEXT, prefix).tolist() != expected:
            return False
    return True
