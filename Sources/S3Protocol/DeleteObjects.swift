/// DeleteObjects (`POST /bucket?delete`): the request body and the answer.
public struct DeleteObjectsRequest: Equatable, Sendable {
    public static let maxKeys = 1000
    /// A generous bound for 1000 keys of 1024 bytes, escaped.
    public static let maxBodyBytes = 8 << 20

    public struct Entry: Equatable, Sendable {
        public let key: String
        public let versionID: String?
        public init(key: String, versionID: String?) { self.key = key; self.versionID = versionID }
    }

    /// Only errors are reported (successes are silent).
    public let quiet: Bool
    public let objects: [Entry]

    public static func parse(_ body: String) throws(S3Error) -> DeleteObjectsRequest {
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "Delete" else { throw malformed }
        let quiet: Bool
        switch root.first("Quiet")?.text.trimmed.lowercased() {
        case nil, "false": quiet = false
        case "true": quiet = true
        default: throw malformed
        }
        var objects: [Entry] = []
        for object in root.all("Object") {
            guard let key = object.first("Key")?.text else { throw malformed }
            objects.append(Entry(key: key, versionID: object.first("VersionId")?.text))
        }
        guard !objects.isEmpty, objects.count <= maxKeys else { throw malformed }
        return DeleteObjectsRequest(quiet: quiet, objects: objects)
    }
}

extension S3XML {
    /// One key's failure in a DeleteObjects answer.
    public struct DeleteError: Error, Sendable {
        public let key: String
        public let versionID: String?
        public let code: String
        public let message: String
        public init(key: String, versionID: String? = nil, code: String, message: String) {
            self.key = key; self.versionID = versionID; self.code = code; self.message = message
        }
    }

    /// One key DeleteObjects deleted: the version named, and whether a delete marker was concerned.
    public struct Deleted: Sendable {
        public let key: String
        public let versionID: String?
        public let deleteMarker: Bool
        public let deleteMarkerVersionID: String?
        public init(key: String, versionID: String? = nil, deleteMarker: Bool = false, deleteMarkerVersionID: String? = nil) {
            self.key = key; self.versionID = versionID; self.deleteMarker = deleteMarker; self.deleteMarkerVersionID = deleteMarkerVersionID
        }
    }

    public static func deleteResult(deleted: [Deleted], errors: [DeleteError]) -> String {
        var out = declaration + "<DeleteResult xmlns=\"\(namespace)\">"
        for done in deleted {
            out += "<Deleted>" + element("Key", done.key)
            if let id = done.versionID { out += element("VersionId", id) }
            if done.deleteMarker { out += element("DeleteMarker", "true") }
            if let id = done.deleteMarkerVersionID { out += element("DeleteMarkerVersionId", id) }
            out += "</Deleted>"
        }
        for error in errors {
            out += "<Error>" + element("Key", error.key)
            if let id = error.versionID { out += element("VersionId", id) }
            out += element("Code", error.code) + element("Message", error.message) + "</Error>"
        }
        return out + "</DeleteResult>"
    }
}
