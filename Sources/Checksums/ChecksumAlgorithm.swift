/// The whole-body checksums S3 clients send as `x-amz-checksum-*` headers.
/// Raw values are the names S3 uses (`x-amz-sdk-checksum-algorithm: CRC32`).
public enum ChecksumAlgorithm: String, CaseIterable, Codable, Sendable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"
    case crc64nvme = "CRC64NVME"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    /// `x-amz-checksum-crc32`, …: the header that carries the value (base64).
    public var headerName: String { "x-amz-checksum-" + rawValue.lowercased() }

    /// The digest's length in bytes (CRCs big-endian, as S3 encodes them).
    public var digestByteCount: Int {
        switch self {
        case .crc32, .crc32c: return 4
        case .crc64nvme: return 8
        case .sha1: return 20
        case .sha256: return 32
        }
    }

    /// Parses an algorithm name in any case (`crc32`, `CRC32`).
    public init?(name: String) {
        self.init(rawValue: name.uppercased())
    }
}
