import Foundation
import Units

/// HTML for the console: a page shell and escaping. Every value from the
/// cluster (names, ids, messages) goes through `escape`.
enum ConsoleHTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static let pages: [(path: String, title: String)] = [
        ("cluster", "Cluster"), ("layout", "Layout"), ("partitions", "Partitions"), ("buckets", "Buckets and keys"), ("maintenance", "Rebuild and scrub"),
    ]

    /// A whole page: navigation, an optional message, the body.
    static func page(_ name: String, title: String, node: String, message: String? = nil, error: String? = nil, body: String) -> String {
        let nav = pages.map { page in
            "<a href=\"/ui/\(page.path)\"\(page.path == name ? " class=\"current\"" : "")>\(escape(page.title))</a>"
        }.joined()
        var notes = ""
        if let message { notes += "<p class=\"message\" id=\"message\">\(escape(message))</p>" }
        if let error { notes += "<p class=\"error\" id=\"error\">\(escape(error))</p>" }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Shale</title><link rel="stylesheet" href="/ui/static/console.css">
            <script src="/ui/static/console.js" defer></script></head>
            <body data-page="\(escape(name))"><header><span class="brand">Shale</span><nav>\(nav)</nav>
            <span class="node">node \(escape(node))</span>
            <form method="post" action="/ui/logout" class="logout"><button type="submit">Log out</button></form></header>
            <main><h1>\(escape(title))</h1>\(notes)\(body)</main></body></html>
            """
    }

    static func login(error: String?) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Log in · Shale</title><link rel="stylesheet" href="/ui/static/console.css"></head>
        <body data-page="login"><main class="login"><h1>Shale console</h1>
        \(error.map { "<p class=\"error\" id=\"error\">\(escape($0))</p>" } ?? "")
        <form method="post" action="/ui/login"><label>Admin token <input type="password" name="token" id="token" autocomplete="off" required autofocus></label>
        <button type="submit" id="login">Log in</button></form>
        <p class="hint">The node's admin_token, or a named token from <code>shale admin-token create</code>; what you may do is its scope.</p>
        </main></body></html>
        """
    }

    static func hidden(_ name: String, _ value: String) -> String {
        "<input type=\"hidden\" name=\"\(escape(name))\" value=\"\(escape(value))\">"
    }

    /// A form that posts a change with the session's CSRF token.
    static func form(_ action: String, csrf: String, id: String? = nil, class className: String? = nil, _ fields: String, button: String) -> String {
        "<form method=\"post\" action=\"\(escape(action))\"\(id.map { " id=\"\(escape($0))\"" } ?? "")\(className.map { " class=\"\(escape($0))\"" } ?? "")>"
            + hidden("csrf", csrf) + fields + "<button type=\"submit\">\(escape(button))</button></form>"
    }

    static func table(_ headers: [String], _ rows: [[String]], id: String? = nil) -> String {
        let head = headers.map { "<th>\(escape($0))</th>" }.joined()
        // Cells are HTML already (the pages escape what they put in).
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined()
        return "<table\(id.map { " id=\"\(escape($0))\"" } ?? "")><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table>"
    }

    static func bytes(_ value: UInt64?) -> String { value.map { ByteCount(bytes: $0).description } ?? "?" }

    /// Parses an `application/x-www-form-urlencoded` body.
    static func formFields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
