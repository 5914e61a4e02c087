import ClusterModel
import HTTPTypes
import Node
import S3Protocol

/// SSE-C on PutObject, GetObject, HeadObject, GetObjectAttributes, the
/// multipart operations and copies (a source's key in the
/// `x-amz-copy-source-server-side-encryption-customer-*` headers).
extension S3Handlers {
    /// The request's SSE-C key, if it sends one. Over this plain-HTTP port the
    /// key would travel in the clear, so it is refused unless the node allows it.
    func customerKey(prefix: String = CustomerKeyHeaders.objectPrefix) throws -> CustomerKey? {
        guard let parsed = try CustomerKeyHeaders.parse(headers, prefix: prefix) else { return nil }
        guard sseCAllowHTTP else {
            throw S3Error(.invalidRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection (this port is HTTP; s3_api.sse_c_allow_http = true allows them, see Docs/configuration.md).")
        }
        return CustomerKey(bytes: parsed.key, md5Base64: parsed.md5Base64)
    }

    /// What decrypts `version`: its key is required when it is encrypted
    /// (and must be the one it was written with), and refused when it is not.
    func openingDecryptor(_ version: ObjectVersion, prefix: String = CustomerKeyHeaders.objectPrefix) throws -> ObjectDecryptor? {
        let key = try customerKey(prefix: prefix)
        guard let encryption = version.encryption else {
            if key != nil { throw S3Error(.invalidRequest, "The encryption parameters are not applicable to this object.") }
            return nil
        }
        guard let key else {
            throw S3Error(.invalidRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
        }
        guard key.opens(encryption) else { throw S3Error(.accessDenied, "The provided customer key does not match the key the object was stored with.") }
        do { return try ObjectDecryptor(version: version, key: key) } catch { throw S3Error(error) }
    }

    static func addEncryptionHeaders(_ encryption: CustomerEncryption?, to fields: inout HTTPFields) {
        guard let encryption else { return }
        addEncryptionHeaders(keyMD5: encryption.keyMD5, to: &fields)
    }

    static func addEncryptionHeaders(keyMD5: String, to fields: inout HTTPFields) {
        fields[HTTPField.Name("x-amz-server-side-encryption-customer-algorithm")!] = "AES256"
        fields[HTTPField.Name("x-amz-server-side-encryption-customer-key-MD5")!] = keyMD5
    }
}
