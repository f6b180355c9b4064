import NIOHTTP1

/// The request headers recording reads, found in one pass over them (names matched case-insensitively).
struct CallHeaders: Equatable {
    var requestID: String?
    var traceparent: String?
    var tracestate: String?
}

extension CallHeaders {
    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            // The first of each, as `HTTPHeaders.first(name:)` would find it.
            if requestID == nil, Self.name(name, is: "x-request-id") {
                requestID = value
            } else if traceparent == nil, Self.name(name, is: "traceparent") {
                traceparent = value
            } else if tracestate == nil, Self.name(name, is: "tracestate") {
                tracestate = value
            }
        }
    }

    /// Whether `name` is `lowercase` in any case (ASCII).
    static func name(_ name: String, is lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(name.utf8, expected).allSatisfy { given, wanted in
                given == wanted || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(given) && given | 0x20 == wanted
            }
        }
    }
}
