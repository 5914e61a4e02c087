/// Which implementation computes the Galois-field products.
public enum ErasureBackendKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Intel ISA-L (requires the ISAL package trait, on by default).
    case isal
    /// Pure Swift on SIMD vectors; always available.
    case swift

    /// The environment variable that forces a backend.
    public static let environmentVariable = "SHALE_ERASURE_BACKEND"

    /// Backends compiled into this build, fastest first.
    public static var available: [ErasureBackendKind] {
        #if ISAL
        return [.isal, .swift]
        #else
        return [.swift]
        #endif
    }

    public var isAvailable: Bool { Self.available.contains(self) }

    /// The fastest backend this build has.
    public static var preferred: ErasureBackendKind { available[0] }

    /// The backend to use given the value of `SHALE_ERASURE_BACKEND` (nil or
    /// empty: the preferred one). The caller reads the environment, keeping
    /// this module free of process state.
    public static func resolve(requested: String?) throws(ErasureError) -> ErasureBackendKind {
        guard let requested, !requested.isEmpty else { return preferred }
        guard let kind = ErasureBackendKind(rawValue: requested.lowercased()) else {
            throw .unknownBackendName(requested)
        }
        guard kind.isAvailable else { throw .backendUnavailable(kind) }
        return kind
    }

    public var description: String { rawValue }
}
