import Foundation

/// A one-line progress indicator on stderr, shown only on a terminal, and
/// only once the work has taken `delay` (quick work prints no bar).
final class ProgressLine {
    private let total: Int
    private var done = 0
    private let enabled: Bool
    private let delay: Duration
    private let started = ContinuousClock.now
    private var drawn = false

    init(total: Int, delay: Duration = .zero, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = total
        self.delay = delay
        self.enabled = enabled
    }

    func step(_ label: String) {
        done += 1
        guard enabled, ContinuousClock.now - started >= delay else { return }
        drawn = true
        let filled = total == 0 ? 0 : done * 20 / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
        StandardError.write("\r\u{1B}[2K[\(bar)] \(done)/\(total) \(label)")
    }

    func clear() {
        guard enabled, drawn else { return }
        StandardError.write("\r\u{1B}[2K")
    }
}

/// Bulk admin work (several buckets, a file of keys): one call per item,
/// a progress bar on a terminal when it takes over a second, and on the
/// first failure a stop that says how far it got (the items before it stay done).
enum Bulk {
    static let progressDelay = Duration.seconds(1)

    static func run<Item>(_ items: [Item], verb: String, label: (Item) -> String, _ call: (Item) async throws -> Data) async throws -> [Data] {
        // One item is one call: no bar (it used to trap on a terminal, turning an infinite delay into an Int).
        let progress = ProgressLine(total: items.count, delay: progressDelay, enabled: items.count > 1 && isatty(STDERR_FILENO) == 1)
        var answers: [Data] = []
        for item in items {
            do {
                answers.append(try await call(item))
            } catch {
                progress.clear()
                guard items.count > 1 else { throw error }
                throw CommandFailure("\(label(item)): \(error) (\(verb) \(answers.count) of \(items.count) before it; the rest not tried)")
            }
            progress.step(label(item))
        }
        progress.clear()
        return answers
    }

    /// The answers as `--json` prints them: one document for one item, an array for several.
    static func json(_ answers: [Data]) -> Data {
        if answers.count == 1 { return answers[0] }
        return Data(("[" + answers.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]").utf8)
    }
}
