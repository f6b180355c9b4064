import NIOCore

/// Incremental parser of a `text/event-stream` body (WHATWG HTML, "Server-sent events", event stream
/// interpretation): lines end in CR, LF or CRLF (also across chunk boundaries), `:` lines are comments,
/// `data` lines join with LF, `id` sets the last event id (kept across events), `retry` sets the
/// reconnection delay, and a blank line dispatches the event.
struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        /// The `event` field, `message` when absent.
        public var type: String
        /// The joined `data` lines, as bytes (messages can be large; JSON is parsed from bytes).
        public var data: [UInt8]
        /// The last event id in force when the event was dispatched.
        public var lastEventID: String?

        public init(type: String, data: [UInt8], lastEventID: String?) {
            self.type = type
            self.data = data
            self.lastEventID = lastEventID
        }

        public var text: String { String(decoding: data, as: UTF8.self) }
    }

    public struct EventTooLarge: Error, Sendable, CustomStringConvertible {
        public let limit: Int
        public var description: String { "an SSE event is larger than \(limit) bytes" }
    }

    /// The id of the last dispatched event (what a reconnect sends as `Last-Event-ID`).
    public private(set) var lastEventID: String?
    /// The reconnection delay the server asked for, in milliseconds.
    public private(set) var retryMilliseconds: Int?

    private let maxEventBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var dataSeen = false
    private var eventType: String?
    private var idBuffer: String?
    /// A CR ended the previous chunk: an LF opening the next one belongs to it.
    private var skipLeadingLineFeed = false
    private var atStreamStart = true

    public init(maxEventBytes: Int = 64 * 1024 * 1024) {
        self.maxEventBytes = maxEventBytes
    }

    /// Parses one chunk, returning the events it completed.
    public mutating func feed(_ chunk: ByteBuffer) throws(EventTooLarge) -> [Event] {
        var events: [Event] = []
        // The closure APIs rethrow untyped errors, so the typed one is carried out by hand.
        let failure = chunk.withUnsafeReadableBytes { bytes in feed(bytes, into: &events) }
        if let failure { throw failure }
        return events
    }

    public mutating func feed(_ bytes: [UInt8]) throws(EventTooLarge) -> [Event] {
        var events: [Event] = []
        let failure = bytes.withUnsafeBytes { raw in feed(raw, into: &events) }
        if let failure { throw failure }
        return events
    }

    private mutating func feed(_ bytes: UnsafeRawBufferPointer, into events: inout [Event]) -> EventTooLarge? {
        var index = 0
        if skipLeadingLineFeed, !bytes.isEmpty {
            skipLeadingLineFeed = false
            if bytes[0] == lineFeed { index = 1 }
        }
        while index < bytes.count {
            var end = index
            while end < bytes.count, bytes[end] != lineFeed, bytes[end] != carriageReturn { end += 1 }
            line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
            guard end < bytes.count else {
                if line.count + data.count > maxEventBytes { return EventTooLarge(limit: maxEventBytes) }
                return nil
            }
            if bytes[end] == carriageReturn {
                if end + 1 < bytes.count {
                    if bytes[end + 1] == lineFeed { end += 1 }
                } else {
                    skipLeadingLineFeed = true
                }
            }
            index = end + 1
            if let event = processLine() { events.append(event) }
            if data.count > maxEventBytes { return EventTooLarge(limit: maxEventBytes) }
        }
        return nil
    }

    /// Handles the completed line in `line`; returns an event when it was a blank line ending one.
    private mutating func processLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: byteOrderMark) { line.removeFirst(byteOrderMark.count) }
        }
        if line.isEmpty { return dispatch() }
        if line[0] == colon { return nil }
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let separator = line.firstIndex(of: colon) {
            field = line[..<separator]
            value = line[(separator + 1)...]
            if value.first == space { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            if dataSeen { data.append(lineFeed) }
            data.append(contentsOf: value)
            dataSeen = true
        case "id":
            if !value.contains(0) { idBuffer = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let milliseconds = Int(
                    String(decoding: value, as: UTF8.self))
            {
                retryMilliseconds = milliseconds
            }
        default:
            break
        }
        return nil
    }

    private mutating func dispatch() -> Event? {
        lastEventID = idBuffer
        defer {
            data.removeAll(keepingCapacity: false)
            dataSeen = false
            eventType = nil
        }
        guard dataSeen else { return nil }
        let type = eventType.flatMap { $0.isEmpty ? nil : $0 } ?? "message"
        return Event(type: type, data: data, lastEventID: lastEventID)
    }
}

private let lineFeed: UInt8 = 0x0A
private let carriageReturn: UInt8 = 0x0D
private let colon: UInt8 = 0x3A
private let space: UInt8 = 0x20
private let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
