#!/usr/bin/env python3
"""Recompute a qunzhu lottery draw (qunzhu-draw-v1) from its published record, independently
of qunzhu: plain Python 3, no ChaCha library (the RFC 8439 block function is written out).

    curl -s http://127.0.0.1:8080/api/v1/lotteries/lt-... | python3 scripts/verify-draw.py

reads the lottery as `GET /api/v1/lotteries/{id}` answers it (or a bare lottery object) and
prints whether the entrants' hash and the winners match. Exit status 0 when they do.

    python3 scripts/verify-draw.py --self-test

checks this script against the ChaCha20 test vector and the vector in docs/lottery-draw.md.
The algorithm is documented in docs/lottery-draw.md.
"""

import hashlib
import json
import struct
import sys


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter):
    """One 64-byte ChaCha20 keystream block: 20 rounds, nonce 0 (RFC 8439 §2.3)."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8I", key)) + [counter & 0xFFFFFFFF, counter >> 32, 0, 0]
    w = state[:]
    for _ in range(10):
        _quarter(w, 0, 4, 8, 12)
        _quarter(w, 1, 5, 9, 13)
        _quarter(w, 2, 6, 10, 14)
        _quarter(w, 3, 7, 11, 15)
        _quarter(w, 0, 5, 10, 15)
        _quarter(w, 1, 6, 11, 12)
        _quarter(w, 2, 7, 8, 13)
        _quarter(w, 3, 4, 9, 14)
    return struct.pack("<16I", *[(a + b) & 0xFFFFFFFF for a, b in zip(w, state)])


def words(key):
    """The keystream as consecutive little-endian 64-bit words."""
    counter = 0
    while True:
        block = chacha20_block(key, counter)
        counter += 1
        for i in range(0, 64, 8):
            yield struct.unpack("<Q", block[i : i + 8])[0]


def sorted_entrants(entrants):
    return sorted(set(entrants), key=lambda e: e.encode("utf-8"))


def entrants_sha256(entrants):
    return hashlib.sha256("".join(e + "\n" for e in entrants).encode("utf-8")).hexdigest()


def winners(seed_hex, lottery_id, entrants, count):
    key = hashlib.sha256(bytes.fromhex(seed_hex) + lottery_id.encode("utf-8")).digest()
    stream = words(key)
    pool = list(entrants)
    n = len(pool)
    for i in range(min(count, n)):
        m = n - i
        limit = (2**64 // m) * m
        while True:
            w = next(stream)
            if w < limit:
                break
        j = i + w % m
        pool[i], pool[j] = pool[j], pool[i]
    return pool[: min(count, n)]


def self_test():
    assert next(words(bytes(32))) == 0x903DF1A0ADE0B876, "ChaCha20 zero-key vector"
    entrants = sorted_entrants(["qq/3", "qq/1", "qq/2", "qq/5", "qq/4"])
    assert entrants_sha256(entrants) == "f1188b54b67e100895a8941ad6e60a0380bd99a521abf9f0c37ff72293fbb6de"
    assert winners("00" * 31 + "01", "lt-demo", entrants, 2) == ["qq/3", "qq/1"]
    print("self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    document = json.load(sys.stdin)
    lottery = document.get("lottery", document)
    record = lottery.get("draw")
    if not record:
        print(f"lottery {lottery.get('id')} has not been drawn")
        return 2
    if record.get("algorithm") != "qunzhu-draw-v1":
        print(f"unknown algorithm {record.get('algorithm')!r}")
        return 1
    entrants = record["entrants"]
    ok = True
    if entrants != sorted_entrants(entrants):
        print("MISMATCH: the entrants are not sorted and unique")
        ok = False
    digest = entrants_sha256(entrants)
    if digest != record["entrants_sha256"]:
        print(f"MISMATCH: entrants hash {digest} != published {record['entrants_sha256']}")
        ok = False
    again = winners(record["seed"], lottery["id"], entrants, lottery["winners"])
    if again != record["winners"]:
        print(f"MISMATCH: recomputed winners {again} != published {record['winners']}")
        ok = False
    if ok:
        print(f"OK: {len(entrants)} entrants (sha256 {digest}); winners {again}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
