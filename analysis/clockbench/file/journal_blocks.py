"""The events of a CBJRNL04 crash journal: blocks of columns, each column narrowed to the fewest
bytes its values need (docs/schema.md, "Crash journal"). Decoded into the records of the older
fixed-size layout, so that recovery reads every journal version the same way."""
import struct
from typing import Callable, List, Tuple

import numpy as np

# block_bytes, events, first_tick, lamport_before, late_deliveries, messages, eight column widths
BLOCK = struct.Struct("<IIqqII8B")
WIDTHS = (0, 1, 2, 4, 8)
TICK, LAMPORT, JUMP, QUEUE, PEER, MSG_TICK, MSG_CLOCK = range(7)


def _codes(data: bytes, at: int, width: int, count: int) -> Tuple[np.ndarray, int]:
    """`count` zigzag codes of `width` bytes at `at`, as the signed values they stand for."""
    if width == 0:
        return np.zeros(count, np.int64), at
    raw = np.frombuffer(data, f"<u{width}", count, at).astype(np.uint64)
    return (raw >> np.uint64(1) ^ -(raw & np.uint64(1))).view(np.int64), at + width * count


def block_size(events: int, messages: int, widths: Tuple[int, ...]) -> int:
    """The length a block of these counts and widths has."""
    per_event = widths[TICK] + 8 + widths[LAMPORT] + widths[JUMP] + widths[QUEUE] + widths[PEER] + 1
    return (BLOCK.size + events * per_event + (events + 7) // 8
            + messages * (widths[MSG_TICK] + widths[MSG_CLOCK] + 8))


def decode(data: bytes, at: int, record: np.dtype, damaged: Callable[[str], Exception]) -> Tuple[np.ndarray, int]:
    """The events of the blocks from byte `at` to the end of `data`, as an array of `record`, and
    the bytes of a last block cut by the crash (dropped). A whole block that does not add up
    raises damaged(reason)."""
    parts: List[np.ndarray] = []
    while len(data) - at >= BLOCK.size:
        block_bytes, n, first_tick, lamport_before, late, m, *widths = BLOCK.unpack_from(data, at)
        if block_bytes > len(data) - at:
            break  # cut by the crash
        if n == 0 or m > n or any(w not in WIDTHS for w in widths) or widths[7] != 0 \
                or block_size(n, m, tuple(widths)) != block_bytes:
            raise damaged(f"the block at byte {at} is damaged ({n} events, {m} messages, widths {widths}, "
                          f"{block_bytes} bytes)")
        p = at + BLOCK.size
        ev = np.zeros(n, record)
        d, p = _codes(data, p, widths[TICK], n)
        ev["tick"] = first_tick + np.arange(n, dtype=np.int64) + d
        ev["t"] = np.frombuffer(data, "<f8", n, p)
        p += 8 * n
        d, p = _codes(data, p, widths[LAMPORT], n)
        lamport = lamport_before + np.cumsum(d)
        ev["lamport"] = lamport
        for name, w in (("jump", JUMP), ("queue", QUEUE), ("peer", PEER)):
            ev[name], p = _codes(data, p, widths[w], n)
        ev["kind"] = np.frombuffer(data, "u1", n, p)
        p += n
        carries = np.unpackbits(np.frombuffer(data, "u1", (n + 7) // 8, p), bitorder="little")[:n].astype(bool)
        p += (n + 7) // 8
        if int(carries.sum()) != m:
            raise damaged(f"the block at byte {at} is damaged (its bitmap marks {int(carries.sum())} messages, "
                          f"its header {m})")
        msg_tick, p = _codes(data, p, widths[MSG_TICK], m)
        below, p = _codes(data, p, widths[MSG_CLOCK], m)
        ev["msg_tick"], ev["msg_clock"], ev["msg_arrival"] = -1, -1, np.nan
        ev["msg_tick"][carries] = msg_tick
        ev["msg_clock"][carries] = lamport[carries] - below
        ev["msg_arrival"][carries] = np.frombuffer(data, "<f8", m, p)
        ev["late_deliveries"] = late
        parts.append(ev)
        at += block_bytes
    events = np.concatenate(parts) if parts else np.zeros(0, record)
    return events, len(data) - at
