import NIOHTTP1

/// The request headers recording reads (names matched case-insensitively, the first of each).
struct CallHeaders: Equatable {
    var requestID: String?
    var traceparent: String?
    var tracestate: String?
}

extension CallHeaders {
    /// `first(name:)` compares each name where it lies; walking the headers instead hands out a copy of every name
    /// and value (a reference count up and down for each) to find, on most calls, none of the three.
    init(_ headers: HTTPHeaders) {
        requestID = headers.first(name: "x-request-id")
        traceparent = headers.first(name: "traceparent")
        tracestate = headers.first(name: "tracestate")
    }
}
