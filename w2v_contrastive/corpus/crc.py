"""CRC-32 of the cache's files: of a whole file, and of two parts computed apart (zlib's crc32_combine).

The pieces of a corpus are renumbered into the final file by several processes at once, each
checksumming its own part; :func:`crc32_combine` joins those checksums into the whole file's without
reading it again. It multiplies by x^(8 len) in GF(2)[x] mod the CRC polynomial, by repeated squaring
of the operator that appends one zero bit, as zlib does.
"""

from __future__ import annotations

import zlib

CHECKSUM_BLOCK = 1 << 24
#: the CRC-32 polynomial, bit-reflected
POLYNOMIAL = 0xEDB88320


def file_crc32(path: str) -> int:
    """CRC-32 of a file's bytes, read in blocks (about 1 GB/s)."""
    crc = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHECKSUM_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from crc1 = CRC-32(A), crc2 = CRC-32(B) and len(B) = ``length2`` bytes."""
    if length2 <= 0:
        return crc1
    operator = [POLYNOMIAL] + [1 << n for n in range(31)]  # appends one zero bit
    for _ in range(3):  # one zero byte: 8 bits = three squarings
        operator = _square(operator)
    while length2:
        if length2 & 1:
            crc1 = _times(operator, crc1)
        length2 >>= 1
        if length2:
            operator = _square(operator)
    return crc1 ^ crc2


def _times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, column) for column in matrix]
