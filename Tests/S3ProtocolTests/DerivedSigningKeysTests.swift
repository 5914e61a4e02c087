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
            keys.remember(SymmetricKey(size: .bits256), for: name)
            #expect(keys.key(for: name) != nil)
            #expect(keys.count <= 2)
        }
    }
}
