import ClusterModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import Node
import S3Protocol
import Units

/// The S3 API (3900): path-style requests, SigV4 header auth, XML answers.
/// Thin: route, authenticate, authorize, call the object service, render.
public enum S3Server {
    /// The S3 API of a node: `cluster` and `objects` are protocols, so the
    /// same responder runs over in-memory ones in tests.
    public static func application(cluster: any ClusterControl, objects: any ObjectStore, region: String?, rootDomain: String? = nil,
                                   sseCAllowHTTP: Bool = false, address: HostPort, certificate: ServerCertificate? = nil,
                                   limiter: AuthFailureLimiter = AuthFailureLimiter(), stats: RequestStats = RequestStats(),
                                   logger: Logger) -> some ApplicationProtocol {
        var responder = S3Responder(cluster: cluster, objects: objects, region: region, rootDomain: rootDomain, logger: logger)
        responder.sseCAllowHTTP = sseCAllowHTTP
        responder.limiter = limiter
        responder.stats = stats
        return Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [ContinueHandler()]), certificate: certificate),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "shale"),
            logger: logger)
    }
}

/// Who is asking, once the signature checked out.
struct Caller {
    let key: AccessKeyRecord
    let state: ClusterState
    /// The declared body hash: a hex SHA-256, UNSIGNED-PAYLOAD, or one of
    /// the aws-chunked `STREAMING-…` values.
    let payloadHash: String
    /// For signed aws-chunked bodies: what the chunk signatures chain from.
    var chunkSigning: ChunkSigning? = nil
}

struct S3Responder: HTTPResponder {
    typealias Context = ConnectionContext
    let cluster: any ClusterControl
    let objects: any ObjectStore
    let region: String?
    /// Virtual-host addressing's root domain (nil: path-style only).
    var rootDomain: String? = nil
    let logger: Logger
    /// `s3_api.sse_c_allow_http`: this port is plain HTTP, where SSE-C keys travel in the clear.
    var sseCAllowHTTP = false
    /// Failed signatures per client (shared with the admin API's).
    var limiter = AuthFailureLimiter()
    /// Totals for the console's chart.
    var stats = RequestStats()

    func respond(to request: Request, context: Context) async throws -> Response {
        let channel = context.channel
        return await answer(request, source: channel.remoteAddress?.ipAddress,
                            sendContinue: { try await channel.triggerUserOutboundEvent(SendContinue()).get() })
    }

    /// The answer to one request, errors rendered as S3 XML. `sendContinue`
    /// lets a client that sent `Expect: 100-continue` send its body.
    func answer(_ request: Request, source: String? = nil, sendContinue: @escaping @Sendable () async throws -> Void) async -> Response {
        let started = ContinuousClock.now
        var response = await answerWithoutCORS(request, source: source, sendContinue: sendContinue)
        if request.method != .options, request.headers[.origin] != nil { await addCORSHeaders(to: &response, request: request) }
        let elapsed = ContinuousClock.now - started
        stats.record(latencyMicros: UInt64(max(0, elapsed / .microseconds(1))),
                     failed: response.status.code >= 400,
                     bytesIn: request.headers[.contentLength].flatMap(UInt64.init) ?? 0,
                     bytesOut: request.method == .head ? 0 : response.headers[.contentLength].flatMap(UInt64.init) ?? 0)
        return response
    }

    func answerWithoutCORS(_ request: Request, source: String?, sendContinue: @escaping @Sendable () async throws -> Void) async -> Response {
        let requestID = Hex.encode(randomBytes(8)).uppercased()
        let resource = request.uri.path
        do {
            var response = try await handle(request, requestID: requestID, source: source, sendContinue: sendContinue)
            response.headers[HTTPField.Name("x-amz-request-id")!] = requestID
            return response
        } catch let error as S3Error {
            Counter(label: "shale_s3_errors_total", dimensions: [("code", error.code.rawValue)]).increment()
            if error.code == .internalError || error.code == .serviceUnavailable {
                logger.warning("s3 request failed", metadata: [
                    "code": "\(error.code.rawValue)", "message": "\(error.message)", "cause": "\(error.logDetail ?? "-")", "path": "\(resource)",
                ])
            }
            return Self.errorResponse(error, resource: resource, requestID: requestID, isHead: request.method == .head)
        } catch {
            logger.error("s3 request failed unexpectedly", metadata: ["error": "\(error)", "path": "\(resource)"])
            return Self.errorResponse(S3Error(.internalError, S3Error.internalMessage),
                                      resource: resource, requestID: requestID, isHead: request.method == .head)
        }
    }

    static func errorResponse(_ error: S3Error, resource: String, requestID: String, isHead: Bool) -> Response {
        var fields = HTTPFields()
        fields[HTTPField.Name("x-amz-request-id")!] = requestID
        for (name, value) in error.headers.sorted(by: { $0.key < $1.key }) { fields[HTTPField.Name(name)!] = value }
        let status = HTTPResponse.Status(code: error.status)
        if isHead { return Response(status: status, headers: fields) }
        fields[.contentType] = "application/xml"
        let xml = S3XML.error(code: error.code.rawValue, message: error.message, resource: resource, requestID: requestID)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    /// Route, authenticate, authorize, refuse what is not implemented, and
    /// only then let the client send its body (100 Continue) and run the handler.
    func handle(_ request: Request, requestID: String, source: String?,
                sendContinue: @escaping @Sendable () async throws -> Void) async throws -> Response {
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        let virtualBucket = S3Operation.virtualHostBucket(host: request.head.authority, rootDomain: rootDomain)
        if request.method == .options {
            // A browser's CORS preflight: never signed, answered from the bucket's CORS rules alone.
            return try await preflight(request, bucketName: S3Operation.target(rawPath: request.uri.path, virtualBucket: virtualBucket).bucket)
        }
        let headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        let operation = try S3Operation.route(method: request.method.rawValue, rawPath: request.uri.path, query: query,
                                              virtualBucket: virtualBucket).refined(headers: headers)
        if case .postObject(let name) = operation {
            // A browser upload is signed in its form, not its headers: its handler authenticates.
            try RequestRefusals.check(operation.name, headers: headers, query: query)
            return try await postObject(request, bucketName: name, source: source, sendContinue: sendContinue)
        }
        let caller = try await authenticate(request, headers: headers, query: query, source: source)
        Counter(label: "shale_s3_requests_total", dimensions: [("operation", operation.name.rawValue)]).increment()
        let bucket = try authorize(operation, caller: caller)
        try RequestRefusals.check(operation.name, headers: headers, query: query)
        if StreamingPayload(rawValue: caller.payloadHash) != nil, ![.putObject, .uploadPart].contains(operation.name) {
            throw S3Error(.notImplemented, "aws-chunked bodies (x-amz-content-sha256: \(caller.payloadHash)) are taken by PutObject and UploadPart only.")
        }
        var handlers = S3Handlers(cluster: cluster, objects: objects, region: region, caller: caller, query: query, headers: headers,
                                  sendContinue: sendContinue)
        handlers.sseCAllowHTTP = sseCAllowHTTP
        switch operation {
        case .listBuckets: return try handlers.listBuckets()
        case .createBucket(let name): return try await handlers.createBucket(name, request: request)
        case .headBucket: return Response(status: .ok)
        case .deleteBucket(let name): return try await handlers.deleteBucket(name, record: bucket!)
        case .getBucketLocation: return handlers.xml(S3XML.locationConstraint(region ?? ""))
        case .listObjectsV2: return try await handlers.listObjectsV2(bucket!)
        case .listObjects: return try await handlers.listObjectsV1(bucket!)
        case .putObject(_, let key): return try await handlers.putObject(bucket!, key: key, request: request)
        case .getObject(_, let key): return try await handlers.getObject(bucket!, key: key, request: request, withBody: true)
        case .headObject(_, let key): return try await handlers.getObject(bucket!, key: key, request: request, withBody: false)
        case .deleteObject(_, let key): return try await handlers.deleteObject(bucket!, key: key)
        case .deleteObjects: return try await handlers.deleteObjects(bucket!, request: request)
        case .createMultipartUpload(_, let key): return try await handlers.createMultipartUpload(bucket!, key: key, request: request)
        case .uploadPart(_, let key): return try await handlers.uploadPart(bucket!, key: key, request: request)
        case .completeMultipartUpload(_, let key): return try await handlers.completeMultipartUpload(bucket!, key: key, request: request)
        case .abortMultipartUpload(_, let key): return try await handlers.abortMultipartUpload(bucket!, key: key)
        case .listParts(_, let key): return try await handlers.listParts(bucket!, key: key)
        case .listMultipartUploads: return try await handlers.listMultipartUploads(bucket!)
        case .copyObject(_, let key): return try await handlers.copyObject(bucket!, key: key, request: request)
        case .uploadPartCopy(_, let key): return try await handlers.uploadPartCopy(bucket!, key: key, request: request)
        case .getObjectAttributes(_, let key): return try await handlers.getObjectAttributes(bucket!, key: key)
        case .getObjectTagging(_, let key): return try await handlers.getObjectTagging(bucket!, key: key)
        case .putObjectTagging(_, let key): return try await handlers.putObjectTagging(bucket!, key: key, request: request)
        case .deleteObjectTagging(_, let key): return try await handlers.deleteObjectTagging(bucket!, key: key)
        case .getObjectAcl(_, let key): return try await handlers.getACL(bucket!, key: key)
        case .putObjectAcl(_, let key): return try await handlers.putACL(bucket!, key: key, request: request)
        case .getBucketTagging: return try handlers.getBucketTagging(bucket!)
        case .putBucketTagging: return try await handlers.putBucketTagging(bucket!, request: request)
        case .deleteBucketTagging: return try await handlers.deleteBucketTagging(bucket!)
        case .getBucketAcl: return try await handlers.getACL(bucket!, key: nil)
        case .putBucketAcl: return try await handlers.putACL(bucket!, key: nil, request: request)
        case .getBucketCors: return try handlers.getBucketCors(bucket!)
        case .putBucketCors: return try await handlers.putBucketCors(bucket!, request: request)
        case .deleteBucketCors: return try await handlers.deleteBucketCors(bucket!)
        case .getBucketLifecycle: return try handlers.getBucketLifecycle(bucket!)
        case .putBucketLifecycle: return try await handlers.putBucketLifecycle(bucket!, request: request)
        case .deleteBucketLifecycle: return try await handlers.deleteBucketLifecycle(bucket!)
        case .getBucketVersioning: return handlers.getBucketVersioning(bucket!)
        case .putBucketVersioning: return try await handlers.putBucketVersioning(bucket!, request: request)
        case .listObjectVersions: return try await handlers.listObjectVersions(bucket!)
        case .postObject: throw S3Error(.internalError, S3Error.internalMessage, logDetail: "a POST upload reached the signed handlers")
        case .notImplemented(let what): throw S3Error(.notImplemented, "\(what) is not implemented by Shale yet (see Docs/s3-api.md).")
        }
    }

    /// `headers`: the request's headers, names lowercase.
    func authenticate(_ request: Request, headers requestHeaders: [(name: String, value: String)], query: [String: String],
                      source: String?) async throws -> Caller {
        var headers = requestHeaders
        // HTTP/1's Host header arrives as the request's authority.
        if let authority = request.head.authority { headers.append(("host", authority)) }
        let signed = SigV4.Request(method: request.method.rawValue, rawPath: request.uri.path, rawQuery: request.uri.query ?? "", headers: headers)
        let state = await cluster.state
        let now = cluster.wallClock.nowSeconds
        let secretFor: (String) -> String? = { id in AccessKeyID(id).flatMap { state.secret(for: $0)?.rawValue } }
        let presented = SigV4.presentedAccessKey(authorization: request.headers[.authorization], query: query)
        return try limitingFailures(presentedKey: presented, source: source, state: state) { () throws -> Caller in
            do {
                let authorization: SigV4.Authorization
                let payloadHash: String
                if request.headers[.authorization] == nil && query["X-Amz-Signature"] != nil {
                    authorization = try SigV4.verifyPresigned(signed, query: query, secretFor: secretFor, region: region, nowSeconds: now)
                    payloadHash = SigV4.unsignedPayload
                } else {
                    (authorization, payloadHash) = try SigV4.verify(signed, secretFor: secretFor, region: region, nowSeconds: now)
                }
                guard let id = AccessKeyID(authorization.accessKey), let key = state.keys[id.rawValue], !key.deleted else {
                    throw S3Error(.invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
                }
                var caller = Caller(key: key, state: state, payloadHash: payloadHash)
                if let streaming = StreamingPayload(rawValue: payloadHash), streaming.isSigned, let secret = secretFor(authorization.accessKey) {
                    caller.chunkSigning = SigV4.chunkSigning(signed, authorization: authorization, secret: secret)
                }
                return caller
            } catch let error as SigV4Error {
                throw S3Error(error)
            }
        }
    }

    /// The bucket the operation touches, once the caller's key is allowed on it.
    func authorize(_ operation: S3Operation, caller: Caller) throws -> BucketRecord? {
        guard let name = operation.bucket, operation.access != .createBucket else { return nil }
        let bucket: BucketRecord
        do { bucket = try caller.state.bucket(named: name) } catch {
            if case .invalidBucketName = error { throw S3Error(.invalidBucketName, "The specified bucket is not valid.") }
            throw S3Error(.noSuchBucket, "The specified bucket does not exist.")
        }
        let granted = caller.state.permissions(of: caller.key.id, on: bucket.id)
        let needed: Permission?
        switch operation.access {
        case .read: needed = .read
        case .write: needed = .write
        case .owner: needed = .owner
        case .authenticated, .createBucket: needed = nil
        }
        if let needed, !granted.contains(needed) { throw S3Error(.accessDenied, "Access Denied") }
        return bucket
    }
}
