#!/usr/bin/env python3
"""Shares of a node's CPU samples (a `perf record -g` file from
profile_load.py) whose stack passes through each part of the server; a
sample can count in several parts (e.g. JSON encoding under an RPC call).

  python3 Benchmarks/s3/profile_categories.py /tmp/shale-profile/node0.data
"""
import re
import subprocess
import sys

RATE = 499  # profile_load.py's `perf record -F`

PARTS = [
    ("S3 request signature (SigV4)", r"SigV4"),
    ("RPC client (AsyncHTTPClient)", r"AsyncHTTPClient"),
    ("HTTP/2 stream set-up", r"createStreamChannel|HTTP2StreamMultiplexer.*create"),
    # NIOSSL's BoringSSL (CNIOBoringSSL), not swift-crypto's (CCryptoBoringSSL, which hashes MD5 and SHA-256).
    ("TLS (NIOSSL, BoringSSL)", r"NIOSSL|CNIOBoringSSL"),
    ("  of it AES-GCM", r"CNIOBoringSSL_aes_gcm|aesni_gcm|gcm_ghash"),
    ("JSON encoding", r"JSONEncoder"),
    ("JSON decoding", r"JSONDecoder"),
    ("SQLite (GRDB)", r"GRDB|sqlite3"),
    ("erasure coding (ISA-L)", r"ec_encode|gf_.*vect|ISAL"),
    ("MD5 (the ETag)", r"md5_block"),
    ("CRC32C", r"crc32_iscsi"),
    ("memory copies in user space (memmove)", r"__memmove|__memcpy"),
    ("kernel", r"\[kernel\.kallsyms\]"),
    ("  of it writes into the page cache", r"generic_perform_write|copy_folio_from_iter"),
    ("  of it socket copies", r"tcp_sendmsg|tcp_recvmsg"),
    ("  of it fsync", r"vfs_fsync|fdatasync|do_fsync"),
]


def main() -> None:
    for path in sys.argv[1:]:
        script = subprocess.run(["perf", "script", "-i", path], capture_output=True, text=True).stdout
        samples = [s for s in script.split("\n\n") if s.strip()]
        print(f"{path}: {len(samples)} samples ({len(samples) / RATE:.1f} s of CPU at {RATE} Hz)")
        for name, pattern in PARTS:
            rx = re.compile(pattern)
            share = sum(1 for s in samples if rx.search(s)) / max(len(samples), 1)
            print(f"  {name:34s} {100 * share:5.1f}%")


if __name__ == "__main__":
    main()
