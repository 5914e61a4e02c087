import AdminAPI
import ArgumentParser
import Foundation
import Units

struct BucketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bucket", abstract: "Create, list, inspect and delete buckets; grant keys access.",
        subcommands: [BucketCreate.self, BucketList.self, BucketInfo.self, BucketDelete.self, BucketAllow.self, BucketDeny.self])
}

struct BucketCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create one or more buckets.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Bucket names (S3 rules: 3-63 lowercase letters, digits, '.', '-').")
    var names: [String]

    func run() async throws {
        let client = try options.client()
        let answers = try await Bulk.run(names, verb: "created", label: { $0 }) { name in
            try await client.call(.POST, AdminPath.buckets, body: CreateBucketRequest(name: name))
        }
        client.output(Bulk.json(answers)) {
            names.count == 1 ? "Bucket \(names[0]) was created." : "\(names.count) buckets were created: \(names.joined(separator: ", "))."
        }
    }
}

struct BucketList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List buckets.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (buckets, data) = try await client.get(AdminPath.buckets, as: [BucketSummaryDocument].self)
        client.output(data) { TextTable(headers: ["BUCKET", "VISIBILITY"], rows: buckets.map { [$0.name, $0.visibility] }).render() }
    }
}

struct BucketInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a bucket and the keys allowed on it.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Bucket name.")
    var name: String

    func run() async throws {
        let client = try options.client()
        let (info, data) = try await client.get(AdminPath.buckets + "/" + AdminClient.escape(name), as: BucketInfoDocument.self)
        client.output(data) {
            var lines = ["Bucket:     \(info.bucket.name)", "ID:         \(info.bucket.id)", "Created:    \(info.bucket.created)",
                         "Visibility: \(info.bucket.visibility)", "", "==== KEYS FOR THIS BUCKET ===="]
            if info.grants.isEmpty {
                lines.append("(none: grant one with `shale bucket allow --read --write \(info.bucket.name) --key KEY`)")
            } else {
                lines += TextTable(headers: ["Permissions", "Access key", "Name"],
                                   rows: info.grants.map { [$0.permissions.joined(separator: ","), $0.keyID, $0.keyName] }).lines
            }
            return lines.joined(separator: "\n")
        }
    }
}

struct BucketDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete one or more buckets (each must be empty).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Bucket names.")
    var names: [String]

    func run() async throws {
        let client = try options.client()
        let answers = try await Bulk.run(names, verb: "deleted", label: { $0 }) { name in
            _ = try await client.call(.DELETE, AdminPath.buckets + "/" + AdminClient.escape(name))
            return try JSONEncoder().encode(["deleted": name])
        }
        client.output(Bulk.json(answers)) {
            names.count == 1 ? "Bucket \(names[0]) was deleted." : "\(names.count) buckets were deleted: \(names.joined(separator: ", "))."
        }
    }
}

struct PermissionFlags: ParsableArguments {
    @Flag(help: "Reading objects and listings.")
    var read = false
    @Flag(help: "Writing and deleting objects.")
    var write = false
    @Flag(help: "Bucket settings and deleting the bucket.")
    var owner = false
    @Option(help: "The access key: its id, a unique id prefix, or its name.")
    var key: String

    func validate() throws {
        guard read || write || owner else { throw ValidationError("give at least one of --read, --write, --owner") }
    }
}

struct BucketAllow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allow", abstract: "Grant a key permissions on one or more buckets.")
    @OptionGroup var options: ClientOptions
    @OptionGroup var flags: PermissionFlags
    @Argument(help: "Bucket names.")
    var buckets: [String]

    func run() async throws {
        try await BucketPermissionChange.run(options: options, flags: flags, buckets: buckets, verb: "allow")
    }
}

struct BucketDeny: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Revoke a key's permissions on one or more buckets.")
    @OptionGroup var options: ClientOptions
    @OptionGroup var flags: PermissionFlags
    @Argument(help: "Bucket names.")
    var buckets: [String]

    func run() async throws {
        try await BucketPermissionChange.run(options: options, flags: flags, buckets: buckets, verb: "deny")
    }
}

enum BucketPermissionChange {
    static func run(options: ClientOptions, flags: PermissionFlags, buckets: [String], verb: String) async throws {
        let client = try options.client()
        let request = PermissionRequest(key: flags.key, read: flags.read, write: flags.write, owner: flags.owner)
        let answers = try await Bulk.run(buckets, verb: "changed", label: { $0 }) { bucket in
            try await client.call(.POST, AdminPath.buckets + "/" + AdminClient.escape(bucket) + "/" + verb, body: request)
        }
        let infos = try answers.map { try JSONDecoder().decode(BucketInfoDocument.self, from: $0) }
        client.output(Bulk.json(answers)) {
            infos.map { info in
                let grant = info.grants.first { $0.keyID == flags.key || $0.keyName == flags.key || $0.keyID.hasPrefix(flags.key) }
                let now = grant?.permissions.joined(separator: ", ") ?? "none"
                return "Permissions of key \(flags.key) on bucket \(info.bucket.name) are now: \(now)."
            }.joined(separator: "\n")
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Create, list, inspect, import and delete S3 access keys.",
        subcommands: [KeyCreate.self, KeyList.self, KeyInfo.self, KeyDelete.self, KeyImport.self])
}

enum KeyRender {
    static func created(_ info: KeyInfoDocument, verb: String) -> String {
        ["Key \(verb):", "Name: \(info.key.name)", "Access Key ID: \(info.key.id)", "Secret Access Key: \(info.secret ?? "")"]
            .joined(separator: "\n")
    }
}

struct KeyCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create an access key; prints its id and secret.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "A name for the key, e.g. trino-query.")
    var name: String = "unnamed-key"

    func run() async throws {
        let client = try options.client()
        let (info, data) = try await client.send(.POST, AdminPath.keys, CreateKeyRequest(name: name), as: KeyInfoDocument.self)
        client.output(data) { KeyRender.created(info, verb: "created") }
    }
}

struct KeyImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Add keys with given ids and secrets (for clients provisioned in advance, or moved from another store).",
        discussion: "Either one key (ID SECRET [-n NAME]) or --file FILE: one key per line as ID,SECRET[,NAME]; blank lines and lines starting with # are skipped.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Access key id: GK followed by 24 hex digits.")
    var id: String?
    @Argument(help: "Secret: 64 hex digits.")
    var secret: String?
    @Option(name: [.short, .long], help: "A name for the key.")
    var name: String = "imported-key"
    @Option(help: "A file of keys, one per line: ID,SECRET[,NAME].")
    var file: String?

    func validate() throws {
        if file != nil && (id != nil || secret != nil) { throw ValidationError("give either ID SECRET or --file, not both") }
        if file == nil && (id == nil || secret == nil) { throw ValidationError("give ID and SECRET, or --file FILE") }
    }

    func run() async throws {
        let client = try options.client()
        let requests = try file.map(Self.read) ?? [ImportKeyRequest(id: id!, secret: secret!, name: name)]
        let answers = try await Bulk.run(requests, verb: "imported", label: { $0.id }) { request in
            try await client.call(.POST, AdminPath.keysImport, body: request)
        }
        let infos = try answers.map { try JSONDecoder().decode(KeyInfoDocument.self, from: $0) }
        client.output(Bulk.json(answers)) {
            infos.count == 1 ? KeyRender.created(infos[0], verb: "imported")
                : "\(infos.count) keys were imported: \(infos.map { "\($0.key.name) (\($0.key.id))" }.joined(separator: ", "))."
        }
    }

    static func read(_ path: String) throws -> [ImportKeyRequest] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw CommandFailure("cannot read \(path): \(error.localizedDescription)") }
        var requests: [ImportKeyRequest] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw CommandFailure("\(path):\(number + 1): expected ID,SECRET[,NAME]")
            }
            requests.append(ImportKeyRequest(id: fields[0], secret: fields[1], name: fields.count > 2 && !fields[2].isEmpty ? fields[2] : "imported-key"))
        }
        guard !requests.isEmpty else { throw CommandFailure("\(path) holds no keys") }
        return requests
    }
}

struct KeyList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List access keys.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (keys, data) = try await client.get(AdminPath.keys, as: [KeySummaryDocument].self)
        client.output(data) { TextTable(headers: ["Key ID", "Key Name"], rows: keys.map { [$0.id, $0.name] }).render() }
    }
}

struct KeyInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a key and the buckets it may use.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The key: its id, a unique id prefix, or its name.")
    var key: String
    @Flag(help: "Also print the secret.")
    var showSecret = false

    func run() async throws {
        let client = try options.client()
        let path = AdminPath.keys + "/" + AdminClient.escape(key) + (showSecret ? "?show_secret=true" : "")
        let (info, data) = try await client.get(path, as: KeyInfoDocument.self)
        client.output(data) {
            var lines = ["Key name: \(info.key.name)", "Key ID:   \(info.key.id)", "Created:  \(info.key.created)"]
            lines.append("Secret:   \(info.secret ?? "(hidden; --show-secret)")")
            lines += ["", "==== BUCKETS FOR THIS KEY ===="]
            if info.grants.isEmpty { lines.append("(none)") } else {
                lines += TextTable(headers: ["Permissions", "Bucket"], rows: info.grants.map { [$0.permissions.joined(separator: ","), $0.bucket] }).lines
            }
            return lines.joined(separator: "\n")
        }
    }
}

struct KeyDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete an access key.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The key: its id, a unique id prefix, or its name.")
    var key: String

    func run() async throws {
        let client = try options.client()
        let (info, data) = try await client.send(.DELETE, AdminPath.keys + "/" + AdminClient.escape(key), EmptyBody(), as: KeyInfoDocument.self)
        client.output(data) { "Key \(info.key.id) (\(info.key.name)) was deleted." }
    }
}
