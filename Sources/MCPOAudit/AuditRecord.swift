import Foundation
import JSONValue

/// What became of a call, as the audit log and the metrics name it.
public enum AuditOutcome: String, Sendable, CaseIterable, Codable {
    case ok
    /// The tool ran and said it failed (`isError`).
    case toolError = "tool_error"
    /// The server answered with a JSON-RPC error, or broke the protocol.
    case protocolError = "protocol_error"
    /// The body did not fit the tool's input schema (or was not a usable request).
    case invalidArguments = "invalid_arguments"
    /// No credential, or one that is not valid.
    case unauthenticated
    /// A valid credential that may not make this call (scopes, the token's audience).
    case denied
    case confirmationRequired = "confirmation_required"
    /// The server asked the caller a question (409 with a continuation).
    case inputRequired = "input_required"
    case rateLimited = "rate_limited"
    /// The tool's definition changed since it was approved (blocked), or was seen changing (warned).
    case definitionChanged = "definition_changed"
    case timeout
    /// The server is not connected, overloaded, or the record could not be written (`required`).
    case unavailable
    /// The caller or the server went away during the call.
    case disconnected
}

/// One call that reached a tool route, whatever became of it. Raw arguments, keys and tokens are never part of it.
public struct AuditRecord: Sendable, Equatable {
    /// The request id (`X-Request-Id`).
    public var id: String
    public var time: Date
    /// The key's name, `<issuer>#<subject>` for a token, or `anonymous`.
    public var caller: String
    public var user: String?
    public var tenant: String?
    public var server: String
    public var tool: String
    /// Hex SHA-256 of the arguments in canonical JSON (of `{}` when there are none).
    public var argsSha256: String
    /// The HTTP status answered.
    public var status: Int
    public var outcome: AuditOutcome
    public var durationMs: Double
    /// The first `outputChars` characters of the answer body.
    public var output: String?
    /// The failure's message, truncated alike.
    public var error: String?
    public var risk: String?
    /// The host name of the proxy that answered.
    public var replica: String
    /// The W3C trace id of the request's `traceparent`, if it had one.
    public var traceId: String?

    /// Inlinable: a record is made per call, by its caller, without a call across modules.
    @inlinable
    public init(
        id: String, time: Date, caller: String, user: String? = nil, tenant: String? = nil, server: String,
        tool: String, argsSha256: String, status: Int, outcome: AuditOutcome, durationMs: Double,
        output: String? = nil, error: String? = nil, risk: String? = nil, replica: String, traceId: String? = nil
    ) {
        self.id = id
        self.time = time
        self.caller = caller
        self.user = user
        self.tenant = tenant
        self.server = server
        self.tool = tool
        self.argsSha256 = argsSha256
        self.status = status
        self.outcome = outcome
        self.durationMs = durationMs
        self.output = output
        self.error = error
        self.risk = risk
        self.replica = replica
        self.traceId = traceId
    }

    /// The record as `GET /audit` and `mcpo audit --json` give it.
    public var json: JSON {
        var object: OrderedJSONObject = [
            "id": .string(id), "time": .string(AuditTime.text(time)), "caller": .string(caller),
        ]
        object["user"] = user.map(JSON.string) ?? .null
        object["tenant"] = tenant.map(JSON.string) ?? .null
        object["server"] = .string(server)
        object["tool"] = .string(tool)
        object["argsSha256"] = .string(argsSha256)
        object["status"] = .int(status)
        object["outcome"] = .string(outcome.rawValue)
        object["durationMs"] = .double((durationMs * 1000).rounded() / 1000)
        object["output"] = output.map(JSON.string) ?? .null
        object["error"] = error.map(JSON.string) ?? .null
        object["risk"] = risk.map(JSON.string) ?? .null
        object["replica"] = .string(replica)
        object["traceId"] = traceId.map(JSON.string) ?? .null
        return .object(object)
    }

    /// The fields a store keeps as JSON text beside its columns (`id`, `time_ms`, `server`, `tool`, `caller`,
    /// `outcome`, `duration_ms`): the others, without the empty ones, written straight into bytes (a record is stored
    /// per call; building a JSON value first, or writing the columns twice, costs more than the rest of the write).
    func writeStoredFields(into out: inout AuditBytesWriter) {
        out.byte(UInt8(ascii: "{"))
        // Each field with its name written at once, and a comma after it; the last comma becomes the brace.
        func field(_ quotedWithColon: StaticString, _ value: String?) {
            guard let value else { return }
            out.literal(quotedWithColon)
            out.jsonString(value)
            out.byte(UInt8(ascii: ","))
        }
        field(#""user":"#, user)
        field(#""tenant":"#, tenant)
        field(#""argsSha256":"#, argsSha256)
        out.literal(#""status":"#)
        out.integer(Int64(status))
        out.byte(UInt8(ascii: ","))
        field(#""output":"#, output)
        field(#""error":"#, error)
        field(#""risk":"#, risk)
        field(#""replica":"#, replica)
        field(#""traceId":"#, traceId)
        out.replaceLast(with: UInt8(ascii: "}"))  // the comma after the status at least
    }

    /// The stored fields as JSON text.
    public var storedText: String {
        String(unsafeUninitializedCapacity: AuditBytesWriter.room(for: self)) { out in
            var writer = AuditBytesWriter(out)
            writeStoredFields(into: &writer)
            return writer.count
        }
    }

    /// A record read back from a store: its columns, and its stored fields (rows written by earlier versions hold
    /// the whole record there; the columns win).
    public init(
        id: String, time: Date, server: String, tool: String, caller: String, outcome: String, durationMs: Double,
        storedText: String
    ) {
        self.init(json: (try? JSON.parse(Array(storedText.utf8))) ?? [:])
        self.id = id
        self.time = time
        self.server = server
        self.tool = tool
        self.caller = caller
        self.outcome = AuditOutcome(rawValue: outcome) ?? .protocolError
        self.durationMs = durationMs
    }

    /// A record from its `json` (the fields it lacks are empty).
    public init(json: JSON) {
        func text(_ name: String) -> String? { json[name]?.stringValue }
        self.init(
            id: text("id") ?? "", time: text("time").flatMap { AuditTime.parse($0) } ?? Date(timeIntervalSince1970: 0),
            caller: text("caller") ?? "", user: text("user"), tenant: text("tenant"), server: text("server") ?? "",
            tool: text("tool") ?? "", argsSha256: text("argsSha256") ?? "", status: json["status"]?.intValue ?? 0,
            outcome: AuditOutcome(rawValue: text("outcome") ?? "") ?? .protocolError,
            durationMs: json["durationMs"]?.doubleValue ?? 0, output: text("output"), error: text("error"),
            risk: text("risk"), replica: text("replica") ?? "", traceId: text("traceId"))
    }

    /// The first `count` characters of `text` (nil when `count` is 0).
    public static func truncated(_ text: String, to count: Int) -> String? {
        guard count > 0 else { return nil }
        // Never more characters than UTF-8 bytes: most answers are decided without counting their characters.
        guard text.utf8.count > count, text.count > count else { return text }
        return String(text.prefix(count))
    }
}

/// Times as the audit log writes and reads them: ISO 8601 UTC with milliseconds (`2026-12-06T02:10:38.123Z`).
public enum AuditTime {
    public static func text(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        let remainder = Int(milliseconds % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(remainder), 3))Z"
    }

    /// `2026-12-06T02:10:38.123Z` (milliseconds and `Z` optional, `+00:00` accepted), or a duration back from
    /// `now`: `90s`, `15m`, `1h`, `7d`.
    public static func parse(_ text: String, now: Date = Date()) -> Date? {
        if let last = text.last, "smhd".contains(last), let amount = Double(text.dropLast()), amount >= 0,
            amount.isFinite
        {
            let unit: Double =
                switch last {
                case "s": 1
                case "m": 60
                case "h": 3600
                default: 86_400
                }
            return now.addingTimeInterval(-amount * unit)
        }
        var body = Substring(text)
        if body.hasSuffix("Z") {
            body = body.dropLast()
        } else if body.hasSuffix("+00:00") {
            body = body.dropLast(6)
        }
        let dateAndTime = body.split(separator: "T", omittingEmptySubsequences: false)
        guard dateAndTime.count <= 2 else { return nil }
        let dateParts = dateAndTime[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard dateParts.count == 3, let year = dateParts[0], let month = dateParts[1], let day = dateParts[2],
            (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0.0
        if dateAndTime.count == 2 {
            let timeParts = dateAndTime[1].split(separator: ":", omittingEmptySubsequences: false)
            guard timeParts.count >= 2, timeParts.count <= 3, let h = Int(timeParts[0]), let m = Int(timeParts[1]),
                (0...23).contains(h), (0...59).contains(m)
            else { return nil }
            hour = h
            minute = m
            if timeParts.count == 3 {
                guard let s = Double(timeParts[2]), s >= 0, s < 61 else { return nil }
                second = s
            }
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = 0
        let base = timegm(&parts)
        guard base != -1 else { return nil }
        return Date(timeIntervalSince1970: Double(base) + second)
    }
}
