import Foundation
import JSONValue

/// The tools this server offers, in `tools/list` order.
enum ExampleTools {
    static let all: [Tool] = [
        echo, currentTime, calculate, CreateEventTool.tool, renderSwatch, countdown, wordStats,
    ]

    // MARK: - echo

    static let echo = Tool(
        name: "echo",
        title: "Echo",
        description: "Returns the given text unchanged, optionally repeated several times (joined with a space).",
        inputSchema: [
            "type": "object",
            "properties": [
                "text": [
                    "type": "string",
                    "title": "Text",
                    "description": "The text to send back.",
                ],
                "repeat": [
                    "type": "integer",
                    "title": "Repeat",
                    "description": "How many times to repeat the text.",
                    "minimum": 1,
                    "maximum": 10,
                    "default": 1,
                ],
            ],
            "required": ["text"],
        ],
        annotations: ["readOnlyHint": true, "idempotentHint": true, "openWorldHint": false]
    ) { arguments, _ in
        let text = try arguments.requiredString("text")
        let count = try arguments.integer("repeat", in: 1...10, default: 1)
        return .text(Array(repeating: text, count: count).joined(separator: " "))
    }

    // MARK: - current_time

    static let currentTime = Tool(
        name: "current_time",
        title: "Current Time",
        description: """
            Returns the current date and time in an IANA time zone as ISO 8601 text, with the Unix time \
            in the structured result.
            """,
        inputSchema: [
            "type": "object",
            "properties": [
                "timezone": [
                    "type": "string",
                    "title": "Time Zone",
                    "description": "IANA time zone name, e.g. \"Europe/Paris\" or \"America/New_York\".",
                    "default": "UTC",
                    "examples": ["UTC", "Europe/Paris", "Asia/Tokyo"],
                ]
            ],
        ],
        outputSchema: [
            "type": "object",
            "properties": [
                "timezone": ["type": "string", "description": "The time zone used."],
                "iso8601": [
                    "type": "string",
                    "format": "date-time",
                    "description": "Local time with UTC offset.",
                ],
                "unix": ["type": "integer", "description": "Seconds since 1970-01-01T00:00:00Z."],
            ],
            "required": ["timezone", "iso8601", "unix"],
        ],
        annotations: ["readOnlyHint": true, "openWorldHint": false]
    ) { arguments, _ in
        let name = try arguments.string("timezone") ?? "UTC"
        guard let zone = TimeZone(identifier: name) else {
            throw ToolError(
                "Unknown time zone '\(name)'. Use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York'.")
        }
        let now = Date()
        let iso = now.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone))
        let unix = Int(now.timeIntervalSince1970.rounded(.down))
        return .text(iso, structured: ["timezone": .string(name), "iso8601": .string(iso), "unix": .int(unix)])
    }

    // MARK: - calculate

    static let calculate = Tool(
        name: "calculate",
        title: "Calculator",
        description: "Applies a basic arithmetic operation to two numbers: a + b, a - b, a × b, a ÷ b or a^b.",
        inputSchema: [
            "type": "object",
            "properties": [
                "operation": [
                    "type": "string",
                    "title": "Operation",
                    "description":
                        "add: a + b; subtract: a - b; multiply: a × b; divide: a ÷ b; power: a raised to the power b.",
                    "enum": ["add", "subtract", "multiply", "divide", "power"],
                ],
                "a": ["type": "number", "title": "A", "description": "The first operand."],
                "b": ["type": "number", "title": "B", "description": "The second operand."],
            ],
            "required": ["operation", "a", "b"],
        ],
        outputSchema: [
            "type": "object",
            "properties": ["result": ["type": "number", "description": "The outcome of the operation."]],
            "required": ["result"],
        ],
        annotations: ["readOnlyHint": true, "idempotentHint": true, "openWorldHint": false]
    ) { arguments, _ in
        let operation = try arguments.choice("operation", from: ["add", "subtract", "multiply", "divide", "power"])
        let a = try arguments.requiredNumber("a")
        let b = try arguments.requiredNumber("b")
        let result: Double
        switch operation {
        case "add": result = a + b
        case "subtract": result = a - b
        case "multiply": result = a * b
        case "divide":
            guard b != 0 else { throw ToolError("Division by zero") }
            result = a / b
        default: result = pow(a, b)
        }
        guard result.isFinite else {
            throw ToolError("The result of \(operation) is not a finite number (overflow or undefined).")
        }
        // Whole results are written as integers (5, not 5.0).
        let number: JSON =
            result == result.rounded() && abs(result) < 9e15 ? .int(Int(result)) : .double(result)
        return .structured(["result": number])
    }

    // MARK: - render_swatch

    static let renderSwatch = Tool(
        name: "render_swatch",
        title: "Render Color Swatch",
        description: "Renders a square PNG image filled with one color.",
        inputSchema: [
            "type": "object",
            "properties": [
                "color": [
                    "type": "string",
                    "title": "Color",
                    "description": "Hex RGB color such as \"#ff8800\".",
                    "pattern": "^#[0-9a-fA-F]{6}$",
                ],
                "size": [
                    "type": "integer",
                    "title": "Size",
                    "description": "Width and height of the image in pixels.",
                    "minimum": 1,
                    "maximum": 64,
                    "default": 8,
                ],
            ],
            "required": ["color"],
        ],
        annotations: ["readOnlyHint": true, "idempotentHint": true, "openWorldHint": false]
    ) { arguments, _ in
        let color = try arguments.requiredString("color")
        let size = try arguments.integer("size", in: 1...64, default: 8)
        let hex = color.utf8.dropFirst()
        guard color.utf8.first == UInt8(ascii: "#"), hex.count == 6,
            let rgb = UInt32(String(decoding: hex, as: UTF8.self), radix: 16)
        else {
            throw ToolError("Argument 'color' must look like \"#rrggbb\" (e.g. \"#ff8800\"), got \"\(color)\".")
        }
        let png = PNG.solid(
            red: UInt8(rgb >> 16 & 0xFF), green: UInt8(rgb >> 8 & 0xFF), blue: UInt8(rgb & 0xFF),
            width: size, height: size)
        let image: JSON = ["type": "image", "data": .string(Data(png).base64EncodedString()), "mimeType": "image/png"]
        return ToolResult(content: [image])
    }

    // MARK: - countdown

    static let countdown = Tool(
        name: "countdown",
        title: "Countdown",
        description: """
            Counts down from a number, pausing between steps, then answers "Liftoff!". Reports progress \
            at each step when the client sends a progress token; useful to try progress and cancellation.
            """,
        inputSchema: [
            "type": "object",
            "properties": [
                "from": [
                    "type": "integer",
                    "title": "From",
                    "description": "The number to count down from.",
                    "minimum": 1,
                    "maximum": 20,
                    "default": 3,
                ],
                "interval_ms": [
                    "type": "integer",
                    "title": "Interval (ms)",
                    "description": "Pause after each step, in milliseconds.",
                    "minimum": 0,
                    "maximum": 5000,
                    "default": 200,
                ],
            ],
        ],
        annotations: ["readOnlyHint": true, "idempotentHint": true, "openWorldHint": false]
    ) { arguments, context in
        let from = try arguments.integer("from", in: 1...20, default: 3)
        let interval = try arguments.integer("interval_ms", in: 0...5000, default: 200)
        for step in 1...from {
            try Task.checkCancellation()
            let remaining = from - step + 1
            await context.reportProgress(step, total: from, message: "\(remaining)…")
            await context.log(.debug, "T-minus \(remaining)")
            try await Task.sleep(for: .milliseconds(interval))
        }
        return .text("Liftoff!")
    }

    // MARK: - word_stats

    static let wordStats = Tool(
        name: "word_stats",
        title: "Word Statistics",
        description: """
            Counts the characters (Unicode grapheme clusters), words (runs of non-white-space) and lines \
            of a text.
            """,
        inputSchema: [
            "type": "object",
            "properties": [
                "text": ["type": "string", "title": "Text", "description": "The text to measure; may be large."]
            ],
            "required": ["text"],
        ],
        outputSchema: [
            "type": "object",
            "properties": [
                "characters": ["type": "integer", "minimum": 0, "description": "Number of characters."],
                "words": ["type": "integer", "minimum": 0, "description": "Number of words."],
                "lines": [
                    "type": "integer",
                    "minimum": 0,
                    "description": "Number of lines; a final line break does not start another line.",
                ],
            ],
            "required": ["characters", "words", "lines"],
        ],
        annotations: ["readOnlyHint": true, "idempotentHint": true, "openWorldHint": false]
    ) { arguments, _ in
        let text = try arguments.requiredString("text")
        var words = 0
        var lineBreaks = 0
        var inWord = false
        var endsWithBreak = false
        for scalar in text.unicodeScalars {
            let isBreak = scalar == "\n"
            if isBreak { lineBreaks += 1 }
            endsWithBreak = isBreak
            if scalar.properties.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                words += 1
            }
        }
        let lines = text.isEmpty ? 0 : lineBreaks + (endsWithBreak ? 0 : 1)
        return .structured(["characters": .int(text.count), "words": .int(words), "lines": .int(lines)])
    }
}
