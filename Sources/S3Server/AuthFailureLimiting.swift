import ClusterModel
import Metrics
import Node
import S3Protocol

extension S3Responder {
    /// Runs a signature check under the failure limiter. The client is the
    /// source address with the access key it named when that key exists,
    /// else `?`: a guesser of one key's secret is stopped on that key, a
    /// sprayer of made-up key ids on `?`, and the same address's other keys
    /// go on. A limited client is answered SlowDown whatever it signed, so
    /// the answer tells it nothing about its guess.
    func limitingFailures<T>(presentedKey: String?, source: String?, state: ClusterState, _ check: () throws -> T) throws -> T {
        let known = presentedKey.flatMap(AccessKeyID.init).flatMap { state.secret(for: $0) != nil ? $0.rawValue : nil }
        let client = AuthFailureLimiter.Client(api: "s3", source: source, credential: known ?? "?")
        if limiter.isLimited(client) {
            Counter(label: "shale_auth_rate_limited_total", dimensions: [("api", "s3")]).increment()
            throw S3Error(.slowDown, "Please reduce your request rate: too many failed authentications from this client.")
        }
        do {
            return try check()
        } catch let error as S3Error where error.code == .signatureDoesNotMatch || error.code == .invalidAccessKeyId {
            limiter.recordFailure(client)
            Counter(label: "shale_auth_failures_total", dimensions: [("api", "s3"), ("reason", error.code.rawValue)]).increment()
            // Labelled by key only for keys that exist, so the series stay as few as the keys.
            if let known { Counter(label: "shale_s3_auth_failures_by_key_total", dimensions: [("key", known)]).increment() }
            throw error
        }
    }
}
