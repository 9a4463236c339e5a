"""Content-Encoding decoded in bounded steps (crawler/downloadhandlers/decoding.py), against the real codecs."""

from __future__ import annotations

import gzip
import zlib

import brotli
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.downloadhandlers.decoding import CHUNK, Decoder, DecodingError, codings

try:
    from compression import zstd
except ImportError:
    from backports import zstd

ENCODE = {
    b"gzip": gzip.compress,
    b"deflate": zlib.compress,
    b"br": brotli.compress,
    b"zstd": zstd.compress,
}


def decode(encoded: bytes, header: list[bytes], piece: int = 1000) -> tuple[bytes, Decoder]:
    decoder = Decoder(codings(header))
    out = []
    for start in range(0, len(encoded), piece):
        for chunk in decoder.feed(encoded[start:start + piece]):
            assert len(chunk) <= CHUNK or decoder.not_encoded
            out.append(chunk)
    return b"".join(out), decoder


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200_000) | st.text(max_size=5000).map(str.encode),
       chain=st.lists(st.sampled_from(sorted(ENCODE)), min_size=1, max_size=3),
       piece=st.integers(1, 70_000))
def test_any_chain_of_codings_decodes_to_the_body(body, chain, piece):
    encoded = body
    for coding in chain:
        encoded = ENCODE[coding](encoded)
    decoded, decoder = decode(encoded, [b", ".join(chain)], piece)
    assert decoded == body and not decoder.not_encoded


def test_a_bomb_comes_out_in_bounded_pieces():
    bomb = gzip.compress(bytes(50 * 1024 * 1024))
    decoder = Decoder(codings([b"gzip"]))
    sizes = [len(p) for p in decoder.feed(bomb[:4096])]
    assert max(sizes) <= CHUNK and sum(sizes) > 1024 * 1024


def test_raw_deflate_and_multi_member_gzip_and_aliases():
    raw = zlib.compressobj(wbits=-15)
    body = b"report " * 1000
    assert decode(raw.compress(body) + raw.flush(), [b"deflate"])[0] == body
    assert decode(gzip.compress(b"one ") + gzip.compress(b"two"), [b"x-gzip"])[0] == b"one two"


def test_a_plain_body_labelled_gzip_is_kept_as_sent():
    decoded, decoder = decode(b"<html>not compressed</html>", [b"gzip"])
    assert decoded == b"<html>not compressed</html>" and decoder.not_encoded


def test_a_body_broken_midway_is_an_error():
    good = gzip.compress(bytes(range(256)) * 4000)
    broken = good[:-8] + bytes(8)  # its CRC and length no longer match: corrupt in transit
    decoder = Decoder(codings([b"gzip"]))
    try:
        for _ in decoder.feed(broken[:1500]):
            pass
        for _ in decoder.feed(broken[1500:]):
            pass
    except DecodingError as exc:
        assert "gzip" in str(exc)
    else:
        raise AssertionError("a broken gzip stream decoded silently")


def test_unknown_codings_are_left_alone():
    assert codings([b"compress, gzip"]) == [b"gzip"]  # gzip undone, compress kept
    assert codings([b"gzip, compress"]) == []
    assert codings([b"identity"]) == []


def test_several_zstd_frames_are_one_body():
    assert decode(zstd.compress(b"frame one, ") + zstd.compress(b"frame two"), [b"zstd"], 7)[0] == \
        b"frame one, frame two"
