import ClusterModel
import Erasure
import Placement
import Testing
import Units

private func stamp(_ millis: UInt64, _ node: String = "a", counter: UInt32 = 0) -> Stamp {
    Stamp(millis: millis, counter: counter, node: node)
}

private func bucketID(_ byte: UInt8) -> BucketID { BucketID(bytes: [UInt8](repeating: byte, count: 32))! }

private func key(_ digit: Character, name: String) -> AccessKeyRecord {
    AccessKeyRecord(id: AccessKeyID("GK" + String(repeating: digit, count: 24))!, name: name,
                    secret: SecretKey(String(repeating: "a", count: 64))!, createdMillis: 1)
}

@Suite struct HybridClockTests {
    @Test func stampsNeverGoBackwardsEvenWhenTheWallClockDoes() {
        var clock = HybridClock(node: "n")
        let first = clock.next(wallMillis: 1000)
        let second = clock.next(wallMillis: 500)
        #expect(second > first)
        clock.observe(stamp(9000, "other", counter: 4))
        let third = clock.next(wallMillis: 600)
        #expect(third > stamp(9000, "other", counter: 4))
        #expect(third.node == "n")
    }
}

@Suite struct LWWMapTests {
    @Test func newerWriteWinsWhateverTheOrder() {
        var a = LWWMap<String>()
        var b = LWWMap<String>()
        a.set("k", "old", stamp: stamp(1))
        b.set("k", "new", stamp: stamp(2))
        var ab = a; ab.merge(b)
        var ba = b; ba.merge(a)
        #expect(ab == ba)
        #expect(ab["k"] == "new")
        let changed = a.set("k", "older", stamp: stamp(0))
        #expect(!changed)
    }

    @Test func equalTimesAreBrokenByNodeID() {
        var a = LWWMap<Int>()
        a.set("k", 1, stamp: stamp(5, "a"))
        a.set("k", 2, stamp: stamp(5, "b"))
        #expect(a["k"] == 2)
    }
}

@Suite struct ClusterStateTests {
    @Test func bucketLifecycle() throws {
        var state = ClusterState()
        let record = try state.createBucket(name: "lakehouse", id: bucketID(1), createdMillis: 1, stamp: stamp(1))
        #expect(try state.bucket(named: "lakehouse").id == record.id)
        #expect(throws: ClusterError.bucketExists("lakehouse")) {
            try state.createBucket(name: "lakehouse", id: bucketID(2), createdMillis: 2, stamp: stamp(2))
        }
        try state.deleteBucket(name: "lakehouse", stamp: stamp(3))
        #expect(throws: ClusterError.noSuchBucket("lakehouse")) { try state.bucket(named: "lakehouse") }
        // The name is free again after deletion.
        _ = try state.createBucket(name: "lakehouse", id: bucketID(3), createdMillis: 4, stamp: stamp(4))
    }

    @Test(arguments: ["ab", "Upper", "a_b", "-ab", "ab-", "a..b", "192.168.1.1", String(repeating: "a", count: 64),
                      "\u{FF41}\u{FF42}\u{FF43}", "caf\u{E9}", "abc\u{301}", "ab.", "", "a b"])
    func invalidBucketNamesAreRefused(_ name: String) {
        #expect(throws: ClusterError.self) { try BucketName(validating: name) }
    }

    @Test(arguments: ["abc", "lakehouse-raw", "my.bucket.1", String(repeating: "a", count: 63)])
    func validBucketNames(_ name: String) throws {
        _ = try BucketName(validating: name)
    }

    /// Ids are "GK" and 24 lowercase ASCII hex digits, nothing that merely looks like them.
    @Test func accessKeyIDsParseOnlyTheirExactForm() {
        #expect(AccessKeyID("GK" + String(repeating: "0a", count: 12)) != nil)
        for text in ["GK" + String(repeating: "0A", count: 12), "GK" + String(repeating: "a", count: 23), "GK" + String(repeating: "a", count: 25),
                     "gk" + String(repeating: "a", count: 24), "GK" + String(repeating: "\u{FF41}", count: 24),
                     "GK" + String(repeating: "a", count: 23) + "g", "GK" + String(repeating: "a", count: 22) + "\u{E9}"] {
            #expect(AccessKeyID(text) == nil, "\(text)")
        }
    }

    @Test func sameNameOnBothSidesOfAPartitionKeepsTheOlderBucket() throws {
        var a = ClusterState()
        var b = ClusterState()
        _ = try a.createBucket(name: "logs", id: bucketID(1), createdMillis: 10, stamp: stamp(10, "a"))
        _ = try b.createBucket(name: "logs", id: bucketID(2), createdMillis: 20, stamp: stamp(20, "b"))
        a.merge(b)
        b.merge(a)
        #expect(a == b)
        #expect(try a.bucket(named: "logs").id == bucketID(1).hex)
    }

    @Test func keysResolveByIDNameOrPrefix() throws {
        var state = ClusterState()
        try state.addKey(key("1", name: "trino"), stamp: stamp(1))
        try state.addKey(key("2", name: "airbyte"), stamp: stamp(2))
        try state.addKey(key("3", name: "airbyte"), stamp: stamp(3))
        #expect(try state.key(matching: "trino").id.rawValue.hasPrefix("GK111"))
        #expect(try state.key(matching: "GK2222").name == "airbyte")
        #expect(throws: ClusterError.self) { try state.key(matching: "airbyte") }
        #expect(throws: ClusterError.noSuchKey("nobody")) { try state.key(matching: "nobody") }
        #expect(throws: ClusterError.keyExists("GK" + String(repeating: "1", count: 24))) {
            try state.addKey(key("1", name: "again"), stamp: stamp(4))
        }
        let deleted = try state.deleteKey(matching: "trino", stamp: stamp(5))
        #expect(state.secret(for: deleted.id) == nil)
        #expect(state.liveKeys.count == 2)
    }

    @Test func permissionFlagsMergeOneByOne() throws {
        var base = ClusterState()
        let record = try base.createBucket(name: "shared", id: bucketID(1), createdMillis: 1, stamp: stamp(1))
        try base.addKey(key("1", name: "k"), stamp: stamp(1))
        let keyID = AccessKeyID("GK" + String(repeating: "1", count: 24))!
        var a = base, b = base
        try a.setPermissions([.read], allowed: true, key: keyID, bucketID: record.id, stamp: stamp(5, "a"))
        try b.setPermissions([.write], allowed: true, key: keyID, bucketID: record.id, stamp: stamp(6, "b"))
        a.merge(b)
        #expect(a.permissions(of: keyID, on: record.id) == [.read, .write])
        try a.setPermissions([.read], allowed: false, key: keyID, bucketID: record.id, stamp: stamp(7, "a"))
        #expect(a.permissions(of: keyID, on: record.id) == [.write])
        #expect(throws: ClusterError.noPermissionGiven) {
            try a.setPermissions([], allowed: true, key: keyID, bucketID: record.id, stamp: stamp(8))
        }
    }

    @Test func mergeIsCommutativeAssociativeAndIdempotent() throws {
        var x = ClusterState(), y = ClusterState(), z = ClusterState()
        _ = try x.createBucket(name: "one", id: bucketID(1), createdMillis: 1, stamp: stamp(1, "x"))
        try y.addKey(key("2", name: "two"), stamp: stamp(2, "y"))
        _ = try z.createBucket(name: "three", id: bucketID(3), createdMillis: 3, stamp: stamp(3, "z"))
        try z.deleteBucket(name: "three", stamp: stamp(4, "z"))
        var left = x; left.merge(y); left.merge(z)
        var right = z; right.merge(x); right.merge(y)
        #expect(left == right)
        var again = left
        let changed = again.merge(right)
        #expect(!changed)
        #expect(again == left)
    }
}

@Suite struct ClusterLayoutTests {
    let a = NodeID(String(repeating: "a", count: 64))
    let b = NodeID(String(repeating: "b", count: 64))
    let c = NodeID(String(repeating: "c", count: 64))

    func role(_ zone: String) -> NodeRole { NodeRole(zone: ZoneName(zone), capacity: ByteCount(bytes: 10_000_000_000)) }

    @Test func stageApplyAndRetireStagedChanges() throws {
        var layout = ClusterLayout()
        try layout.stageCode(try ErasureCode(dataShards: 2, parityShards: 1), stamp: stamp(1))
        layout.stageAssign(a, role: role("z1"), stamp: stamp(2))
        layout.stageAssign(b, role: role("z2"), stamp: stamp(3))
        layout.stageAssign(c, role: role("z3"), stamp: stamp(4))
        #expect(throws: ClusterError.layout(.wrongVersion(given: LayoutVersion(2), expected: LayoutVersion(1)))) {
            try layout.apply(version: LayoutVersion(2), stamp: stamp(5))
        }
        let applied = try layout.apply(version: LayoutVersion(1), stamp: stamp(5))
        #expect(applied.code.description == "2+1")
        #expect(layout.currentVersion == LayoutVersion(1))
        #expect(!layout.history().hasStagedChanges)
        #expect(throws: ClusterError.layout(.codeFixedAfterFirstApply)) {
            try layout.stageCode(try ErasureCode(dataShards: 4, parityShards: 2), stamp: stamp(6))
        }
        try layout.stageRemove(c, stamp: stamp(7))
        #expect(layout.history().proposedRoles[c] == nil)
        try layout.revert(stamp: stamp(8))
        #expect(!layout.history().hasStagedChanges)
        #expect(throws: ClusterError.layout(.nothingStaged)) { try layout.revert(stamp: stamp(9)) }
    }

    @Test func changesStagedOnTwoNodesCombine() throws {
        var one = ClusterLayout(), two = ClusterLayout()
        one.stageAssign(a, role: role("z1"), stamp: stamp(1, "one"))
        two.stageAssign(b, role: role("z2"), stamp: stamp(2, "two"))
        one.merge(two)
        #expect(Set(one.history().proposedRoles.keys) == [a, b])
        let applied = try one.apply(version: LayoutVersion(1), stamp: stamp(3, "one"))
        two.merge(one)
        #expect(two.history().current == applied)
    }

    @Test func replaceStagesRemoveAndAssign() throws {
        var layout = ClusterLayout()
        layout.stageAssign(a, role: role("z1"), stamp: stamp(1))
        layout.stageAssign(b, role: role("z2"), stamp: stamp(1, "b"))
        try layout.apply(version: LayoutVersion(1), stamp: stamp(2))
        try layout.stageRemove(b, stamp: stamp(3))
        layout.stageAssign(c, role: role("z2"), stamp: stamp(3))
        let next = try layout.apply(version: LayoutVersion(2), stamp: stamp(4))
        #expect(Set(next.roles.keys) == [a, c])
        #expect(layout.history().applied.count == 2)
    }
}

@Suite struct NodeResolutionTests {
    let ids = [NodeID("ab12" + String(repeating: "0", count: 60)), NodeID("ab34" + String(repeating: "0", count: 60)),
               NodeID("cd56" + String(repeating: "0", count: 60))]

    @Test func fullIDPrefixAndConnectStringResolve() throws {
        #expect(try resolveNode(ids[2].rawValue, among: ids) == ids[2])
        #expect(try resolveNode("ab3", among: ids) == ids[1])
        #expect(try resolveNode("cd56@127.0.0.1:3901", among: ids) == ids[2])
        #expect(try resolveNode("AB12", among: ids) == ids[0])
    }

    @Test func ambiguousUnknownAndMalformedAreErrors() {
        #expect(throws: ClusterError.self) { try resolveNode("ab", among: ids) }
        #expect(throws: ClusterError.unknownNode("ef")) { try resolveNode("ef", among: ids) }
        #expect(throws: ClusterError.unknownNode("")) { try resolveNode("", among: ids) }
        #expect(throws: ClusterError.unknownNode("zz")) { try resolveNode("zz", among: ids) }
    }
}

@Suite struct AdminTokenStateTests {
    func record(_ id: String, _ name: String, expires: UInt64? = nil) -> AdminTokenRecord {
        AdminTokenRecord(id: AdminTokenID(id)!, name: name, secretSHA256: String(repeating: "0", count: 64), scope: ["ListBuckets"],
                         createdMillis: 1000, expiresMillis: expires)
    }

    @Test func tokensAreAddedFoundRevokedAndMergedLikeKeys() throws {
        var a = ClusterState()
        try a.addAdminToken(record("AT00000000000000a1", "monitor", expires: 5000), stamp: stamp(1, "a"))
        #expect(throws: ClusterError.adminTokenExists("monitor")) {
            var copy = a
            try copy.addAdminToken(record("AT00000000000000b2", "monitor"), stamp: stamp(2, "a"))
        }
        #expect(try a.adminToken(matching: "monitor").id.rawValue == "AT00000000000000a1")
        #expect(try a.adminToken(matching: "AT00000000000000a").name == "monitor")
        #expect(a.liveAdminTokens[0].isExpired(atMillis: 5000) && !a.liveAdminTokens[0].isExpired(atMillis: 4999))
        var b = a
        _ = try b.revokeAdminToken(matching: "monitor", stamp: stamp(3, "b"))
        let changed = a.merge(b)
        #expect(changed)
        #expect(a.liveAdminTokens.isEmpty && a.adminTokens["AT00000000000000a1"]?.revoked == true)
        #expect(throws: ClusterError.noSuchAdminToken("monitor")) { try a.adminToken(matching: "monitor") }
        // A revoked id is never reused.
        #expect(throws: ClusterError.adminTokenExists("AT00000000000000a1")) {
            var copy = a
            try copy.addAdminToken(record("AT00000000000000a1", "other"), stamp: stamp(4, "a"))
        }
    }
}
