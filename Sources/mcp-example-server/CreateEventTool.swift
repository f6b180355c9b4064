import Foundation
import JSONValue

/// `create_event`: the tool with the richest input schema (nested objects through `$defs`/`$ref`,
/// formats, patterns, enums, array constraints), for exercising schema translation.
enum CreateEventTool {
    static let priorities = ["low", "normal", "high"]
    static let maximumAttendees = 50

    static let tool = Tool(
        name: "create_event",
        title: "Create Calendar Event",
        description: """
            Schedules a calendar event and returns it with its new id. The event is kept only in the \
            answer (this example server has no calendar behind it).
            """,
        inputSchema: inputSchema,
        outputSchema: outputSchema,
        annotations: [
            "readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false,
        ],
        handler: create
    )

    static let definitions: JSON = [
        "Location": [
            "type": "object",
            "title": "Location",
            "description": "Where the event takes place.",
            "properties": [
                "name": [
                    "type": "string",
                    "title": "Name",
                    "description": "Name of the place, e.g. \"Room 4.2\".",
                    "minLength": 1,
                ],
                "address": ["$ref": "#/$defs/Address"],
            ],
            "required": ["name"],
        ],
        "Address": [
            "type": "object",
            "title": "Address",
            "description": "Postal address of the place.",
            "properties": [
                "street": ["type": "string", "title": "Street"],
                "city": ["type": "string", "title": "City", "minLength": 1],
                "country": [
                    "type": "string",
                    "title": "Country",
                    "description": "ISO 3166-1 alpha-2 country code, e.g. \"FR\".",
                    "pattern": "^[A-Z]{2}$",
                ],
            ],
            "required": ["city", "country"],
            "additionalProperties": false,
        ],
    ]

    static let attendeesSchema: JSON = [
        "type": "array",
        "title": "Attendees",
        "description": "People to invite; each email at most once.",
        "items": [
            "type": "object",
            "properties": [
                "email": ["type": "string", "format": "email", "title": "Email"],
                "optional": [
                    "type": "boolean",
                    "title": "Optional",
                    "description": "Whether attendance is optional.",
                    "default": false,
                ],
            ],
            "required": ["email"],
        ],
        "minItems": 0,
        "maxItems": .int(maximumAttendees),
        "uniqueItems": true,
    ]

    static let inputSchema: JSON = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": [
            "title": [
                "type": "string",
                "title": "Title",
                "description": "Short name of the event.",
                "minLength": 1,
                "maxLength": 200,
            ],
            "start": [
                "type": "string",
                "format": "date-time",
                "title": "Start",
                "description": "Start time as RFC 3339, e.g. \"2025-07-01T09:30:00+02:00\".",
            ],
            "duration_minutes": [
                "type": "integer",
                "title": "Duration (minutes)",
                "minimum": 5,
                "maximum": 1440,
                "default": 60,
            ],
            "priority": [
                "type": "string",
                "title": "Priority",
                "enum": .array(priorities.map(JSON.string)),
                "default": "normal",
            ],
            "location": ["$ref": "#/$defs/Location"],
            "attendees": attendeesSchema,
        ],
        "required": ["title", "start"],
        "$defs": definitions,
    ]

    static let outputSchema: JSON = [
        "type": "object",
        "properties": [
            "id": ["type": "string", "description": "Identifier of the new event."],
            "event": [
                "type": "object",
                "properties": [
                    "title": ["type": "string"],
                    "start": ["type": "string", "format": "date-time"],
                    "end": ["type": "string", "format": "date-time"],
                    "duration_minutes": ["type": "integer"],
                    "priority": ["type": "string", "enum": .array(priorities.map(JSON.string))],
                    "location": ["$ref": "#/$defs/Location"],
                    "attendees": attendeesSchema,
                ],
                "required": ["title", "start", "end", "duration_minutes", "priority", "attendees"],
            ],
        ],
        "required": ["id", "event"],
        "$defs": definitions,
    ]

    @Sendable static func create(_ arguments: ToolArguments, _ context: ToolContext) async throws -> ToolResult {
        let title = try arguments.requiredString("title")
        let length = title.unicodeScalars.count
        guard (1...200).contains(length) else {
            throw ToolError("Argument 'title' must be 1 to 200 characters long, got \(length).")
        }
        let startText = try arguments.requiredString("start")
        guard let (start, zone) = parseDateTime(startText) else {
            throw ToolError(
                "Argument 'start' must be an RFC 3339 date-time such as \"2025-07-01T09:30:00+02:00\", "
                    + "got \"\(startText)\".")
        }
        let duration = try arguments.integer("duration_minutes", in: 5...1440, default: 60)
        let priority = try arguments.choice("priority", from: priorities, default: "normal")
        let location = try arguments.object("location").map(validateLocation)
        let attendees = try validateAttendees(arguments.array("attendees") ?? [], arguments: arguments)

        let end = start.addingTimeInterval(TimeInterval(duration * 60))
        let style = Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone)
        var event: JSON = [
            "title": .string(title),
            "start": .string(start.formatted(style)),
            "end": .string(end.formatted(style)),
            "duration_minutes": .int(duration),
            "priority": .string(priority),
        ]
        if let location { event["location"] = location }
        event["attendees"] = .array(attendees)
        let id = "evt_" + String(UInt64.random(in: 0..<(1 << 48)), radix: 16).leftPadded(to: 12)

        var summary = "Created event \(id) \"\(title)\" on \(start.formatted(style)) for \(duration) minutes"
        summary += ", \(priority) priority"
        if let name = location?["name"]?.stringValue { summary += ", at \(name)" }
        summary += attendees.count == 1 ? ", 1 attendee." : ", \(attendees.count) attendees."
        await context.log(.info, summary)
        return .text(summary, structured: ["id": .string(id), "event": event])
    }

    private static func validateLocation(_ location: ToolArguments) throws(ToolError) -> JSON {
        let name = try location.requiredString("name")
        guard !name.isEmpty else { throw ToolError("Argument 'location.name' must not be empty.") }
        var result: JSON = ["name": .string(name)]
        if let address = try location.object("address") {
            try address.rejectUnknownKeys(allowed: ["street", "city", "country"])
            var validated: JSON = [:]
            if let street = try address.string("street") { validated["street"] = .string(street) }
            let city = try address.requiredString("city")
            guard !city.isEmpty else { throw ToolError("Argument 'location.address.city' must not be empty.") }
            validated["city"] = .string(city)
            let country = try address.requiredString("country")
            guard country.utf8.count == 2, country.utf8.allSatisfy({ (65...90).contains($0) }) else {
                throw ToolError(
                    "Argument 'location.address.country' must be a two-letter ISO country code in capitals "
                        + "(pattern ^[A-Z]{2}$), got \"\(country)\".")
            }
            validated["country"] = .string(country)
            result["address"] = validated
        }
        return result
    }

    private static func validateAttendees(_ items: [JSON], arguments: ToolArguments) throws(ToolError) -> [JSON] {
        guard items.count <= maximumAttendees else {
            throw ToolError("Argument 'attendees' may list at most \(maximumAttendees) people, got \(items.count).")
        }
        var seen: Set<String> = []
        var result: [JSON] = []
        for (index, item) in items.enumerated() {
            guard case .object = item else {
                throw arguments.wrongType("attendees[\(index)]", expected: "an object", got: item)
            }
            let attendee = ToolArguments(item, path: arguments.name("attendees[\(index)]"))
            let email = try attendee.requiredString("email")
            guard isPlausibleEmail(email) else {
                throw ToolError("Argument '\(attendee.name("email"))' is not an email address: \"\(email)\".")
            }
            guard seen.insert(email.lowercased()).inserted else {
                throw ToolError("Attendee \(email) is listed more than once (attendees must be unique).")
            }
            let optional = try attendee.bool("optional") ?? false
            result.append(["email": .string(email), "optional": .bool(optional)])
        }
        return result
    }

    /// `local@domain.tld`, without spaces: what most validators of `format: email` accept.
    private static func isPlausibleEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !text.contains(where: \.isWhitespace) else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }
    }

    /// Parses an RFC 3339 date-time; returns the instant and the time zone of its UTC offset.
    static func parseDateTime(_ text: String) -> (Date, TimeZone)? {
        let normalized = text.uppercased()
        let date =
            (try? Date(normalized, strategy: .iso8601))
            ?? (try? Date(normalized, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        guard let date, normalized.count >= 20 else { return nil }
        if normalized.hasSuffix("Z") { return (date, TimeZone(secondsFromGMT: 0) ?? .gmt) }
        // The offset is the last six characters: ±HH:MM.
        let offset = Array(normalized.suffix(6))
        guard offset[3] == ":", let hours = Int(String(offset[1...2])), let minutes = Int(String(offset[4...5]))
        else { return nil }
        let seconds = (hours * 60 + minutes) * 60 * (offset[0] == "-" ? -1 : 1)
        return TimeZone(secondsFromGMT: seconds).map { (date, $0) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
