#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_service into corpus/fuzz_service/.

Each seed is a sequence of calls, framed as fuzz_service.cc reads them:
[1 byte RPC selector][2 bytes length, little endian][serialized request].
The requests are encoded by hand (proto3 wire format: varints and
length-delimited strings), so that no protobuf module is needed.
Run it again after changing the selectors or the proto.
"""
import os
import struct
import sys

RPC = {name: i for i, name in enumerate([
    "GetVersion", "GetPoolStats", "CreateVolume", "ListVolumes", "GetVolume",
    "DeleteVolume", "ResizeVolume", "CreateSnapshot", "CreateSnapshots",
    "ListSnapshots", "DeleteSnapshot", "RollbackSnapshot", "CloneVolume",
    "ListTemplates", "DeleteTemplate", "CloneFromTemplate",
    "PromoteSnapshotToTemplate", "ImportTemplate", "GetImportJob",
    "ListImportJobs", "CancelImportJob", "ToggleOpen", "RenameVolume",
    "RenameSnapshot", "GetReceiveState", "AbortReceive", "AdoptVolume",
    "ReleaseVolume", "SetSnapshotPolicy", "GetSnapshotPolicy", "RunScheduler"])}

ID1 = "11111111-1111-4111-8111-111111111111"
ID2 = "22222222-2222-4222-8222-222222222222"
GiB = 1 << 30


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def s(field, value):  # string
    data = value.encode() if isinstance(value, str) else value
    return varint(field << 3 | 2) + varint(len(data)) + data


def u(field, value):  # uint64 / uint32 / bool
    return varint(field << 3) + varint(value)


def call(rpc, *fields):
    body = b"".join(fields)
    return bytes([RPC[rpc]]) + struct.pack("<H", len(body)) + body


def toggle(volume):
    return bytes([RPC["ToggleOpen"]]) + struct.pack("<H", len(volume)) + volume.encode()


SEEDS = {
    "volume_lifecycle": [
        call("CreateVolume", s(1, "data-1"), u(2, 10 * GiB)),
        call("CreateVolume", s(1, "data-1"), u(2, 10 * GiB)),  # idempotent
        call("CreateVolume", s(1, "data-1"), u(2, 20 * GiB)),  # ALREADY_EXISTS
        call("GetVolume", s(1, "data-1")),
        call("ResizeVolume", s(1, "data-1"), u(2, 12 * GiB + 1)),
        call("ResizeVolume", s(1, "data-1"), u(2, GiB)),  # shrink: refused
        call("ListVolumes"),
        call("DeleteVolume", s(1, "data-1")),
        call("GetVolume", s(1, "data-1")),
    ],
    "create_variants": [
        call("CreateVolume", s(1, "v4k"), u(2, 4097), u(3, 4096), s(4, ID2)),
        call("CreateVolume", s(1, "v128k"), u(2, 1), u(3, 131072)),
        call("CreateVolume", s(1, "bad-bs"), u(2, GiB), u(3, 3000)),
        call("CreateVolume", s(1, "too-big"), u(2, (1 << 64) - 1)),
        call("CreateVolume", s(1, "zero"), u(2, 0)),
        call("CreateVolume", s(1, "dup-id"), u(2, GiB), s(4, ID1)),
        call("CreateVolume", s(1, "bad-id"), u(2, GiB), s(4, "not-a-uuid")),
        call("CreateVolume", s(1, ".mvirt"), u(2, GiB)),
        call("CreateVolume", s(1, "a/b"), u(2, GiB)),
        call("CreateVolume", s(1, "x" * 101), u(2, GiB)),
    ],
    "snapshots": [
        call("CreateSnapshot", s(1, "vm-1"), s(2, "snap-2")),
        call("CreateSnapshot", s(1, "vm-1"), s(2, "snap-2")),  # ALREADY_EXISTS
        call("CreateSnapshots", s(1, "vm-1"), s(1, "clone-1"), s(2, "group")),
        call("CreateSnapshots", s(1, "vm-1"), s(1, "missing"), s(2, "g2")),
        call("ListSnapshots", s(1, "vm-1")),
        call("DeleteSnapshot", s(1, "vm-1"), s(2, "snap-2")),
        call("RollbackSnapshot", s(1, "vm-1"), s(2, "snap-1")),
        call("DeleteSnapshot", s(1, "vm-1"), s(2, "nope")),
    ],
    "busy_volume": [
        toggle("vm-1"),
        call("RollbackSnapshot", s(1, "vm-1"), s(2, "snap-1")),
        call("DeleteVolume", s(1, "vm-1")),
        toggle("vm-1"),
        call("RollbackSnapshot", s(1, "vm-1"), s(2, "snap-1")),
        call("DeleteVolume", s(1, "vm-1")),
    ],
    "clones": [
        call("CloneVolume", s(1, "vm-1"), s(2, "snap-1"), s(3, "c2")),
        call("CloneVolume", s(1, "vm-1"), s(2, "snap-1"), s(3, "c3"), u(4, 2 * GiB), s(5, ID2)),
        call("CloneVolume", s(1, "vm-1"), s(2, "snap-1"), s(3, "c4"), u(4, 1)),  # smaller
        call("DeleteSnapshot", s(1, "vm-1"), s(2, "snap-1")),  # has clones
        call("DeleteVolume", s(1, "vm-1")),  # has clones
        call("DeleteVolume", s(1, "c2")),
        call("DeleteVolume", s(1, "c3")),
        call("DeleteVolume", s(1, "vm-1")),
    ],
    "templates": [
        call("ListTemplates"),
        call("PromoteSnapshotToTemplate", s(1, "vm-1"), s(2, "snap-1"), s(3, "tmpl-2")),
        call("PromoteSnapshotToTemplate", s(1, "vm-1"), s(2, "snap-1"), s(3, "tmpl-1")),
        call("CloneFromTemplate", s(1, "tmpl-2"), s(2, "from-t2")),
        call("CloneFromTemplate", s(1, "tmpl-2"), s(2, "small"), u(3, 4096)),
        call("DeleteTemplate", s(1, "tmpl-1")),  # clone-1 still uses it
        call("DeleteVolume", s(1, "clone-1")),
        call("DeleteTemplate", s(1, "tmpl-2")),
        call("DeleteVolume", s(1, "from-t2")),
        call("ListTemplates"),
    ],
    "imports": [
        call("ImportTemplate", s(1, "t-raw"), s(2, "$D/raw.img")),
        call("ImportTemplate", s(1, "t-q"), s(2, "$D/tiny.qcow2"), u(3, 2 * GiB)),
        call("ImportTemplate", s(1, "t-bad"), s(2, "$D/bad.qcow2"), s(100, "ab" * 32)),
        call("ImportTemplate", s(1, "t-out"), s(2, "$D/../../etc/passwd")),
        call("ImportTemplate", s(1, "tmpl-1"), s(2, "$D/raw.img")),
        call("ImportTemplate", s(1, "t-url"), s(2, "https://example.org/disk.qcow2")),
        call("ImportTemplate", s(1, "t-http"), s(2, "http://example.org/disk.img")),
        call("ImportTemplate", s(1, "t-size"), s(2, "$D/raw.img"), u(3, 0)),
        call("ListImportJobs", u(1, 1)),
        call("GetImportJob", s(1, ID1)),
        call("CancelImportJob", s(1, ID1)),
    ],
    "adoption": [
        call("ReleaseVolume", s(1, "vm-1"), s(2, ID2)),  # another id
        call("ReleaseVolume", s(1, "clone-1")),
        call("AdoptVolume", s(1, "fuzzpool/clone-1"), s(2, "clone-2"), s(3, ID2)),
        call("AdoptVolume", s(1, "fuzzpool/clone-2"), s(2, "clone-2"), s(3, ID2)),  # a retry
        call("AdoptVolume", s(1, "fuzzpool/vm-1")),  # managed already
        call("AdoptVolume", s(1, "fuzzpool/.mvirt/templates/tmpl-1"), s(2, "t")),
        call("ReleaseVolume", s(1, "vm-1")),
        call("AdoptVolume", s(1, "fuzzpool/vm-1"), u(5, 1)),
    ],
    "schedules": [
        call("SetSnapshotPolicy", s(1, s(1, "vm-1") + u(2, 2) + u(3, 1) + s(5, "g"))),
        call("SetSnapshotPolicy", s(1, s(1, "clone-1") + u(2, 1) + s(5, "g"))),
        call("GetSnapshotPolicy", s(1, "vm-1")),
        bytes([RPC["RunScheduler"]]) + struct.pack("<H", 4) + struct.pack("<I", 3600),
        bytes([RPC["RunScheduler"]]) + struct.pack("<H", 4) + struct.pack("<I", 7300),
        bytes([RPC["RunScheduler"]]) + struct.pack("<H", 4) + struct.pack("<I", 90000),
        call("SetSnapshotPolicy", s(1, s(1, "vm-1") + u(2, 1001))),  # too many
        call("SetSnapshotPolicy", s(1, s(1, "vm-1"))),  # cleared
    ],
    "reads": [
        call("GetVersion"),
        call("GetPoolStats"),
        call("ListVolumes"),
        call("GetVolume", s(1, "clone-1")),
        call("GetVolume", s(1, "vm-1@snap-1")),
        call("ListSnapshots", s(1, "clone-1")),
        call("ListTemplates"),
        call("ListImportJobs"),
    ],
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_service")
    if len(sys.argv) > 1:
        out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, calls in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(calls))
    # One seed per call, too: small inputs for the mutator to combine.
    for name, calls in SEEDS.items():
        for i, c in enumerate(calls):
            with open(os.path.join(out, f"{name}_{i:02d}"), "wb") as f:
                f.write(c)


if __name__ == "__main__":
    main()
