import ClusterModel
import HTTPTypes
import Hummingbird
import Metrics
import Node
import S3Protocol

/// Put/Get/DeleteBucketCors: the rules are kept, validated, as one of the
/// bucket's configurations in the cluster state.
extension S3Handlers {
    func getBucketCors(_ bucket: BucketRecord) throws -> Response {
        guard let stored = caller.state.bucketConfig(.cors, of: bucket.id)?.corsXML else {
            throw S3Error(.noSuchCORSConfiguration, "The CORS configuration does not exist")
        }
        return xml(stored)
    }

    func putBucketCors(_ bucket: BucketRecord, request: Request) async throws -> Response {
        let body = try await smallBody(request, upTo: CORSConfiguration.maxBodyBytes, what: "CORSConfiguration")
        let configuration = try CORSConfiguration.parse(String(decoding: body, as: UTF8.self))
        do { try await cluster.setBucketConfig(BucketConfig(corsXML: configuration.xml), kind: .cors, bucket: bucket.name.rawValue) } catch {
            throw S3Error(error)
        }
        return Response(status: .ok)
    }

    func deleteBucketCors(_ bucket: BucketRecord) async throws -> Response {
        do { try await cluster.setBucketConfig(nil, kind: .cors, bucket: bucket.name.rawValue) } catch { throw S3Error(error) }
        return Response(status: .noContent)
    }
}

/// A browser's side of CORS: the preflight `OPTIONS` (unsigned, as browsers
/// send it) and the `Access-Control-*` headers on the requests that follow.
extension S3Responder {
    static let requestMethodHeader = HTTPField.Name("Access-Control-Request-Method")!
    static let requestHeadersHeader = HTTPField.Name("Access-Control-Request-Headers")!

    /// The rule of the named bucket's CORS configuration that allows the request, if any.
    static func corsRule(bucketName: String, state: ClusterState, origin: String, method: String,
                         requestHeaders: [String]) -> CORSConfiguration.Rule? {
        guard !bucketName.isEmpty, let bucket = try? state.bucket(named: bucketName),
              let stored = state.bucketConfig(.cors, of: bucket.id)?.corsXML,
              let configuration = try? CORSConfiguration.parse(stored) else { return nil }
        return configuration.rule(origin: origin, method: method, requestHeaders: requestHeaders)
    }

    func preflight(_ request: Request, bucketName: String) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            throw S3Error(.badRequest, "Insufficient information. Origin request header needed.")
        }
        guard let method = request.headers[Self.requestMethodHeader] else {
            throw S3Error(.badRequest, "Invalid Access-Control-Request-Method: the header is needed.")
        }
        let requested = CORSConfiguration.requestedHeaders(request.headers[Self.requestHeadersHeader])
        guard let rule = Self.corsRule(bucketName: bucketName, state: await cluster.state, origin: origin, method: method,
                                       requestHeaders: requested) else {
            Counter(label: "shale_cors_preflights_refused_total").increment()
            throw S3Error(.accessForbidden, "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
        }
        var fields = HTTPFields()
        for (name, value) in CORSConfiguration.responseHeaders(rule, origin: origin, preflightHeaders: requested) {
            fields[HTTPField.Name(name)!] = value
        }
        return Response(status: .ok, headers: fields)
    }

    /// Adds the headers of the rule that allows a request carrying `Origin`
    /// (its answer, error or not, is then readable by the page).
    func addCORSHeaders(to response: inout Response, request: Request) async {
        guard let origin = request.headers[.origin] else { return }
        let virtualBucket = S3Operation.virtualHostBucket(host: request.head.authority, rootDomain: rootDomain)
        guard let bucket = try? S3Operation.target(rawPath: request.uri.path, virtualBucket: virtualBucket).bucket,
              let rule = Self.corsRule(bucketName: bucket, state: await cluster.state, origin: origin, method: request.method.rawValue,
                                       requestHeaders: []) else { return }
        for (name, value) in CORSConfiguration.responseHeaders(rule, origin: origin, preflightHeaders: nil) {
            response.headers[HTTPField.Name(name)!] = value
        }
    }
}
