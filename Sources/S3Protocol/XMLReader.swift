/// A small, strict reader for the XML bodies S3 clients send (DeleteObjects,
/// CreateBucketConfiguration, …): elements, text and the five named and
/// numeric character references. No DTDs, no processing beyond the
/// declaration, no CDATA: anything else is malformed. Pure.
public struct XMLElement: Equatable, Sendable {
    public let name: String
    public var children: [XMLElement] = []
    public var text = ""

    public init(name: String) { self.name = name }

    /// Children with this local name (namespace prefixes ignored).
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.localName == name } }
    public func first(_ name: String) -> XMLElement? { children.first { $0.localName == name } }
    public var localName: String { name.split(separator: ":").last.map(String.init) ?? name }
}

public enum XMLReader {
    public struct Malformed: Error, Equatable, Sendable { public let reason: String }

    /// Parses a document; at most `maxDepth` nested elements.
    public static func parse(_ text: String, maxDepth: Int = 16) throws(Malformed) -> XMLElement {
        var scalars = Array(text.unicodeScalars)[...]
        func fail(_ reason: String) -> Malformed { Malformed(reason: reason) }
        func skipSpace() { while let c = scalars.first, c == " " || c == "\n" || c == "\r" || c == "\t" { scalars.removeFirst() } }
        func starts(_ prefix: String) -> Bool { scalars.starts(with: prefix.unicodeScalars) }

        skipSpace()
        if starts("<?xml") {
            guard let end = scalars.firstRange(of: Array("?>".unicodeScalars)) else { throw fail("unterminated declaration") }
            scalars = scalars[end.upperBound...]
        }
        var stack: [XMLElement] = []
        var root: XMLElement?
        while !scalars.isEmpty {
            if stack.isEmpty { skipSpace(); if scalars.isEmpty { break } }
            if starts("<!--") {
                guard let end = scalars.firstRange(of: Array("-->".unicodeScalars)) else { throw fail("unterminated comment") }
                scalars = scalars[end.upperBound...]
            } else if starts("</") {
                scalars.removeFirst(2)
                let name = readName(&scalars)
                skipSpace()
                guard scalars.first == ">" else { throw fail("bad closing tag") }
                scalars.removeFirst()
                guard let open = stack.popLast(), open.name == name else { throw fail("mismatched </\(name)>") }
                if stack.isEmpty {
                    guard root == nil else { throw fail("more than one root element") }
                    root = open
                } else {
                    stack[stack.count - 1].children.append(open)
                }
            } else if starts("<!") || starts("<?") {
                throw fail("DTDs, CDATA and processing instructions are not accepted")
            } else if scalars.first == "<" {
                scalars.removeFirst()
                let name = readName(&scalars)
                guard !name.isEmpty else { throw fail("element without a name") }
                // Attributes (xmlns and the like) are read past, not interpreted.
                while let c = scalars.first, c != ">" && c != "/" {
                    if c == "\"" || c == "'" {
                        scalars.removeFirst()
                        guard let close = scalars.firstIndex(of: c) else { throw fail("unterminated attribute") }
                        scalars = scalars[scalars.index(after: close)...]
                    } else {
                        scalars.removeFirst()
                    }
                }
                guard let c = scalars.first else { throw fail("unterminated tag <\(name)") }
                let element = XMLElement(name: name)
                if c == "/" {
                    scalars.removeFirst()
                    guard scalars.first == ">" else { throw fail("bad empty tag") }
                    scalars.removeFirst()
                    if stack.isEmpty {
                        guard root == nil else { throw fail("more than one root element") }
                        root = element
                    } else {
                        stack[stack.count - 1].children.append(element)
                    }
                } else {
                    scalars.removeFirst()
                    guard stack.count < maxDepth else { throw fail("nested too deep") }
                    stack.append(element)
                }
            } else {
                guard !stack.isEmpty else { throw fail("text outside the root element") }
                var text = ""
                while let c = scalars.first, c != "<" {
                    scalars.removeFirst()
                    if c == "&" {
                        guard let semicolon = scalars.firstIndex(of: ";"), scalars.distance(from: scalars.startIndex, to: semicolon) <= 10 else {
                            throw fail("bad character reference")
                        }
                        let reference = String(String.UnicodeScalarView(scalars[..<semicolon]))
                        scalars = scalars[scalars.index(after: semicolon)...]
                        guard let scalar = decode(reference) else { throw fail("unknown reference &\(reference);") }
                        text.unicodeScalars.append(scalar)
                    } else {
                        text.unicodeScalars.append(c)
                    }
                }
                stack[stack.count - 1].text += text
            }
        }
        guard stack.isEmpty, let root else { throw fail("the document ends inside an element") }
        return root
    }

    static func readName(_ scalars: inout ArraySlice<Unicode.Scalar>) -> String {
        var name = ""
        while let c = scalars.first, c != " " && c != ">" && c != "/" && c != "\n" && c != "\r" && c != "\t" && c != "<" {
            name.unicodeScalars.append(c)
            scalars.removeFirst()
        }
        return name
    }

    static func decode(_ reference: String) -> Unicode.Scalar? {
        switch reference {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            guard reference.hasPrefix("#") else { return nil }
            let digits = reference.dropFirst()
            let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            return value.flatMap(Unicode.Scalar.init)
        }
    }
}
