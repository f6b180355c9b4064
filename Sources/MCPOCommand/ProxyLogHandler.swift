import Foundation
import JSONValue
import Logging
import MCPOAudit
import MCPOConfig
import MCPOHTTP
import MCPOSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One line per message on stderr: `2026-11-21T09:14:38Z info mcpo: message`, or with `--log-format json` (config
/// `logFormat`) one JSON object: `time` (with milliseconds), `level`, `message`, `server` (of a `[server] …`
/// message, or the event's), `requestId` and the event's other fields.
///
/// Cheaper than swift-log's stream handler on the request path: metadata is only kept and formatted when a line
/// is actually written, and the timestamp text is made once per second.
struct ProxyLogHandler: LogHandler {
    /// The format in force; set once the config file (which may name it) has been read.
    static let format = Atomic<Int>(0)

    static func use(_ format: LogFormat) {
        Self.format.store(format == .json ? 1 : 0, ordering: .relaxed)
    }

    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if Self.format.load(ordering: .relaxed) == 1 {
            Self.writeLine(jsonLine(event))
            return
        }
        // Bytes appended in place: one access log line per call is written this way.
        let message = event.message.description
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 + label.utf8.count + message.utf8.count)
        bytes += Self.timestamp.current().utf8
        bytes.append(UInt8(ascii: " "))
        bytes += event.level.rawValue.utf8
        bytes.append(UInt8(ascii: " "))
        bytes += label.utf8
        bytes += ": ".utf8
        bytes += message.utf8
        if let extra = event.metadata, !extra.isEmpty {
            bytes +=
                (" " + extra.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")).utf8
        }
        bytes.append(UInt8(ascii: "\n"))
        Self.writeLine(bytes)
    }

    /// The event as one JSON object.
    private func jsonLine(_ event: LogEvent) -> [UInt8] {
        var message = event.message.description
        var object: OrderedJSONObject = [
            "time": .string(AuditTime.text(Date())), "level": .string(event.level.rawValue), "logger": .string(label),
        ]
        // `[server] what happened`: the server becomes a field of its own.
        if message.hasPrefix("["), let close = message.firstIndex(of: "]"),
            message.index(after: close) < message.endIndex, message[message.index(after: close)] == " "
        {
            object["server"] = .string(String(message[message.index(after: message.startIndex)..<close]))
            message = String(message[message.index(close, offsetBy: 2)...])
        }
        object["message"] = .string(message)
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) { object[key] = Self.json(value) }
        var bytes = JSON.object(object).bytes
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    private static func json(_ value: Logger.MetadataValue) -> JSON {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members):
            .object(
                OrderedJSONObject(
                    uniqueKeysWithValues: members.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }

    private static func writeLine(_ line: [UInt8]) {
        var bytes = line
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)  // non-empty: has "\n"
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// The UTC time as ISO 8601 text: `2026-11-21T09:14:38Z`.
    private static let timestamp = UTCSecondText { parts in
        let twoDigits = UTCSecondText.twoDigits
        return "\(parts.tm_year + 1900)-\(twoDigits(parts.tm_mon + 1))-\(twoDigits(parts.tm_mday))T"
            + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)):\(twoDigits(parts.tm_sec))Z"
    }
}
