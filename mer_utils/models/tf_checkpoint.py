"""Read a TensorFlow V2 checkpoint (``<prefix>.index`` + ``<prefix>.data-*``) with numpy only.

The GPU box runs Keras under torch or JAX and has no TensorFlow, yet the musicnn weights
ship as TF1 checkpoints (V2 file format). This module reads them without TensorFlow, so the
one-off conversion to npz (:func:`mer_utils.models.musicnn.convert_checkpoint`) runs on any
backend. ``tf.compat.v1.train.NewCheckpointReader`` is used only when this reader cannot
handle a file (and TensorFlow is installed); the tests check both give identical arrays.

The format (TensorFlow's ``core/util/tensor_bundle``):

* ``.index`` is an SSTable (LevelDB table format): a 48-byte footer (two block handles, then
  the magic number ``0xdb4775248b80fb57``) points at an index block, whose entries point at
  data blocks. A block is a run of prefix-compressed entries (varint shared / unshared key
  lengths, varint value length, key suffix, value), then an array of uint32 restart offsets
  and their count; on disk each block is followed by a compression byte and a CRC.
* Each key is a tensor name (the empty key holds the ``BundleHeaderProto``); each value a
  ``BundleEntryProto``: dtype (field 1), shape (2), shard id (3), offset (4), size (5),
  crc32c (6), slices (7, partitioned variables: not supported here).
* The tensor's bytes are ``size`` bytes at ``offset`` of ``<prefix>.data-SSSSS-of-NNNNN``,
  little-endian, C order.

Not handled (-> :class:`CheckpointFormatError`): V1 checkpoints (a single file, e.g. the
official VGGish ``vggish_model.ckpt``), snappy-compressed index blocks, partitioned
tensors, string tensors.
"""
from __future__ import annotations

import glob
import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["CheckpointFormatError", "read_checkpoint", "list_variables", "read_any", "atomic_savez"]

_MAGIC = 0xDB4775248B80FB57
#: TensorFlow DataType enum -> numpy dtype (little-endian)
_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
           17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}


class CheckpointFormatError(ValueError):
    """The files are not a TF V2 checkpoint this reader handles."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, pos
        shift += 7


def _proto_fields(buf: bytes):
    """(field number, wire type, value) of a serialized protobuf message (flat)."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise CheckpointFormatError(f"unsupported protobuf wire type {wire}")
        yield field, wire, val


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """Entries (key, value) of the SSTable block at ``offset``."""
    if offset + size + 5 > len(data):
        raise CheckpointFormatError("block handle points past the end of the index file")
    if data[offset + size] != 0:
        raise CheckpointFormatError(f"compressed index block (type {data[offset + size]}): not supported")
    blk = data[offset:offset + size]
    n_restarts = struct.unpack_from("<I", blk, len(blk) - 4)[0]
    end = len(blk) - 4 - 4 * n_restarts
    out, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(blk, pos)
        unshared, pos = _varint(blk, pos)
        vlen, pos = _varint(blk, pos)
        key = key[:shared] + blk[pos:pos + unshared]
        pos += unshared
        out.append((key, blk[pos:pos + vlen]))
        pos += vlen
    return out


def _handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    off, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return off, size, pos


def _entries(index: bytes) -> dict[str, dict]:
    if len(index) < 48 or struct.unpack_from("<Q", index, len(index) - 8)[0] != _MAGIC:
        raise CheckpointFormatError("not an SSTable (no table magic number): not a TF V2 checkpoint index")
    footer = index[-48:]
    _, _, pos = _handle(footer)            # metaindex handle (unused)
    ioff, isize, _ = _handle(footer, pos)
    entries: dict[str, dict] = {}
    for _, handle in _block(index, ioff, isize):
        off, size, _ = _handle(handle)
        for key, value in _block(index, off, size):
            if key == b"":                 # BundleHeaderProto
                continue
            e = {"dtype": 1, "shape": [], "shard": 0, "offset": 0, "size": 0, "sliced": False}
            for field, _, val in _proto_fields(value):
                if field == 1:
                    e["dtype"] = val
                elif field == 2:
                    for f2, _, dim in _proto_fields(val):
                        if f2 == 2:
                            e["shape"].append(next((v for f3, _, v in _proto_fields(dim) if f3 == 1), 0))
                        elif f2 == 3 and dim:
                            raise CheckpointFormatError(f"{key!r}: unknown rank")
                elif field == 3:
                    e["shard"] = val
                elif field == 4:
                    e["offset"] = val
                elif field == 5:
                    e["size"] = val
                elif field == 7:
                    e["sliced"] = True
            entries[key.decode()] = e
    return entries


def list_variables(prefix: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Variable name -> shape, as ``tf.train.list_variables``."""
    index = Path(f"{prefix}.index").read_bytes()
    return {k: tuple(e["shape"]) for k, e in sorted(_entries(index).items())}


def read_checkpoint(prefix: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every variable of the checkpoint ``prefix`` (the path without ``.index``) as numpy."""
    prefix = str(prefix)
    index_path = Path(f"{prefix}.index")
    if not index_path.exists():
        raise CheckpointFormatError(f"{index_path} not found (a V1 checkpoint, or a wrong prefix)")
    entries = _entries(index_path.read_bytes())
    by_shard: dict[int, Path] = {}
    for s in glob.glob(glob.escape(prefix) + ".data-*-of-*"):   # prefix may end in a separator
        by_shard[int(s.rsplit(".data-", 1)[1].split("-of-")[0])] = Path(s)
    out: dict[str, np.ndarray] = {}
    cache: dict[int, bytes] = {}
    for name, e in sorted(entries.items()):
        if e["sliced"]:
            raise CheckpointFormatError(f"{name}: partitioned variable (slices) not supported")
        if e["dtype"] not in _DTYPES:
            raise CheckpointFormatError(f"{name}: dtype enum {e['dtype']} not supported")
        if e["shard"] not in by_shard:
            raise CheckpointFormatError(f"{name}: data shard {e['shard']} of {prefix} not found")
        if e["shard"] not in cache:
            cache[e["shard"]] = by_shard[e["shard"]].read_bytes()
        dt = np.dtype(_DTYPES[e["dtype"]])
        raw = cache[e["shard"]][e["offset"]:e["offset"] + e["size"]]
        n = int(np.prod(e["shape"], dtype=np.int64)) if e["shape"] else 1
        if len(raw) != n * dt.itemsize:
            raise CheckpointFormatError(f"{name}: {len(raw)} bytes for shape {e['shape']} of {dt}")
        out[name] = np.frombuffer(raw, dtype=dt).reshape(e["shape"]).astype(dt.newbyteorder("="))
    return out


def read_any(path: str | os.PathLike, unavailable: type[Exception], advice: str) -> dict[str, np.ndarray]:
    """Every variable of a TF checkpoint: this module's numpy reader, else (a V1 file, a format
    it does not handle) TensorFlow's reader once, when TensorFlow is installed. Without it,
    raises ``unavailable`` (the model's "weights absent" error) with the reason and ``advice``
    (what to do, e.g. install the extra or carry the converted npz)."""
    try:
        return read_checkpoint(path)
    except CheckpointFormatError as fmt_exc:
        try:
            import tensorflow as tf
        except ImportError as exc:  # pragma: no cover - environment dependent
            raise unavailable(f"{path}: {fmt_exc}. {advice}") from exc
        reader = tf.compat.v1.train.NewCheckpointReader(str(path))
        return {n: np.asarray(reader.get_tensor(n)) for n in reader.get_variable_to_shape_map()}


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` to ``path`` via a temporary file in the same folder and ``os.replace``: an
    interrupted conversion never leaves a half-written npz that a later run would load."""
    import io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def set_weights_from(plan, arrays, names: set[str], *, adapt=None) -> set[str]:
    """Set Keras layers from named checkpoint arrays: ``plan`` is ``[(layer, [name per layer
    weight, in order]), ...]``; every name must be in ``names`` with the layer weight's shape
    (``adapt(layer, array, wanted_shape)`` may reshape one first, e.g. a TF1 Conv2D kernel for
    a Conv1D), and every name in ``names`` must be used; else ``ValueError``. Returns the
    names used. The one loader of TF1 checkpoints into Keras (musicnn, VGGish)."""
    used: set[str] = set()
    for layer, keys in plan:
        values = []
        for key, w in zip(keys, layer.weights):
            if key not in names:
                raise ValueError(f"checkpoint has no variable {key!r} for layer {layer.name}")
            a = np.asarray(arrays[key], dtype=np.float32)
            want = tuple(w.shape)
            if a.shape != want and adapt is not None:
                a = adapt(layer, a, want)
            if a.shape != want:
                raise ValueError(f"shape mismatch for {key}: checkpoint {a.shape}, model {want}")
            values.append(a)
            used.add(key)
        layer.set_weights(values)
    unused = names - used
    if unused:
        raise ValueError(f"checkpoint variables not used by the model: {sorted(unused)[:10]}")
    return used
