import JSONValue
import Testing

/// A parse error's message and place as one comparable value, so a mismatch shows every field at once.
struct Failure: Equatable, Sendable, CustomStringConvertible {
    var message: String
    var offset: Int
    var line: Int
    var column: Int

    init(_ message: String, offset: Int, line: Int = 1, column: Int) {
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    init(_ error: JSONParseError) {
        self.init(error.message, offset: error.offset, line: error.line, column: error.column)
    }

    var description: String { "\(message) (offset \(offset), line \(line), column \(column))" }
}

/// The error `text` fails with; records an issue and returns nil when it parses.
func parseFailure(
    _ text: String,
    options: JSONParseOptions = .strict,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Failure? {
    do {
        let value = try JSON.parse(text, options: options)
        Issue.record("Expected a parse error, got \(value.text)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return Failure(error)
    }
}

/// `text` parsed and written back compactly.
func reparsed(_ text: String, options: JSONParseOptions = .strict) throws -> String {
    try JSON.parse(text, options: options).text
}

/// Nesting depth of arrays and objects (0 for a scalar), following the first element or member.
func nestingDepth(_ value: JSON) -> Int {
    var depth = 0
    var current = value
    while true {
        switch current {
        case .array(let array):
            depth += 1
            guard let first = array.first else { return depth }
            current = first
        case .object(let object):
            depth += 1
            guard let first = object.values.first else { return depth }
            current = first
        default:
            return depth
        }
    }
}
