/// The web console on the admin port.
enum AdminConsole {
    static let root = "/ui"
}
