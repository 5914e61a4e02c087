import NIOCore

/// The wire format of JSON calls between nodes on a connection that
/// negotiated `RPCFrame.protocolName` by ALPN: one length-prefixed frame per
/// call and per answer, many calls in flight on one TLS connection, matched
/// by their id. It replaces an HTTP/2 stream per call (a stream channel, a
/// header block each way, AsyncHTTPClient's request machinery), which cost
/// the coordinator of a small request about 0.9 ms of CPU per call
/// (Docs/benchmarks.md). The connection's TLS authenticates both ends and
/// every byte, as it did for HTTP.
///
/// A frame: `length: UInt32` (the bytes after it), `call: UInt32`, `kind: UInt8`,
/// then for a call `methodLength: UInt8`, the method's name, the body; for
/// an answer, the body. Integers are big-endian.
enum RPCFrame: Equatable {
    case call(id: UInt32, method: String, body: ByteBuffer)
    case answer(id: UInt32, outcome: Outcome, body: ByteBuffer)

    /// The ALPN name of this format; a node of an earlier build does not
    /// offer it, and its callers then speak HTTP to it.
    static let protocolName = "shale-rpc/1"
    /// The largest frame either side takes (as the HTTP route's bodies).
    static let maxFrameBytes = 64 << 20
    /// Length, call id and kind.
    static let headerBytes = 4 + 4 + 1

    /// How a call ended, as the HTTP route said it by status.
    enum Outcome: UInt8, Equatable {
        /// The handler's answer (HTTP 200).
        case answered = 1
        /// The handler refused or failed; the body says why (HTTP 400).
        case refused = 2
        /// No such method on this node (HTTP 404).
        case unknownMethod = 3

        var httpStatus: Int {
            switch self {
            case .answered: return 200
            case .refused: return 400
            case .unknownMethod: return 404
            }
        }
    }

    static let callKind: UInt8 = 0

    /// A call's frame.
    static func call(id: UInt32, method: String, body: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let name = Array(method.utf8.prefix(255))
        var buffer = allocator.buffer(capacity: headerBytes + 1 + name.count + body.count)
        buffer.writeInteger(UInt32(headerBytes - 4 + 1 + name.count + body.count))
        buffer.writeInteger(id)
        buffer.writeInteger(callKind)
        buffer.writeInteger(UInt8(name.count))
        buffer.writeBytes(name)
        buffer.writeBytes(body)
        return buffer
    }

    /// An answer's frame.
    static func answer(id: UInt32, outcome: Outcome, body: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerBytes + body.count)
        buffer.writeInteger(UInt32(headerBytes - 4 + body.count))
        buffer.writeInteger(id)
        buffer.writeInteger(outcome.rawValue)
        buffer.writeBytes(body)
        return buffer
    }

    /// Parses one frame's content (what follows its length, as `RPCFrameDecoder` passes it on).
    static func parse(_ frame: ByteBuffer) throws(RPCFrameError) -> RPCFrame {
        var frame = frame
        guard let id = frame.readInteger(as: UInt32.self), let kind = frame.readInteger(as: UInt8.self) else { throw .malformed("a frame shorter than its header") }
        if kind == callKind {
            guard let length = frame.readInteger(as: UInt8.self), let name = frame.readString(length: Int(length)) else {
                throw .malformed("a call frame without its method")
            }
            return .call(id: id, method: name, body: frame)
        }
        guard let outcome = Outcome(rawValue: kind) else { throw .malformed("a frame of unknown kind \(kind)") }
        return .answer(id: id, outcome: outcome, body: frame)
    }
}

enum RPCFrameError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case tooLarge(Int)
    case deadlineExceeded
    case connectionClosed
    case handshakeTimedOut

    var description: String {
        switch self {
        case .malformed(let what): return "malformed RPC frame: \(what)"
        case .tooLarge(let bytes): return "an RPC frame of \(bytes) bytes, above the \(RPCFrame.maxFrameBytes) allowed"
        case .deadlineExceeded: return "no answer before the deadline"
        case .connectionClosed: return "connection closed"
        case .handshakeTimedOut: return "no TLS handshake before the deadline (the peer accepts connections but does not answer)"
        }
    }
}

/// Splits the byte stream into frames (each passed on without its length).
/// A frame above `maxFrameBytes` closes the connection: its sender is not a
/// node of this format, or is broken.
struct RPCFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrameBytes: Int

    init(maxFrameBytes: Int = RPCFrame.maxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxFrameBytes else { throw RPCFrameError.tooLarge(Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length), let frame = buffer.getSlice(at: buffer.readerIndex + 4, length: Int(length)) else {
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4 + Int(length))
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
