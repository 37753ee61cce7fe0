#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets to Fuzz/corpus/<target>/.

Small valid files and edge cases, each a few hundred bytes to a few KiB, so that the fuzzer
starts from every structure the readers accept (and from the boundaries of what they refuse)
instead of discovering the formats byte by byte. Deterministic: rerunning rewrites the same
bytes (gzip members carry mtime 0), so the committed corpus only changes when this script does.

  checkpoint  safetensors files: F32/F64 tensors, scalars, empty tensors, metadata, escapes,
              whitespace and padding, the names the fuzz target restores (fc.weight, fc.bias),
              a tensor entry nested 62 deep (valid JSON, refused as an entry), and a few
              files each check refuses.
  idx         [4-byte little-endian image-file length][image IDX][label IDX], uncompressed:
              valid pairs of 1 and 3 images, and pairs that break one check each.
  gzip        gzip files as the Fashion-MNIST reader sees them: IDX payloads at several deflate
              levels (stored, fixed and dynamic Huffman), optional header fields (FEXTRA, FNAME,
              FCOMMENT, FHCRC), an empty member, two members, trailing bytes, a raw IDX file.

Usage: scripts/make-fuzz-corpus.py   (from anywhere; writes relative to the repository)
"""
import gzip
import json
import os
import shutil
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fuzz", "corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- safetensors ------------------------------------------------------------------------------

def safetensors(tensors, metadata=None, pad=True, header_text=None):
    """tensors: list of (name, dtype, shape, raw bytes) in data order."""
    header, data, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = header_text if header_text is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def f64(*values):
    return struct.pack("<%dd" % len(values), *values)


def checkpoint_corpus():
    write("checkpoint", "valid-f32-f64-metadata", safetensors(
        [("w", "F32", [3, 4], f32(*range(12))), ("b", "F64", [4], f64(1, -2, 3, 4))],
        metadata={"step": "12", "seed": "7"}))
    write("checkpoint", "restore-target", safetensors(
        [("fc.weight", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6)), ("fc.bias", "F32", [1, 2], f32(0.5, -0.5))],
        metadata={"format": "pixelfly-training-1", "step": "3"}))
    write("checkpoint", "restore-target-wrong-shape", safetensors(
        [("fc.weight", "F32", [3, 2], f32(1, 2, 3, 4, 5, 6)), ("fc.bias", "F64", [2], f64(0.5, -0.5))]))
    write("checkpoint", "empty-header", safetensors([]))
    write("checkpoint", "metadata-only", safetensors([], metadata={"note": "x", "step": "-1"}))
    write("checkpoint", "scalar-and-empty", safetensors(
        [("s", "F64", [], f64(3.5)), ("e", "F32", [0, 5], b""), ("v", "F32", [1], f32(2))]))
    write("checkpoint", "rank-3", safetensors([("t", "F32", [2, 1, 2], f32(1, 2, 3, 4))]))
    escaped = b'{"__metadata__" : { "note" : "\\u00fc\\ud83e\\udd8b\\n\\/\\"\\\\\\t" } , ' \
              b'"b\\u0041" : {"dtype":"F64","shape":[2],"data_offsets":[16,32]},\t\r\n' \
              b'"a" : {"data_offsets":[0,16],"shape":[2,2],"dtype":"F32"}}   '
    write("checkpoint", "escapes-and-whitespace", safetensors([], header_text=escaped, pad=False) + bytes(32))
    write("checkpoint", "unpadded", safetensors([("x", "F32", [1], f32(1))], pad=False))
    deep = b'{"__metadata__":{"k":"v"},"n":' + b"[" * 62 + b"]" * 62 + b"}"
    write("checkpoint", "deep-nesting", safetensors([], header_text=deep))
    numbers = b'{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}'
    write("checkpoint", "exponent-size", safetensors([], header_text=numbers) + f32(1))
    write("checkpoint", "unsupported-dtype", safetensors([("h", "F16", [2], b"\0\0\0\0")]))
    write("checkpoint", "gap", safetensors([], header_text=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}') + bytes(8))
    write("checkpoint", "truncated", safetensors([("w", "F32", [2], f32(1, 2))])[:-3])
    write("checkpoint", "length-too-large", struct.pack("<Q", 1 << 40) + b"{}")


# --- IDX ----------------------------------------------------------------------------------------

def idx(magic, dimensions, values):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dimensions) + bytes(values)


def pair(images, labels):
    return struct.pack("<I", len(images)) + images + labels


def pixels(count):
    return [(i * 7 + i // 13) & 255 for i in range(count * 784)]


def idx_corpus():
    write("idx", "valid-1", pair(idx(2051, [1, 28, 28], pixels(1)), idx(2049, [1], [9])))
    write("idx", "valid-3", pair(idx(2051, [3, 28, 28], pixels(3)), idx(2049, [3], [0, 5, 9])))
    write("idx", "label-10", pair(idx(2051, [1, 28, 28], pixels(1)), idx(2049, [1], [10])))
    write("idx", "count-mismatch", pair(idx(2051, [2, 28, 28], pixels(2)), idx(2049, [1], [1])))
    write("idx", "zero-images", pair(idx(2051, [0, 28, 28], []), idx(2049, [0], [])))
    write("idx", "27x28", pair(idx(2051, [1, 27, 28], pixels(1)[:27 * 28]), idx(2049, [1], [1])))
    write("idx", "swapped-magics", pair(idx(2049, [1], [1]), idx(2051, [1, 28, 28], pixels(1))))
    write("idx", "huge-dimensions", pair(idx(2051, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], []), idx(2049, [0xFFFFFFFF], [])))
    write("idx", "header-only", pair(struct.pack(">I", 2051), struct.pack(">I", 2049)))
    write("idx", "trailing-byte", pair(idx(2051, [1, 28, 28], pixels(1)) + b"\0", idx(2049, [1], [3])))


# --- gzip ---------------------------------------------------------------------------------------

def gzip_member(payload, level=6, flags=0, extra=b"", name=b"", comment=b""):
    """A gzip member written by hand so that every optional header field can be set."""
    header = bytes([0x1F, 0x8B, 8, flags]) + struct.pack("<I", 0) + bytes([0, 3])
    if flags & 4:
        header += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        header += name + b"\0"
    if flags & 16:
        header += comment + b"\0"
    if flags & 2:
        header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = compressor.compress(payload) + compressor.flush()
    return header + body + struct.pack("<II", zlib.crc32(payload), len(payload) & 0xFFFFFFFF)


def gzip_corpus():
    images = idx(2051, [1, 28, 28], pixels(1))
    labels = idx(2049, [4], [0, 1, 2, 9])
    write("gzip", "images-level6", gzip.compress(images, 6, mtime=0))
    write("gzip", "labels-level9", gzip.compress(labels, 9, mtime=0))
    write("gzip", "images-stored", gzip_member(images, level=0))
    write("gzip", "labels-fixed-huffman", gzip_member(labels, level=1))
    write("gzip", "all-header-fields", gzip_member(labels, flags=2 | 4 | 8 | 16, extra=b"AB\x02\x00xy",
                                                  name=b"labels.idx", comment=b"seed"))
    write("gzip", "empty-payload", gzip.compress(b"", mtime=0))
    write("gzip", "two-members", gzip.compress(labels[:6], mtime=0) + gzip.compress(labels[6:], mtime=0))
    write("gzip", "trailing-bytes", gzip.compress(labels, mtime=0) + b"\0\0\0")
    write("gzip", "bad-crc", gzip.compress(labels, mtime=0)[:-8] + b"\0\0\0\0" + struct.pack("<I", len(labels)))
    write("gzip", "truncated", gzip.compress(images, mtime=0)[:40])
    write("gzip", "raw-idx", labels)
    write("gzip", "highly-compressible", gzip.compress(bytes(200_000), 9, mtime=0))


if __name__ == "__main__":
    for target in ("checkpoint", "idx", "gzip"):
        shutil.rmtree(os.path.join(ROOT, target), ignore_errors=True)
    checkpoint_corpus()
    idx_corpus()
    gzip_corpus()
    for target in sorted(os.listdir(ROOT)):
        files = os.listdir(os.path.join(ROOT, target))
        size = sum(os.path.getsize(os.path.join(ROOT, target, f)) for f in files)
        print(f"{target}: {len(files)} files, {size} bytes")
