"""ossbox's PlainBuffer codec against the SDK's own: what the SDK writes we read, what we write it reads."""

from __future__ import annotations

import pytest
from tablestore.metadata import INF_MAX, INF_MIN, PK_AUTO_INCR
from tablestore.native import NATIVE_AVAILABLE, parse_multiple_rows, parse_single_row
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.plainbuffer.plain_buffer_coded_stream import PlainBufferCodedInputStream
from tablestore.plainbuffer.plain_buffer_stream import PlainBufferInputStream

from ossbox.tables import keys
from ossbox.tables import plainbuffer as pb


def sdk_read(data: bytes) -> tuple[list, list]:
    return PlainBufferCodedInputStream(PlainBufferInputStream(data)).read_row()


def test_reads_what_the_sdk_writes_for_put_row() -> None:
    data = bytes(
        PlainBufferBuilder.serialize_for_put_row(
            [("a", 1), ("b", "ké"), ("c", bytearray(b"\x00\x01"))],
            [("s", "héllo"), ("i", -5, 1700000000000), ("d", 1.5), ("t", True), ("bin", bytearray(b"zz"))],
        )
    )
    row = pb.decode_row(data)
    assert row.pk == [("a", 1), ("b", "ké"), ("c", b"\x00\x01")]
    assert [(c.name, c.value, c.ts, c.op) for c in row.cells] == [
        ("s", "héllo", None, pb.OP_PUT),
        ("i", -5, 1700000000000, pb.OP_PUT),
        ("d", 1.5, None, pb.OP_PUT),
        ("t", True, None, pb.OP_PUT),
        ("bin", b"zz", None, pb.OP_PUT),
    ]
    assert not row.delete_marker


def test_reads_update_changes_bounds_and_delete_markers() -> None:
    change = bytes(
        PlainBufferBuilder.serialize_for_update_row(
            [("a", PK_AUTO_INCR)],
            {"PUT": [("x", 1, 7)], "DELETE": [("z", None, 55)], "DELETE_ALL": ["w"], "INCREMENT": [("n", 3)]},
        )
    )
    row = pb.decode_row(change)
    assert row.pk == [("a", pb.AUTO_INCREMENT)]
    assert [(c.name, c.value, c.ts, c.op) for c in row.cells] == [
        ("x", 1, 7, pb.OP_PUT),
        ("z", None, 55, pb.OP_DELETE_ONE_VERSION),
        ("w", None, None, pb.OP_DELETE_ALL_VERSIONS),
        ("n", 3, None, pb.OP_INCREMENT),
    ]
    bound = pb.decode_row(bytes(PlainBufferBuilder.serialize_primary_key([("a", INF_MIN), ("b", INF_MAX)])))
    assert bound.pk == [("a", pb.INF_MIN), ("b", pb.INF_MAX)]
    assert pb.decode_row(bytes(PlainBufferBuilder.serialize_for_delete_row([("a", 3)]))).delete_marker


def test_the_sdk_reads_what_ossbox_writes() -> None:
    cells = [pb.Cell("s", "héllo", 17), pb.Cell("d", 2.5, 18), pb.Cell("t", False, 1), pb.Cell("i", -1, 2)]
    data = pb.encode_row([("a", 1), ("b", b"\x00")], cells)
    expected = (
        [("a", 1), ("b", bytearray(b"\x00"))],
        [("s", "héllo", 17), ("d", 2.5, 18), ("t", False, 1), ("i", -1, 2)],
    )
    assert sdk_read(data) == expected
    assert NATIVE_AVAILABLE
    assert parse_single_row(data) == expected
    many = pb.join_rows(pb.encode_row_body([("a", i)], [pb.Cell("c", f"v{i}", 5)]) for i in range(3))
    assert parse_multiple_rows(many) == [([("a", i)], [("c", f"v{i}", 5)]) for i in range(3)]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],  # truncated
        lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]),  # row checksum
        lambda b: b[:12] + bytes([b[12] ^ 0x01]) + b[13:],  # a byte inside the first cell
        lambda b: b"\x00\x00\x00\x00" + b[4:],  # header
        lambda b: b + b"\x01",  # trailing garbage
    ],
)
def test_damaged_rows_are_refused(damage) -> None:  # type: ignore[no-untyped-def]
    good = bytes(PlainBufferBuilder.serialize_for_put_row([("a", "key")], [("c", "value")]))
    pb.decode_row(good)
    with pytest.raises(pb.PlainBufferError):
        pb.decode_row(damage(good))


def test_key_encoding_sorts_like_tablestore() -> None:
    ints = [-(1 << 63), -5, -1, 0, 1, 255, 256, (1 << 63) - 1]
    assert sorted(ints, key=lambda v: keys.encode_key([v])) == ints
    strings = ["", "a", "a\x00", "a\x00b", "ab", "b", "é"]
    assert sorted(strings, key=lambda v: keys.encode_key([v])) == sorted(strings, key=str.encode)
    composite = [(1, "a"), (1, "ab"), (2, ""), (2, "a")]
    assert sorted(composite, key=lambda v: keys.encode_key(list(v))) == composite
    assert keys.encode_key([1, pb.INF_MIN]) < keys.encode_key([1, ""]) < keys.encode_key([1, pb.INF_MAX])
    assert keys.encode_key([1, pb.INF_MAX]) < keys.encode_key([2, pb.INF_MIN])
    for value in [(-7, "x\x00y", b"\x00\xff\x00")]:
        key = keys.encode_key(list(value))
        assert keys.decode_key(key, [keys.PK_INTEGER, keys.PK_STRING, keys.PK_BINARY]) == list(value)
