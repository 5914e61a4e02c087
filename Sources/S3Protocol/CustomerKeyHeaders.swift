import Crypto
import Units

/// SSE-C's request headers: `…-customer-algorithm` (AES256), `…-customer-key`
/// (the 256-bit key, base64) and `…-customer-key-MD5` (its MD5, base64),
/// under `x-amz-server-side-encryption-` for the object itself or
/// `x-amz-copy-source-server-side-encryption-` for a copy's source.
public enum CustomerKeyHeaders {
    public static let objectPrefix = "x-amz-server-side-encryption-customer-"
    public static let copySourcePrefix = "x-amz-copy-source-server-side-encryption-customer-"

    /// The key and its MD5 (base64) when the request names one; nil when none
    /// of the three headers is there; an error when they are incomplete or wrong.
    public static func parse(_ headers: [(name: String, value: String)], prefix: String = objectPrefix) throws(S3Error) -> (key: [UInt8], md5Base64: String)? {
        func value(_ suffix: String) -> String? { headers.first { $0.name == prefix + suffix }?.value.trimmed }
        let algorithm = value("algorithm"), keyText = value("key"), md5Text = value("key-md5")
        guard algorithm != nil || keyText != nil || md5Text != nil else { return nil }
        guard let algorithm else {
            throw S3Error(.invalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
        }
        guard algorithm == "AES256" else {
            throw S3Error(.invalidEncryptionAlgorithmError, "The encryption request you specified is not valid. The valid value is AES256.")
        }
        guard let keyText, let key = Base64.decode(keyText), key.count == 32 else {
            throw S3Error(.invalidArgument, "The secret key was invalid for the specified algorithm (a 256-bit key, base64).")
        }
        let computed = Base64.encode(Array(Insecure.MD5.hash(data: key)))
        guard let md5Text else {
            throw S3Error(.invalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
        }
        guard md5Text == computed else {
            throw S3Error(.invalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.")
        }
        return (key, computed)
    }
}
