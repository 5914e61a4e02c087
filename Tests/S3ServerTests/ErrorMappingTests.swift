import ClusterModel
import Node
@testable import S3Server
import S3Protocol
import Testing

/// What a client reads never carries a peer's address, a file path or an
/// internal error; the node's log gets the cause.
@Suite struct ErrorMappingTests {
    let secret = "127.0.0.5:3901 /var/lib/shale/data/shards/ab/cd EIO"

    @Test func internalCausesStayInTheLog() {
        let answers = [
            S3Error(NodeError.peer(secret)), S3Error(NodeError.storage(secret)), S3Error(NodeError.invalidRequest(secret)),
            S3Error(NodeError.shardMissing(secret)), S3Error(ObjectError.internalError(secret)),
            S3Error(NodeError.disk(.notFound(path: secret))),
        ]
        for answer in answers {
            #expect(!answer.message.contains("127.0.0.5") && !answer.message.contains("/var/lib"), "\(answer.message)")
            #expect(answer.logDetail?.contains(secret) == true)
            #expect(answer.code == .serviceUnavailable || answer.code == .internalError)
        }
    }

    @Test func clientErrorsKeepTheirCodes() {
        #expect(S3Error(ObjectError.noSuchKey).code == .noSuchKey)
        #expect(S3Error(ObjectError.checksumMismatch(.crc32)).code == .badDigest)
        #expect(S3Error(ObjectError.checksumMismatch(.crc32)).message.contains("x-amz-checksum-crc32"))
        #expect(S3Error(NodeError.cluster(.noSuchBucket("b"))).code == .noSuchBucket)
        #expect(S3Error(NodeError.peer(secret)).status == 503)
    }
}
