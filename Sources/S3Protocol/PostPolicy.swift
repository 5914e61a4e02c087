import Crypto
import Foundation
import Units

/// A browser POST upload's policy document and signature (AWS's "Browser-
/// Based Uploads Using POST", SigV4): the base64 JSON policy the form
/// carries, signed with the key's SigV4 signing key, whose expiration and
/// conditions every form field must meet. Pure: the clock and the secret
/// lookup are passed in.
public struct PostPolicy: Sendable {
    public enum Condition: Sendable, Equatable {
        case equals(field: String, value: String)
        case startsWith(field: String, prefix: String)
        case contentLengthRange(ClosedRange<Int64>)
    }

    public let expirationSeconds: Int64
    public let conditions: [Condition]

    /// The form fields that are not themselves checked against the policy.
    static let unconditioned: Set<String> = ["policy", "x-amz-signature", "file"]

    static func denied(_ reason: String) -> S3Error { S3Error(.accessDenied, "Invalid according to Policy: \(reason)") }

    /// Decodes the form's `policy` field.
    public init(base64 text: String) throws(S3Error) {
        guard let bytes = Base64.decode(text.trimmed),
              let json = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw S3Error(.invalidPolicyDocument, "Invalid Policy: the policy is not base64-encoded JSON.")
        }
        guard let expiration = json["expiration"] as? String, let seconds = S3Dates.parseISO8601(expiration) else {
            throw S3Error(.invalidPolicyDocument, "Invalid Policy: Policy missing expiration, or it is not an ISO 8601 time.")
        }
        guard let list = json["conditions"] as? [Any] else {
            throw S3Error(.invalidPolicyDocument, "Invalid Policy: Policy missing conditions.")
        }
        var conditions: [Condition] = []
        for item in list {
            if let object = item as? [String: Any] {
                guard object.count == 1, let (field, value) = object.first, let text = Self.text(value) else {
                    throw S3Error(.invalidPolicyDocument, "Invalid Policy: a condition object must hold one field and its value.")
                }
                conditions.append(.equals(field: field.lowercased(), value: text))
            } else if let array = item as? [Any], let operation = (array.first as? String)?.lowercased() {
                switch operation {
                case "eq", "starts-with":
                    guard array.count == 3, let name = array[1] as? String, name.hasPrefix("$"), let value = Self.text(array[2]) else {
                        throw S3Error(.invalidPolicyDocument, "Invalid Policy: [\"\(operation)\", \"$field\", \"value\"] expected.")
                    }
                    let field = String(name.dropFirst()).lowercased()
                    conditions.append(operation == "eq" ? .equals(field: field, value: value) : .startsWith(field: field, prefix: value))
                case "content-length-range":
                    guard array.count == 3, let low = Self.integer(array[1]), let high = Self.integer(array[2]), low >= 0, low <= high else {
                        throw S3Error(.invalidPolicyDocument, "Invalid Policy: [\"content-length-range\", min, max] expected.")
                    }
                    conditions.append(.contentLengthRange(low...high))
                default:
                    throw S3Error(.invalidPolicyDocument, "Invalid Policy: unknown condition \"\(operation)\".")
                }
            } else {
                throw S3Error(.invalidPolicyDocument, "Invalid Policy: a condition is an object or an array.")
            }
        }
        expirationSeconds = seconds
        self.conditions = conditions
    }

    static func text(_ value: Any) -> String? {
        if let string = value as? String { return string }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
    }

    static func integer(_ value: Any) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        if let string = value as? String { return Int64(string) }
        return nil
    }

    /// The allowed file sizes (nil: any).
    public var contentLengthRange: ClosedRange<Int64>? {
        for case .contentLengthRange(let range) in conditions { return range }
        return nil
    }

    /// Checks the form's fields (names lowercased; `bucket` is the bucket
    /// posted to): not expired, every condition met, and every field but
    /// `policy`, `x-amz-signature`, `file` and `x-ignore-*` named by a condition.
    public func check(fields: [String: String], bucket: String, nowSeconds: Int64) throws(S3Error) {
        guard nowSeconds < expirationSeconds else { throw Self.denied("Policy expired.") }
        var values = fields
        values["bucket"] = bucket
        var covered: Set<String> = ["bucket"]
        for condition in conditions {
            switch condition {
            case .equals(let field, let value):
                covered.insert(field)
                guard values[field] == value else { throw Self.denied("Policy Condition failed: [\"eq\", \"$\(field)\", \"\(value)\"]") }
            case .startsWith(let field, let prefix):
                covered.insert(field)
                // Content-Type may list several types, each of which must match.
                let candidates = field == "content-type" ? (values[field] ?? "").split(separator: ",").map { String($0).trimmed } : [values[field] ?? ""]
                guard values[field] != nil || prefix.isEmpty, candidates.allSatisfy({ $0.hasPrefix(prefix) }) else {
                    throw Self.denied("Policy Condition failed: [\"starts-with\", \"$\(field)\", \"\(prefix)\"]")
                }
            case .contentLengthRange:
                break
            }
        }
        let extra = fields.keys.filter { !covered.contains($0) && !Self.unconditioned.contains($0) && !$0.hasPrefix("x-ignore-") }.sorted()
        guard extra.isEmpty else { throw Self.denied("Extra input fields: \(extra.joined(separator: ", "))") }
    }

    /// Checks the form's SigV4 signature of its policy; returns the signing key id.
    public static func verifySignature(fields: [String: String], secretFor: (String) -> String?, region: String?,
                                       nowSeconds: Int64) throws(S3Error) -> String {
        guard fields["x-amz-algorithm"] == SigV4.algorithm else {
            if fields["awsaccesskeyid"] != nil || fields["signature"] != nil {
                throw S3Error(.notImplemented, "Signature Version 2 POST forms are not implemented: sign the policy with SigV4 (x-amz-algorithm AWS4-HMAC-SHA256).")
            }
            throw S3Error(.invalidArgument, "The form needs x-amz-algorithm AWS4-HMAC-SHA256.")
        }
        guard let policy = fields["policy"], let credential = fields["x-amz-credential"], let amzDate = fields["x-amz-date"],
              let signature = fields["x-amz-signature"]?.lowercased() else {
            throw S3Error(.invalidArgument, "The form needs policy, x-amz-credential, x-amz-date and x-amz-signature fields.")
        }
        if fields["x-amz-security-token"] != nil {
            throw S3Error(.notImplemented, "x-amz-security-token (temporary credentials) is not implemented.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[3] == "s3", scope[4] == "aws4_request", amzDate.hasPrefix(scope[1]), SigV4.parseAmzDate(amzDate) != nil else {
            throw S3Error(.invalidArgument, "x-amz-credential must be KEY/YYYYMMDD/REGION/s3/aws4_request, dated like x-amz-date.")
        }
        if let region, scope[2] != region {
            throw S3Error(.authorizationHeaderMalformed, "The credential's region is wrong; expecting '\(region)'.")
        }
        guard let secret = secretFor(scope[0]) else {
            throw S3Error(.invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
        }
        let key = SigV4.signingKey(secret: secret, date: scope[1], region: scope[2], service: "s3")
        let expected = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(policy.utf8), using: key))
        guard constantTimeEqual(expected, signature) else {
            throw S3Error(.signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided.")
        }
        return scope[0]
    }
}
