import Checksums
import Units

/// The body checksum a PutObject asks for: `x-amz-checksum-<algorithm>` with
/// a base64 value to verify, and/or `x-amz-sdk-checksum-algorithm` naming the
/// algorithm (without a value: computed and stored, nothing to verify).
public struct RequestedChecksum: Sendable, Equatable {
    public let algorithm: ChecksumAlgorithm
    /// The digest the body must have; nil when only the algorithm was named.
    public let expected: [UInt8]?

    public init(algorithm: ChecksumAlgorithm, expected: [UInt8]?) {
        self.algorithm = algorithm
        self.expected = expected
    }

    /// Reads the checksum headers of a request (names lowercase).
    public static func parse(_ headers: [(name: String, value: String)]) throws(S3Error) -> RequestedChecksum? {
        var values: [(ChecksumAlgorithm, String)] = []
        for header in headers where header.name.hasPrefix("x-amz-checksum-") {
            let suffix = String(header.name.dropFirst("x-amz-checksum-".count))
            if suffix == "mode" || suffix == "type" || suffix == "algorithm" { continue }
            guard let algorithm = ChecksumAlgorithm(name: suffix) else {
                throw S3Error(.invalidRequest, "The checksum header \(header.name) names an algorithm S3 does not have.")
            }
            values.append((algorithm, header.value))
        }
        guard values.count <= 1 else {
            throw S3Error(.invalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        }
        var named: ChecksumAlgorithm?
        for headerName in ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"] {
            guard let text = headers.first(where: { $0.name == headerName })?.value else { continue }
            guard let algorithm = ChecksumAlgorithm(name: text.trimmed) else {
                throw S3Error(.invalidRequest, "Value for \(headerName) header is invalid.")
            }
            if let named, named != algorithm {
                throw S3Error(.invalidRequest, "x-amz-sdk-checksum-algorithm and x-amz-checksum-algorithm name different algorithms.")
            }
            named = algorithm
        }
        if let (algorithm, text) = values.first {
            if let named, named != algorithm {
                throw S3Error(.invalidRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid: it names \(named.rawValue), the checksum sent is \(algorithm.rawValue).")
            }
            guard let digest = Base64.decode(text.trimmed), digest.count == algorithm.digestByteCount else {
                throw S3Error(.invalidRequest, "Value for \(algorithm.headerName) header is invalid.")
            }
            return RequestedChecksum(algorithm: algorithm, expected: digest)
        }
        return named.map { RequestedChecksum(algorithm: $0, expected: nil) }
    }
}
