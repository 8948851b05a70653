"""The incident ids a source has kept so far, held compactly while its files stream past.

A streaming ingest sees a source one batch at a time, but a ``Crime ID``
kept in January's file must still reject the same id in June's. Holding the
ids themselves (64 hex digits each) would grow by about 100 bytes a row; this
index holds a 128-bit hash of each id and where it was kept, 24 bytes a row,
in 16 buckets (by the hash's top bits) of sorted runs merged like a binary
counter: adding ``n`` ids in batches costs ``O(n log n)``, a lookup a binary
search per run, and a merge never copies more than a bucket.

Two different ids collide only if both 64-bit halves of their hashes agree:
for the 60 million rows of ten years of every force, the chance of that is
about one in 10^23, so equal hashes are taken for equal ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

__all__ = ["IdHashes", "SeenIds", "hash_ids"]

_KEYS = ("hotspot-atlas-id", "second-half-key!")
_BUCKETS = 16
_BUCKET_SHIFT = np.uint64(60)  # 16 buckets
_U64 = npt.NDArray[np.uint64]
_I32 = npt.NDArray[np.int32]


#: The two 64-bit halves of each id's 128-bit hash.
IdHashes = tuple[_U64, _U64]


#: Ids up to this many bytes are hashed as rows of 8-byte words, vectorised.
_WIDE: Final = 256
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_SEEDS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03))


def _mix(x: _U64) -> _U64:
    """Apply the splitmix64 finaliser to whole arrays (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash_ids(ids: pa.Array) -> IdHashes:
    r"""Hash ids to 128 bits (two 64-bit halves), as :class:`SeenIds` holds them.

    Each id's bytes, zero-padded to whole 8-byte words, are folded word by
    word through the splitmix64 finaliser from two seeds, with the length
    folded in first, all in numpy over the batch (a police.uk Crime ID is
    64 hex digits: eight rounds). Ids longer than 256 bytes go through
    pandas' ``hash_array`` instead, each id by its own length, so an id
    hashes the same whatever ids share its batch.

    Parameters
    ----------
    ids
        String ids.

    Returns
    -------
    tuple of ndarray
        The two halves, ``uint64`` each.

    Examples
    --------
    >>> import pyarrow as pa
    >>> a, b = hash_ids(pa.array(["x", "y", "x", "x\x00"]))
    >>> bool(a[0] == a[2]), bool(a[0] == a[1]), bool(a[0] == a[3])
    (True, False, False)
    >>> bool(hash_ids(pa.array(["x", "a much longer id"]))[0][0] == a[0])
    True
    >>> bool(hash_ids(pa.array(["x", "z" * 300]))[0][0] == a[0])
    True
    """
    arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    n = len(arr)
    if n == 0:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty.copy()
    arr = arr.cast(pa.large_string()) if not pa.types.is_large_string(arr.type) else arr
    if arr.null_count:
        arr = arr.fill_null("")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        arr.offset : arr.offset + n + 1
    ]
    lengths = np.diff(offsets)
    width = int(lengths.max()) if n else 0
    if width > _WIDE:
        # Each id by its own length: a long id beside it never changes how a
        # short one is hashed (the same id must hash the same in any batch).
        long = lengths > _WIDE
        h1 = np.empty(n, dtype=np.uint64)
        h2 = np.empty(n, dtype=np.uint64)
        if not long.all():
            short = np.flatnonzero(~long)
            h1[short], h2[short] = hash_ids(arr.take(pa.array(short, pa.int64())))
        rows = np.flatnonzero(long)
        values = np.asarray(
            arr.take(pa.array(rows, pa.int64())).to_numpy(zero_copy_only=False),
            dtype=object,
        )
        h1[rows] = pd.util.hash_array(values, hash_key=_KEYS[0])
        h2[rows] = pd.util.hash_array(values, hash_key=_KEYS[1])
        return h1, h2
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)
        if data_buf is not None
        else np.zeros(0, dtype=np.uint8)
    )
    words = max(1, -(-width // 8))
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    first, last = int(offsets[0]), int(offsets[-1])
    if width and bool((lengths == width).all()):
        # Every id as long as the longest (police.uk's): one reshape.
        padded[:, :width] = data[first:last].reshape(n, width)
    else:
        for k in range(width):
            rows = np.flatnonzero(lengths > k)
            padded[rows, k] = data[offsets[rows] + k]
    block = padded.view(np.uint64).reshape(n, words)
    # Each id folds its own words only, so its hash does not depend on the
    # longest id beside it.
    own = (lengths + 7) // 8
    uniform = bool((own == words).all())
    out = []
    for seed in _SEEDS:
        h = _mix(np.full(n, seed, dtype=np.uint64) ^ lengths.astype(np.uint64))
        for k in range(words):
            mixed = _mix(h ^ block[:, k])
            h = mixed if uniform else np.where(own > k, mixed, h)
        out.append(h)
    return out[0], out[1]


@dataclass
class _Run:
    h1: _U64
    h2: _U64
    file: _I32
    row: _I32

    def __len__(self) -> int:
        return len(self.h1)


def _sorted(run: _Run, *, merge: bool = False) -> _Run:
    # By the first half only (lookups compare the second among equal firsts).
    # A stable sort of two sorted runs end to end is a merge (timsort); a new
    # batch's hashes, in no order, sort faster with the default introsort.
    order = np.argsort(run.h1, kind="stable" if merge else None)
    return _Run(run.h1[order], run.h2[order], run.file[order], run.row[order])


class SeenIds:
    """Ids kept so far, with the file and row each was first kept from.

    Examples
    --------
    >>> import pyarrow as pa
    >>> seen = SeenIds()
    >>> seen.add(hash_ids(pa.array(["a", "b"])), "jan.csv", np.array([2, 3]))
    >>> found, where = seen.find(hash_ids(pa.array(["b", "c"])))
    >>> found.tolist(), where
    ([True, False], [('jan.csv', 3)])
    >>> len(seen)
    2
    """

    def __init__(self) -> None:
        self._buckets: list[list[_Run]] = [[] for _ in range(_BUCKETS)]
        self._labels: list[str] = []
        self._label_of: dict[str, int] = {}

    def __len__(self) -> int:
        return sum(len(r) for runs in self._buckets for r in runs)

    def hashes(self) -> IdHashes:
        """Return the hashes of every id held (in no particular order).

        Returns
        -------
        tuple of ndarray
            The two halves, ``uint64`` each.
        """
        runs = [r for bucket in self._buckets for r in bucket]
        if not runs:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint64)
        return np.concatenate([r.h1 for r in runs]), np.concatenate(
            [r.h2 for r in runs]
        )

    def _label(self, label: str) -> int:
        if label not in self._label_of:
            self._label_of[label] = len(self._labels)
            self._labels.append(label)
        return self._label_of[label]

    def find(
        self, hashes: IdHashes
    ) -> tuple[npt.NDArray[np.bool_], list[tuple[str, int]]]:
        """Say which ids were kept before, and where.

        Parameters
        ----------
        hashes
            The ids to look up, hashed (:func:`hash_ids`).

        Returns
        -------
        tuple
            A mask of the ids seen before, and for each of them (in order)
            the file and row it was first kept from.
        """
        q1, q2 = hashes
        n = len(q1)
        found = np.zeros(n, dtype=bool)
        file = np.zeros(n, dtype=np.int32)
        row = np.zeros(n, dtype=np.int32)
        if n == 0:
            return found, []
        # Queries in hash order: each bucket is one slice, and binary searches
        # of sorted keys walk each run from left to right.
        order = np.argsort(q1)
        qs = q1[order]
        cuts = np.searchsorted(
            qs >> _BUCKET_SHIFT, np.arange(_BUCKETS + 1, dtype=np.uint64)
        )
        for b in range(_BUCKETS):
            a, z = int(cuts[b]), int(cuts[b + 1])
            if z == a or not self._buckets[b]:
                continue
            at, keys = order[a:z], qs[a:z]
            for run in self._buckets[b]:
                lo = np.searchsorted(run.h1, keys, side="left")
                hit = run.h1[np.minimum(lo, len(run) - 1)] == keys
                if not hit.any():
                    continue
                hi = lo.copy()
                hi[hit] = np.searchsorted(run.h1, keys[hit], side="right")
                for k in np.flatnonzero((hi > lo) & ~found[at]):
                    i = at[k]
                    # Almost always one candidate; a shared first half is checked in full.
                    for j in range(int(lo[k]), int(hi[k])):
                        if run.h2[j] == q2[i]:
                            found[i], file[i], row[i] = True, run.file[j], run.row[j]
                            break
        return found, [
            (self._labels[int(file[i])], int(row[i])) for i in np.flatnonzero(found)
        ]

    def add(
        self,
        hashes: IdHashes,
        label: str | Sequence[str],
        rows: npt.NDArray[np.int64],
    ) -> None:
        """Record ids kept, with the file and row each was kept from.

        Parameters
        ----------
        hashes
            The kept ids, hashed (:func:`hash_ids`), none of them seen before.
        label
            The file they were kept from, or each one's file.
        rows
            Their row numbers in their files.
        """
        h1, h2 = hashes
        if len(h1) == 0:
            return
        if isinstance(label, str):
            where = np.full(len(h1), self._label(label), dtype=np.int32)
        else:
            codes, names = pd.factorize(np.asarray(label, dtype=object))
            index = np.array([self._label(str(n)) for n in names], dtype=np.int32)
            where = index[codes]
        run = _sorted(_Run(h1, h2, where, rows.astype(np.int32)))
        bucket = run.h1 >> _BUCKET_SHIFT  # sorted by h1, so by bucket too
        cuts = np.searchsorted(bucket, np.arange(_BUCKETS + 1, dtype=np.uint64))
        for k in range(_BUCKETS):
            lo, hi = int(cuts[k]), int(cuts[k + 1])
            if hi > lo:
                self._push(
                    self._buckets[k],
                    # Copies: a view would keep the whole batch's arrays alive.
                    _Run(
                        run.h1[lo:hi].copy(),
                        run.h2[lo:hi].copy(),
                        run.file[lo:hi].copy(),
                        run.row[lo:hi].copy(),
                    ),
                )

    @staticmethod
    def _push(runs: list[_Run], run: _Run) -> None:
        runs.append(run)
        while len(runs) > 1 and len(runs[-2]) <= 2 * len(runs[-1]):
            b, a = runs.pop(), runs.pop()
            runs.append(
                _sorted(
                    _Run(
                        np.concatenate([a.h1, b.h1]),
                        np.concatenate([a.h2, b.h2]),
                        np.concatenate([a.file, b.file]),
                        np.concatenate([a.row, b.row]),
                    ),
                    merge=True,
                )
            )
