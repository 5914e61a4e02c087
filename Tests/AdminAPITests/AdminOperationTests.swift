import AdminAPI
import Testing

@Suite struct AdminOperationTests {
    @Test func everyPathOfTheAPIIsOneOperation() {
        let calls: [(String, String, [String: String], AdminOperation)] = [
            ("GET", "/metrics", [:], .metrics),
            ("GET", AdminPath.status, [:], .getClusterStatus),
            ("GET", AdminPath.nodeID, [:], .getNodeInfo),
            ("POST", AdminPath.nodeConnect, [:], .connectClusterNodes),
            ("GET", AdminPath.layout, [:], .getClusterLayout),
            ("GET", AdminPath.layoutHistory, [:], .getClusterLayoutHistory),
            ("POST", AdminPath.layoutAssign, [:], .updateClusterLayout),
            ("POST", AdminPath.layoutRemove, [:], .updateClusterLayout),
            ("POST", AdminPath.layoutConfig, [:], .updateClusterLayout),
            ("POST", AdminPath.layoutApply, [:], .applyClusterLayout),
            ("POST", AdminPath.layoutRevert, [:], .revertClusterLayout),
            ("GET", AdminPath.rebuild, [:], .getRebuildStatus),
            ("POST", AdminPath.rebuildStart, [:], .startRebuild),
            ("POST", AdminPath.rebuildVerify, [:], .verifyRedundancy),
            ("GET", AdminPath.scrub, [:], .getScrubStatus),
            ("POST", AdminPath.scrubStart, [:], .startScrub),
            ("GET", AdminPath.buckets, [:], .listBuckets),
            ("POST", AdminPath.buckets, [:], .createBucket),
            ("GET", AdminPath.buckets + "/logs", [:], .getBucketInfo),
            ("DELETE", AdminPath.buckets + "/logs", [:], .deleteBucket),
            ("POST", AdminPath.buckets + "/logs/allow", [:], .allowBucketKey),
            ("POST", AdminPath.buckets + "/logs/deny", [:], .denyBucketKey),
            ("GET", AdminPath.keys, [:], .listKeys),
            ("POST", AdminPath.keys, [:], .createKey),
            ("POST", AdminPath.keysImport, [:], .importKey),
            ("GET", AdminPath.keys + "/GK12", [:], .getKeyInfo),
            ("GET", AdminPath.keys + "/GK12", ["show_secret": "true"], .getKeySecret),
            ("DELETE", AdminPath.keys + "/GK12", [:], .deleteKey),
            ("GET", AdminPath.adminTokens, [:], .listAdminTokens),
            ("POST", AdminPath.adminTokens, [:], .createAdminToken),
            ("DELETE", AdminPath.adminTokens + "/AT00", [:], .revokeAdminToken),
        ]
        for (method, path, query, expected) in calls {
            #expect(AdminOperation.route(method: method, path: path, query: query) == expected, "\(method) \(path)")
        }
        #expect(Set(calls.map(\.3)) == Set(AdminOperation.allCases))
        // What the API does not have is no operation (the middleware lets only the master token reach its 404).
        #expect(AdminOperation.route(method: "DELETE", path: AdminPath.layout) == nil)
        #expect(AdminOperation.route(method: "GET", path: "/v1/buckets/a/b/c") == nil)
        #expect(AdminOperation.route(method: "PUT", path: AdminPath.buckets) == nil)
    }

    @Test func scopesParseGroupsAndNamesAndRefuseTokenManagement() throws {
        let readOnly = try AdminScope(parsing: ["read-only"])
        #expect(readOnly.allows(.listBuckets) && readOnly.allows(.metrics) && readOnly.allows(.getKeyInfo))
        #expect(!readOnly.allows(.createBucket) && !readOnly.allows(.getKeySecret) && !readOnly.allows(.applyClusterLayout))
        let mixed = try AdminScope(parsing: ["ListBuckets,createbucket", " GetClusterStatus "])
        #expect(mixed.stored == ["CreateBucket", "GetClusterStatus", "ListBuckets"])
        #expect(AdminScope(stored: mixed.stored) == mixed)
        let everything = try AdminScope(parsing: ["ListBuckets", "*"])
        #expect(everything.all && everything.stored == ["*"] && everything.allows(.createAdminToken))
        #expect(throws: AdminScope.ParseError.tokenManagement("CreateAdminToken")) { try AdminScope(parsing: ["CreateAdminToken"]) }
        #expect(throws: AdminScope.ParseError.unknown("DropEverything")) { try AdminScope(parsing: ["DropEverything"]) }
        #expect(throws: AdminScope.ParseError.empty) { try AdminScope(parsing: [" , "]) }
        // A stored scope naming token management (written by hand, or by a later version) grants none of it.
        #expect(!AdminScope(stored: ["RevokeAdminToken", "Bogus"]).allows(.revokeAdminToken))
        for group in AdminScope.groups.values { #expect(group.isDisjoint(with: AdminOperation.tokenManagement)) }
    }

    @Test func presentedTokensSplitIntoIdAndSecret() {
        let token = PresentedAdminToken("AT0123456789abcdef.secretpart")
        #expect(token?.id == "AT0123456789abcdef" && token?.secret == "secretpart")
        #expect(PresentedAdminToken("integration-admin-token-0123456789") == nil)
        #expect(PresentedAdminToken("AT0123456789abcdef.") == nil)
        #expect(PresentedAdminToken("AT01.secret") == nil)
    }
}
