import ArgumentParser
import Erasure
import Foundation
import LayoutPlanner
import Placement

struct LayoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layout",
        abstract: "Stage, review and apply how partitions are placed on nodes.",
        subcommands: [LayoutAssign.self, LayoutAutoAssign.self, LayoutRemove.self, LayoutShow.self, LayoutApply.self, LayoutRevert.self,
                      LayoutHistoryCommand.self, LayoutConfig.self, LayoutPlan.self]
    )
}

struct LayoutPlan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compute a layout from a nodes file, without a cluster.",
        discussion: """
        The nodes file is TOML, one [[node]] table per node with id, zone and capacity \
        (e.g. "10T", "512GiB"); omit capacity or set gateway = true for a node that stores \
        nothing. Prints the layout report: usable capacity, overhead, how many nodes and \
        zones can be lost, slots moved from --previous.
        """
    )

    @Option(help: "TOML file describing the nodes.")
    var nodes: String

    @Option(name: .customLong("ec"), help: "Erasure code K+M (default: the previous plan's, else 4+2).")
    var code: String?

    @Option(name: .customLong("zone-cap"), help: "Most slots one zone may hold in a partition (default: ceil((k+m) / zones)).")
    var zoneCap: Int?

    @Option(help: "A layout JSON written earlier by this command, to show what the change moves.")
    var previous: String?

    @Flag(help: "Print the layout as JSON instead of the report.")
    var json = false

    @Option(help: "Also write the layout JSON to this file.")
    var output: String?

    func run() throws {
        let nodesFile: NodesFile
        do {
            nodesFile = try NodesFile(toml: try readText(nodes, what: "nodes file"))
        } catch let error as NodesFile.Error {
            throw CommandFailure("\(nodes): \(error)")
        }
        var parsedCode: ErasureCode?
        if let code {
            do { parsedCode = try ErasureCode(parsing: code) } catch { throw ValidationError("--ec: \(error)") }
        }
        var previousDocument: LayoutDocument?
        if let previous {
            do {
                previousDocument = try JSONDecoder().decode(LayoutDocument.self, from: Data(try readText(previous, what: "previous layout").utf8))
            } catch let error as DecodingError {
                throw CommandFailure("\(previous): not a layout written by 'shale layout plan --output': \(Self.describe(error))")
            }
        }
        let plan: LayoutPlanner.Plan
        do {
            plan = try LayoutPlanner.plan(nodes: nodesFile, code: parsedCode, zoneCap: zoneCap, previous: previousDocument)
        } catch {
            throw CommandFailure("\(error)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(plan.document)
        if let output {
            do { try data.write(to: URL(fileURLWithPath: output)) } catch {
                throw CommandFailure("cannot write \(output): \(error.localizedDescription)")
            }
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(plan.report.render(title: "LAYOUT PLAN (version \(plan.layout.version))"))
        }
    }

    private func readText(_ path: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read \(what) '\(path)'")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong value at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case .dataCorrupted(let context): return context.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
