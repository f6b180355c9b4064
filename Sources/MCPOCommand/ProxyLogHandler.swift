import Logging
import MCPOHTTP
import MCPOSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One line per message on stderr: `2026-11-21T09:14:38Z info mcpo: message`.
///
/// Cheaper than swift-log's stream handler on the request path: metadata is only kept and formatted when a line
/// is actually written, and the timestamp text is made once per second.
struct ProxyLogHandler: LogHandler {
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
