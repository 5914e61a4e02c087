import Checksums

/// Why an object operation failed. S3Server maps each case to its S3 code.
public enum ObjectError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSuchKey
    /// No layout is applied yet.
    case notReady(String)
    /// Too few nodes answered for a write or read quorum (503).
    case unavailable(String)
    /// Content-MD5 does not match the body.
    case badDigest
    /// x-amz-content-sha256 does not match the body.
    case contentSHA256Mismatch
    /// The body's `x-amz-checksum-<algorithm>` is not the one sent.
    case checksumMismatch(ChecksumAlgorithm)
    /// The body ended before Content-Length bytes (or ran past it).
    case incompleteBody(expected: Int, received: Int)
    /// Fewer than k shards of a stripe could be read.
    case unreadable(String)
    /// No multipart upload of that id is in progress for the key.
    case noSuchUpload
    /// A part CompleteMultipartUpload names was not uploaded, or has another ETag or checksum.
    case invalidPart(String)
    /// CompleteMultipartUpload's parts are not in ascending order.
    case invalidPartOrder
    /// A part other than the last is smaller than the minimum part size.
    case entityTooSmall(part: Int, size: UInt64)
    /// A request that the upload's settings rule out (another checksum algorithm).
    case invalidRequest(String)
    /// The body's framing (aws-chunked) is broken, or a chunk's signature is wrong.
    case bodyRejected(BodyRejection)
    /// A conditional write's condition (If-None-Match, If-Match) does not hold.
    case preconditionFailed
    /// Conditional writers of one key kept pre-empting each other; nothing was written.
    case conditionalConflict
    /// A version id that is not one Shale makes (nor "null").
    case invalidVersionID
    /// No version of the key has that id (or it was deleted).
    case noSuchVersion
    /// The version read is a delete marker: the key's latest (`addressed`
    /// false: the key looks deleted) or the one the request named.
    case deleteMarker(s3VersionID: String, addressed: Bool)
    /// A combination Shale does not offer (answered NotImplemented, nothing done).
    case notImplemented(String)
    case internalError(String)

    public var description: String {
        switch self {
        case .noSuchKey: return "The specified key does not exist."
        case .notReady(let why): return "The cluster is not ready: \(why)"
        case .unavailable(let why): return "Not enough nodes are reachable: \(why)"
        case .badDigest: return "The Content-MD5 you specified did not match what we received."
        case .checksumMismatch(let algorithm):
            return "The \(algorithm.headerName) you specified did not match the calculated checksum."
        case .contentSHA256Mismatch: return "The provided 'x-amz-content-sha256' header does not match what was computed."
        case .incompleteBody(let expected, let received):
            return "You did not provide the number of bytes specified by the Content-Length HTTP header (expected \(expected), received \(received))."
        case .unreadable(let why): return "The object cannot be read: \(why)"
        case .noSuchUpload:
            return "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."
        case .invalidPart(let why): return "One or more of the specified parts could not be found or did not match: \(why)"
        case .invalidPartOrder: return "The list of parts was not in ascending order. Parts must be ordered by part number."
        case .entityTooSmall(let part, let size):
            return "Your proposed upload is smaller than the minimum allowed size: part \(part) has \(size) bytes; every part but the last needs at least 5 MiB."
        case .invalidRequest(let why): return why
        case .bodyRejected(.signatureMismatch):
            return "The request signature we calculated does not match the signature you provided (a chunk or trailer signature)."
        case .bodyRejected(.malformed(let why)): return "The aws-chunked body is malformed: \(why)."
        case .preconditionFailed: return "At least one of the pre-conditions you specified did not hold."
        case .conditionalConflict: return "A conflicting conditional operation is currently in progress against this resource. Please try again."
        case .invalidVersionID: return "Invalid version id specified"
        case .noSuchVersion: return "The specified version does not exist."
        case .deleteMarker(_, let addressed):
            return addressed ? "The specified method is not allowed against this resource." : "The specified key does not exist."
        case .notImplemented(let why): return why
        case .internalError(let why): return why
        }
    }
}

/// Why a body's encoding was refused.
public enum BodyRejection: Sendable, Equatable {
    case signatureMismatch
    case malformed(String)
}
