import ClusterModel
import Node
import S3Protocol

/// The one place where the layers' errors become S3 answers. Messages sent
/// to clients are fixed texts or counts; the cause (a peer's address, a
/// path, an internal error) goes to the node's log as `logDetail`.
extension S3Error {
    static let internalMessage = "We encountered an internal error. Please try again."
    static let retryMessage = "Please reduce your request rate or try again: a node of the cluster did not answer in time."

    init(_ error: ObjectError) {
        switch error {
        case .noSuchKey: self.init(.noSuchKey, error.description)
        case .notReady, .unavailable: self.init(.serviceUnavailable, error.description)
        case .badDigest, .checksumMismatch: self.init(.badDigest, error.description)
        case .contentSHA256Mismatch: self.init(.xAmzContentSHA256Mismatch, error.description)
        case .incompleteBody: self.init(.incompleteBody, error.description)
        case .unreadable: self.init(.serviceUnavailable, error.description)
        case .noSuchUpload: self.init(.noSuchUpload, error.description)
        case .invalidPart: self.init(.invalidPart, error.description)
        case .invalidPartOrder: self.init(.invalidPartOrder, error.description)
        case .entityTooSmall: self.init(.entityTooSmall, error.description)
        case .invalidRequest: self.init(.invalidRequest, error.description)
        case .bodyRejected(.signatureMismatch): self.init(.signatureDoesNotMatch, error.description)
        case .bodyRejected(.malformed): self.init(.incompleteBody, error.description)
        case .preconditionFailed: self.init(.preconditionFailed, error.description)
        case .conditionalConflict: self.init(.conditionalRequestConflict, error.description)
        case .invalidVersionID: self.init(.invalidArgument, error.description)
        case .noSuchVersion: self.init(.noSuchVersion, error.description)
        case .deleteMarker(let id, let addressed):
            self.init(addressed ? .methodNotAllowed : .noSuchKey, error.description,
                      headers: ["x-amz-delete-marker": "true", "x-amz-version-id": id])
        case .notImplemented(let why): self.init(.notImplemented, why)
        case .internalError(let cause): self.init(.internalError, Self.internalMessage, logDetail: cause)
        }
    }

    init(_ error: NodeError) {
        switch error {
        case .cluster(let cluster):
            switch cluster {
            case .noSuchBucket: self.init(.noSuchBucket, "The specified bucket does not exist.")
            case .invalidBucketName: self.init(.invalidBucketName, "The specified bucket is not valid: \(cluster.description)")
            case .bucketNotEmpty: self.init(.bucketNotEmpty, "The bucket you tried to delete is not empty.")
            case .bucketExists: self.init(.bucketAlreadyExists, "The requested bucket name is not available.")
            default: self.init(.internalError, Self.internalMessage, logDetail: cluster.description)
            }
        case .notReady(let why): self.init(.serviceUnavailable, "The cluster is not ready: \(why)")
        case .peer(let cause): self.init(.serviceUnavailable, Self.retryMessage, logDetail: cause)
        case .disk(let cause): self.init(.internalError, Self.internalMessage, logDetail: cause.description)
        default: self.init(.internalError, Self.internalMessage, logDetail: error.description)
        }
    }
}
