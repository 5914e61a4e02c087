/// A failure that is not about how the command was typed: printed as one
/// line ("Error: …") without the usage text, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
