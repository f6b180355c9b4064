import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One line per message on stderr: `2026-11-21T09:14:38Z info mcpo: message`.
///
/// Cheaper than swift-log's stream handler on the request path: metadata is only kept (Hummingbird sets a
/// request id on every request) and formatted when a line is actually written, and the timestamp text is
/// made once per second.
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
        var line = Timestamp.current()
        line += " \(event.level) \(label): \(event.message)"
        if let extra = event.metadata, !extra.isEmpty {
            line += " " + extra.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += "\n"
        var bytes = Array(line.utf8)
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

    /// The UTC time as ISO 8601 text, rebuilt only when the second changes.
    private enum Timestamp {
        private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

        static func current() -> String {
            var now = time(nil)
            let second = Int(now)
            if let cached = cache.withLock({ $0.second == second ? $0.text : nil }) { return cached }
            var parts = tm()
            gmtime_r(&now, &parts)
            // Not `String(format:)`: CoreFoundation's formatter is code the proxy would run for nothing else.
            func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let text =
                "\(parts.tm_year + 1900)-\(twoDigits(parts.tm_mon + 1))-\(twoDigits(parts.tm_mday))T"
                + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)):\(twoDigits(parts.tm_sec))Z"
            cache.withLock { $0 = (second, text) }
            return text
        }
    }
}
