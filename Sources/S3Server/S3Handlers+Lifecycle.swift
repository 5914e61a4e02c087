import ClusterModel
import HTTPTypes
import Hummingbird
import Node
import S3Protocol

/// Put/Get/DeleteBucketLifecycleConfiguration: the rules go into the
/// cluster state, where every node's lifecycle worker finds them.
extension S3Handlers {
    static func stored(_ rule: LifecycleXML.Rule) -> LifecycleRule {
        var stored = LifecycleRule(id: rule.id, enabled: rule.enabled, prefix: rule.prefix,
                                   tags: rule.tags.map { ObjectTag(key: $0.key, value: $0.value) })
        stored.sizeGreaterThan = rule.sizeGreaterThan
        stored.sizeLessThan = rule.sizeLessThan
        stored.expirationDays = rule.expirationDays
        stored.expirationDateMillis = rule.expirationDate.map { UInt64($0) * 1000 }
        stored.expiredObjectDeleteMarker = rule.expiredObjectDeleteMarker
        stored.noncurrentDays = rule.noncurrentDays
        stored.newerNoncurrentVersions = rule.newerNoncurrentVersions
        stored.abortIncompleteDays = rule.abortIncompleteDays
        return stored
    }

    static func shown(_ rule: LifecycleRule) -> LifecycleXML.Rule {
        var shown = LifecycleXML.Rule(id: rule.id, enabled: rule.enabled)
        shown.prefix = rule.prefix
        shown.tags = rule.tags.map { Tagging.Tag(key: $0.key, value: $0.value) }
        shown.sizeGreaterThan = rule.sizeGreaterThan
        shown.sizeLessThan = rule.sizeLessThan
        shown.expirationDays = rule.expirationDays
        shown.expirationDate = rule.expirationDateMillis.map { Int64($0 / 1000) }
        shown.expiredObjectDeleteMarker = rule.expiredObjectDeleteMarker
        shown.noncurrentDays = rule.noncurrentDays
        shown.newerNoncurrentVersions = rule.newerNoncurrentVersions
        shown.abortIncompleteDays = rule.abortIncompleteDays
        return shown
    }

    func getBucketLifecycle(_ bucket: BucketRecord) throws -> Response {
        guard let rules = caller.state.bucketConfig(.lifecycle, of: bucket.id)?.lifecycle else {
            throw S3Error(.noSuchLifecycleConfiguration, "The lifecycle configuration does not exist")
        }
        return xml(LifecycleXML.render(rules.map(Self.shown)))
    }

    func putBucketLifecycle(_ bucket: BucketRecord, request: Request) async throws -> Response {
        let body = try await smallBody(request, upTo: LifecycleXML.maxBodyBytes, what: "LifecycleConfiguration")
        let rules = try LifecycleXML.parse(String(decoding: body, as: UTF8.self))
        do { try await cluster.setBucketConfig(BucketConfig(lifecycle: rules.map(Self.stored)), kind: .lifecycle, bucket: bucket.name.rawValue) } catch {
            throw S3Error(error)
        }
        return Response(status: .ok)
    }

    func deleteBucketLifecycle(_ bucket: BucketRecord) async throws -> Response {
        do { try await cluster.setBucketConfig(nil, kind: .lifecycle, bucket: bucket.name.rawValue) } catch { throw S3Error(error) }
        return Response(status: .noContent)
    }

    /// `x-amz-expiration` for an object a lifecycle rule will expire.
    func expirationHeader(_ version: ObjectVersion, key: String, bucket: BucketRecord) -> String? {
        guard let rules = caller.state.bucketConfig(.lifecycle, of: bucket.id)?.lifecycle,
              let due = Lifecycle.expiry(of: version, key: key, rules: rules) else { return nil }
        return LifecycleXML.expirationHeader(dueMillis: due.millis, ruleID: due.ruleID)
    }
}
