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
        let added = [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)]
        let all = [("host", host)] + headers.map { ($0.name.lowercased(), $0.value) } + added
        let signedHeaders = Array(Set(all.map(\.0))).sorted()
        let request = Request(method: method, rawPath: rawPath, rawQuery: rawQuery, headers: all.map { (name: $0.0, value: $0.1) })
        let canonical = canonicalRequest(request, signedHeaders: signedHeaders, payloadHash: payloadHash)
        let scope = "\(date)/\(region)/s3/aws4_request"
        let key = signingKey(secret: secret, date: date, region: region, service: "s3")
        let toSign = stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical)
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        let authorization = "\(algorithm) Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"
        return added.map { (name: $0.0, value: $0.1) } + [(name: "authorization", value: authorization)]
    }
}
