import Placement
import TOMLKit
import Units

/// The planner's description of a cluster: one `[[node]]` table per node.
///
///     [[node]]
///     id = "a1"          # unique in the file
///     zone = "dc1"
///     capacity = "10T"   # omit, or gateway = true, for a node that stores nothing
///     tags = ["rack1"]   # optional
public struct NodesFile: Sendable {
    public let roles: [NodeID: NodeRole]

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case syntax(line: Int, column: Int, message: String)
        case noNodes
        case notATable(index: Int)
        case missingKey(key: String, node: Int)
        case wrongType(key: String, node: Int, expected: String)
        case unknownKey(key: String, node: Int)
        case unknownTopLevelKey(String)
        case badCapacity(node: String, reason: String)
        case gatewayWithCapacity(node: String)
        case zeroCapacity(node: String)
        case duplicateID(String)

        public var description: String {
            switch self {
            case .syntax(let line, let column, let message):
                return "line \(line), column \(column): \(message)"
            case .noNodes:
                return "no [[node]] tables: describe each node with id, zone and capacity"
            case .notATable(let index):
                return "node #\(index + 1) is not a table"
            case .missingKey(let key, let node):
                return "node #\(node + 1) has no '\(key)'"
            case .wrongType(let key, let node, let expected):
                return "node #\(node + 1): '\(key)' must be \(expected)"
            case .unknownKey(let key, let node):
                return "node #\(node + 1): unknown key '\(key)' (known: id, zone, capacity, gateway, tags)"
            case .unknownTopLevelKey(let key):
                return "unknown top-level key '\(key)' (only [[node]] tables are read)"
            case .badCapacity(let node, let reason):
                return "node \(node): bad capacity: \(reason)"
            case .gatewayWithCapacity(let node):
                return "node \(node) is a gateway and has a capacity: a gateway stores nothing, drop one of them"
            case .zeroCapacity(let node):
                return "node \(node) has capacity 0: give it a capacity, or mark it gateway = true"
            case .duplicateID(let id):
                return "node id '\(id)' appears more than once"
            }
        }
    }

    static let nodeKeys: Set<String> = ["id", "zone", "capacity", "gateway", "tags"]

    public init(toml text: String) throws(Error) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(line: Int(error.source.begin.line), column: Int(error.source.begin.column), message: error.description)
        } catch {
            throw .syntax(line: 0, column: 0, message: "\(error)")
        }
        for key in table.keys where key != "node" { throw .unknownTopLevelKey(key) }
        guard let array = table["node"]?.array, !array.isEmpty else { throw .noNodes }

        var roles: [NodeID: NodeRole] = [:]
        for index in 0..<array.count {
            guard let entry = array[index].table else { throw .notATable(index: index) }
            for key in entry.keys where !Self.nodeKeys.contains(key) { throw .unknownKey(key: key, node: index) }
            let id = try Self.string("id", in: entry, node: index)
            let zone = try Self.string("zone", in: entry, node: index)
            var gateway = false
            if let value = entry["gateway"] {
                guard let flag = value.bool else { throw .wrongType(key: "gateway", node: index, expected: "true or false") }
                gateway = flag
            }
            var capacity: ByteCount?
            if let value = entry["capacity"] {
                if let text = value.string {
                    do { capacity = try ByteCount(parsing: text) } catch { throw .badCapacity(node: id, reason: error.description) }
                } else if let bytes = value.int, bytes >= 0 {
                    capacity = ByteCount(bytes: UInt64(bytes))
                } else {
                    throw .wrongType(key: "capacity", node: index, expected: "a size such as \"10T\" or \"512GiB\"")
                }
            }
            if gateway && capacity != nil { throw .gatewayWithCapacity(node: id) }
            if capacity?.bytes == 0 { throw .zeroCapacity(node: id) }
            var tags: [String] = []
            if let value = entry["tags"] {
                guard let list = value.array else { throw .wrongType(key: "tags", node: index, expected: "a list of strings") }
                for i in 0..<list.count {
                    guard let tag = list[i].string else { throw .wrongType(key: "tags", node: index, expected: "a list of strings") }
                    tags.append(tag)
                }
            }
            let nodeID = NodeID(id)
            guard roles[nodeID] == nil else { throw .duplicateID(id) }
            roles[nodeID] = NodeRole(zone: ZoneName(zone), capacity: capacity, tags: tags)
        }
        self.roles = roles
    }

    private static func string(_ key: String, in table: TOMLTable, node: Int) throws(Error) -> String {
        guard let value = table[key] else { throw .missingKey(key: key, node: node) }
        guard let text = value.string, !text.isEmpty else { throw .wrongType(key: key, node: node, expected: "a non-empty string") }
        return text
    }
}
