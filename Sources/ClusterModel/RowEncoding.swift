import Foundation

extension JSONEncoder {
    /// The encoder of object rows and of the calls that carry them: '/' is
    /// written as itself. Foundation's default writes "\/", and a string
    /// with an escape takes the decoder's slow path: every inline object's
    /// base64 and most keys have slashes, and decoding rows was 15% of a
    /// one-node small GET. Rows written before read the same.
    public static func rows() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }
}
