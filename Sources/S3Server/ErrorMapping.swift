import ClusterModel
import Node
import S3Protocol

/// The one place where the layers' errors become S3 answers; anything not
/// named here is an InternalError with no internals shown.
extension S3Error {
    init(_ error: ObjectError) {
        switch error {
        case .noSuchKey: self.init(.noSuchKey, error.description)
        case .notReady, .unavailable: self.init(.serviceUnavailable, error.description)
        case .badDigest, .checksumMismatch: self.init(.badDigest, error.description)
        case .contentSHA256Mismatch: self.init(.xAmzContentSHA256Mismatch, error.description)
        case .incompleteBody: self.init(.incompleteBody, error.description)
        case .unreadable: self.init(.serviceUnavailable, error.description)
        case .internalError: self.init(.internalError, "We encountered an internal error. Please try again.")
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
            default: self.init(.internalError, "We encountered an internal error. Please try again.")
            }
        case .notReady, .peer: self.init(.serviceUnavailable, "Please reduce your request rate or try again: \(error.description)")
        default: self.init(.internalError, "We encountered an internal error. Please try again.")
        }
    }
}
