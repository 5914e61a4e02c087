import ClusterModel
import Crypto
import Foundation
import Units
import _CryptoExtras

/// SSE-C: a key the client sends with every request, never stored. What
/// the row keeps is a keyed check that recognises the key again, the key's
/// MD5 (which S3 echoes), and the nonce the object's bytes were encrypted under.
public struct CustomerKey: Sendable {
    let key: SymmetricKey
    /// The base64 MD5 of the key, as `x-amz-server-side-encryption-customer-key-MD5` carries it.
    public let md5Base64: String

    /// `bytes`: the 256-bit key; `md5Base64`: its MD5, already checked by the S3 layer.
    public init(bytes: [UInt8], md5Base64: String) {
        key = SymmetricKey(data: bytes)
        self.md5Base64 = md5Base64
    }

    /// Recognises the key without revealing it: HMAC-SHA256 of a fixed label under the key.
    public var check: String { Hex.encode(HMAC<SHA256>.authenticationCode(for: Array("shale sse-c key check v1".utf8), using: key)) }

    /// An encrypted object's ETag: keyed, so the row does not carry the MD5 of the plaintext (AWS's SSE-C ETags are not MD5s either).
    public func etag(md5: [UInt8]) -> String {
        Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: Array("shale sse-c etag v1".utf8) + md5, using: key).prefix(16)))
    }

    /// Whether `stored` was written with this key.
    public func opens(_ stored: CustomerEncryption) -> Bool { constantTimeEqual(stored.keyCheck, check) }

    /// The row's record of a new object encrypted under this key with a fresh nonce.
    public func newEncryption() -> CustomerEncryption {
        CustomerEncryption(keyMD5: md5Base64, keyCheck: check, nonce: Hex.encode((0..<ObjectCipher.nonceBytes).map { _ in UInt8.random(in: 0...255) }))
    }

    public func cipher(for encryption: CustomerEncryption) throws(ObjectError) -> ObjectCipher {
        guard let nonce = Hex.decode(encryption.nonce), nonce.count == ObjectCipher.nonceBytes else {
            throw .internalError("an encrypted row's nonce is not \(ObjectCipher.nonceBytes) bytes")
        }
        return ObjectCipher(key: key, nonce: nonce)
    }
}

/// AES-256 in counter mode over an object's bytes: the counter block is the
/// object's 8-byte nonce followed by the 16-byte block's index, so any byte
/// range is encrypted or decrypted on its own (range reads, block by block
/// writes) and the ciphertext is exactly as long as the plaintext, which
/// the erasure code and every size check then see unchanged.
public struct ObjectCipher: Sendable {
    static let nonceBytes = 8
    let key: SymmetricKey
    let nonce: [UInt8]

    /// The bytes at `offset` of the object, encrypted (or, the same operation, decrypted).
    public func apply(_ bytes: some Collection<UInt8>, at offset: UInt64) throws(ObjectError) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        let skip = Int(offset % 16)
        var counter = nonce
        withUnsafeBytes(of: (offset / 16).bigEndian) { counter.append(contentsOf: $0) }
        var input = [UInt8](repeating: 0, count: skip)
        input.append(contentsOf: bytes)
        do {
            let output = try AES._CTR.encrypt(input, using: key, nonce: AES._CTR.Nonce(nonceBytes: counter))
            return Array(output.dropFirst(skip))
        } catch {
            throw .internalError("AES-CTR failed: \(error)")
        }
    }
}

/// Decrypts any range of an SSE-C object: a single-part object is one
/// counter-mode stream, a multipart object one per part (each from 0).
public struct ObjectDecryptor: Sendable {
    private let pieces: [(range: Range<UInt64>, cipher: ObjectCipher)]

    /// `key` must open `version` (`CustomerKey.opens`).
    public init(version: ObjectVersion, key: CustomerKey) throws(ObjectError) {
        guard let encryption = version.encryption else { throw .internalError("the object is not encrypted") }
        guard let parts = version.parts else {
            pieces = [(0..<version.size, try key.cipher(for: encryption))]
            return
        }
        var built: [(range: Range<UInt64>, cipher: ObjectCipher)] = []
        var start: UInt64 = 0
        for part in parts {
            var own = encryption
            own.nonce = part.encryptionNonce ?? ""
            built.append((start..<start + part.size, try key.cipher(for: own)))
            start += part.size
        }
        pieces = built
    }

    /// The bytes at `offset` of the object, decrypted.
    public func apply(_ bytes: some Collection<UInt8>, at offset: UInt64) throws(ObjectError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var rest = bytes[...]
        var position = offset
        while !rest.isEmpty {
            guard let piece = pieces.first(where: { $0.range.contains(position) }) else {
                throw .internalError("offset \(position) lies in no part of the object")
            }
            let count = Int(min(UInt64(rest.count), piece.range.upperBound - position))
            let end = rest.index(rest.startIndex, offsetBy: count)
            output += try piece.cipher.apply(rest[..<end], at: position - piece.range.lowerBound)
            rest = rest[end...]
            position += UInt64(count)
        }
        return output
    }
}
