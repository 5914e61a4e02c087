import Crypto
@testable import S3Protocol
import Testing
import Units

/// Signing keys are derived once per secret and scope; a remembered key is
/// the one a derivation gives.
@Suite struct DerivedSigningKeysTests {
    /// AWS's documented derivation (General Reference, "Examples of how to
    /// derive a signing key for Signature Version 4").
    @Test func aRememberedKeyIsTheDerivedOne() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        let expected = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        let first = SigV4.signingKey(secret: secret, date: "20120215", region: "us-east-1", service: "iam")
        let second = SigV4.signingKey(secret: secret, date: "20120215", region: "us-east-1", service: "iam")
        #expect(first.withUnsafeBytes { Hex.encode(Array($0)) } == expected)
        #expect(second.withUnsafeBytes { Hex.encode(Array($0)) } == expected)
        // Another secret, or another day, is another key.
        let rotated = SigV4.signingKey(secret: secret + "x", date: "20120215", region: "us-east-1", service: "iam")
        let nextDay = SigV4.signingKey(secret: secret, date: "20120216", region: "us-east-1", service: "iam")
        #expect(rotated.withUnsafeBytes { Hex.encode(Array($0)) } != expected)
        #expect(nextDay.withUnsafeBytes { Hex.encode(Array($0)) } != expected)
    }

    @Test func theCacheStaysWithinItsCapacity() {
        let keys = DerivedSigningKeys(capacity: 2)
        for day in 1...5 {
            let name = DerivedSigningKeys.Name(secret: "s", date: "2026120\(day)", region: "r", service: "s3")
            let key = SymmetricKey(size: .bits256)
            keys.remember(DerivedSigningKeys.Entry(key: key, keyed: HMAC<SHA256>(key: key)), for: name)
            #expect(keys.entry(for: name) != nil)
            #expect(keys.count <= 2)
        }
    }

    /// The remembered keyed HMAC is copied for each signature: used again and
    /// again, it gives what an HMAC keyed afresh gives.
    @Test func theKeyedHMACIsReusedUnchanged() {
        let entry = SigV4.derived(secret: "secret", date: "20261202", region: "shale", service: "s3")
        for message in ["", "a", String(repeating: "string to sign\n", count: 40), "a"] {
            let fresh = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: entry.key))
            #expect(SigV4.hexMAC(entry.keyed, Array(message.utf8)) == fresh)
        }
    }
}
