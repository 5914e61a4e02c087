import Crypto
import Units

extension SigV4 {
    /// The headers that sign a request as a client does: `x-amz-date`,
    /// `x-amz-content-sha256` and `Authorization`, over `host`, those two
    /// and every header in `headers` (names lowercased). `amzDate` is
    /// `YYYYMMDD'T'HHMMSS'Z'`; `payloadHash` is the body's hex SHA-256 or
    /// `UNSIGNED-PAYLOAD`. Pure: the clock comes in as `amzDate`.
    public static func sign(method: String, host: String, rawPath: String, rawQuery: String, headers: [(name: String, value: String)],
                            payloadHash: String, accessKey: String, secret: String, region: String, amzDate: String) -> [(name: String, value: String)] {
        let date = String(amzDate.prefix(8))
        let added: [(name: String, value: String)] = [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)]
        let request = Request(method: method, rawPath: rawPath, rawQuery: rawQuery, headers: [("host", host)] + headers + added)
        // Sorted, each name once (a repeated header is one signed name with its values joined).
        let signedHeaders = request.headers.map(\.name).sorted().reduce(into: [String]()) { names, name in
            if names.last != name { names.append(name) }
        }
        let canonical = canonicalRequestBytes(request, signedHeaders: signedHeaders, payloadHash: payloadHash)
        let scope = "\(date)/\(region)/s3/aws4_request"
        let derived = derived(secret: secret, date: date, region: region, service: "s3")
        let signature = hexMAC(derived.keyed, stringToSignBytes(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        let authorization = "\(algorithm) Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"
        return added + [("authorization", authorization)]
    }
}
