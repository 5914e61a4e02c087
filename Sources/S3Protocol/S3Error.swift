/// An S3 error answer: its code, HTTP status and message. Every failure
/// that reaches a client is one of these; codes map to statuses here only.
public struct S3Error: Error, Equatable, Sendable {
    public enum Code: String, Sendable {
        case accessDenied = "AccessDenied"
        /// A CORS preflight no rule allows.
        case accessForbidden = "AccessForbidden"
        case authorizationHeaderMalformed = "AuthorizationHeaderMalformed"
        case badDigest = "BadDigest"
        case badRequest = "BadRequest"
        case bucketAlreadyExists = "BucketAlreadyExists"
        case bucketAlreadyOwnedByYou = "BucketAlreadyOwnedByYou"
        case bucketNotEmpty = "BucketNotEmpty"
        case conditionalRequestConflict = "ConditionalRequestConflict"
        case entityTooLarge = "EntityTooLarge"
        case entityTooSmall = "EntityTooSmall"
        case illegalLocationConstraint = "IllegalLocationConstraintException"
        case incompleteBody = "IncompleteBody"
        case internalError = "InternalError"
        case invalidAccessKeyId = "InvalidAccessKeyId"
        case invalidArgument = "InvalidArgument"
        case invalidBucketName = "InvalidBucketName"
        case invalidDigest = "InvalidDigest"
        case invalidEncryptionAlgorithmError = "InvalidEncryptionAlgorithmError"
        case invalidPart = "InvalidPart"
        case invalidPartNumber = "InvalidPartNumber"
        case invalidPartOrder = "InvalidPartOrder"
        case invalidPolicyDocument = "InvalidPolicyDocument"
        case invalidRange = "InvalidRange"
        case invalidRequest = "InvalidRequest"
        case invalidTag = "InvalidTag"
        case invalidURI = "InvalidURI"
        case keyTooLongError = "KeyTooLongError"
        case malformedACLError = "MalformedACLError"
        case malformedPOSTRequest = "MalformedPOSTRequest"
        case malformedXML = "MalformedXML"
        case maxPostPreDataLengthExceeded = "MaxPostPreDataLengthExceededError"
        case metadataTooLarge = "MetadataTooLarge"
        case methodNotAllowed = "MethodNotAllowed"
        case missingContentLength = "MissingContentLength"
        case missingSecurityHeader = "MissingSecurityHeader"
        case noSuchBucket = "NoSuchBucket"
        case noSuchCORSConfiguration = "NoSuchCORSConfiguration"
        case noSuchKey = "NoSuchKey"
        case noSuchLifecycleConfiguration = "NoSuchLifecycleConfiguration"
        case noSuchTagSet = "NoSuchTagSet"
        case noSuchUpload = "NoSuchUpload"
        case noSuchVersion = "NoSuchVersion"
        case notImplemented = "NotImplemented"
        case preconditionFailed = "PreconditionFailed"
        case requestTimeTooSkewed = "RequestTimeTooSkewed"
        case serviceUnavailable = "ServiceUnavailable"
        case signatureDoesNotMatch = "SignatureDoesNotMatch"
        case slowDown = "SlowDown"
        case xAmzContentSHA256Mismatch = "XAmzContentSHA256Mismatch"

        public var status: Int {
            switch self {
            case .accessDenied, .accessForbidden, .invalidAccessKeyId, .requestTimeTooSkewed, .signatureDoesNotMatch: return 403
            case .bucketAlreadyExists, .bucketAlreadyOwnedByYou, .bucketNotEmpty, .conditionalRequestConflict: return 409
            case .noSuchBucket, .noSuchCORSConfiguration, .noSuchKey, .noSuchLifecycleConfiguration, .noSuchTagSet, .noSuchUpload,
                 .noSuchVersion: return 404
            case .methodNotAllowed: return 405
            case .missingContentLength: return 411
            case .preconditionFailed: return 412
            case .invalidRange, .invalidPartNumber: return 416
            case .internalError: return 500
            case .notImplemented: return 501
            case .serviceUnavailable, .slowDown: return 503
            default: return 400
            }
        }
    }

    public let code: Code
    /// What the client reads: never a peer's address, a path or an internal error.
    public let message: String
    /// The cause, for the node's log only.
    public let logDetail: String?
    /// Headers the error answer carries (a delete marker's `x-amz-delete-marker` and version id), names lowercase.
    public var headers: [String: String] = [:]

    public init(_ code: Code, _ message: String, logDetail: String? = nil, headers: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.logDetail = logDetail
        self.headers = headers
    }

    public var status: Int { code.status }
}

extension S3Error {
    /// The S3 answer to a rejected signature.
    public init(_ error: SigV4Error) {
        switch error {
        case .missingAuthorization: self.init(.accessDenied, "Anonymous access is not allowed: sign requests with SigV4.")
        case .unsupportedAlgorithm: self.init(.invalidRequest, "Only AWS4-HMAC-SHA256 (SigV4) signatures are supported.")
        case .malformedAuthorization: self.init(.authorizationHeaderMalformed, "The authorization header is malformed.")
        case .malformedCredential: self.init(.authorizationHeaderMalformed, "The credential scope is malformed.")
        case .wrongRegion(let expected): self.init(.authorizationHeaderMalformed, "The authorization header is malformed; the region is wrong; expecting '\(expected)'.")
        case .missingDate: self.init(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header.")
        case .requestTimeTooSkewed: self.init(.requestTimeTooSkewed, "The difference between the request time and the current time is too large.")
        case .missingContentHash: self.init(.invalidRequest, "Missing required header for this request: x-amz-content-sha256.")
        case .unsupportedPayload(let value): self.init(.notImplemented, "x-amz-content-sha256 '\(value)' is not supported: send the body's SHA-256, UNSIGNED-PAYLOAD, or an aws-chunked STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or STREAMING-UNSIGNED-PAYLOAD-TRAILER body (SigV4a ECDSA signing is not supported).")
        case .unknownAccessKey: self.init(.invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
        case .signatureMismatch: self.init(.signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided.")
        case .expired: self.init(.accessDenied, "Request has expired")
        }
    }
}
