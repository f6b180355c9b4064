import NIOHTTP1
import Testing

@testable import MCPOHTTP

@Suite("the request headers recording reads")
struct CallHeadersTests {
    @Test("found in any case, the first of each, as HTTPHeaders.first(name:) finds them")
    func found() {
        let headers = HTTPHeaders([
            ("Host", "proxy"), ("X-REQUEST-ID", "first"),
            ("TraceParent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("x-request-id", "second"), ("tracestate", "a=1"), ("TRACESTATE", "b=2"),
            ("Content-Type", "application/json"),
        ])
        let found = CallHeaders(headers)
        #expect(found.requestID == "first")
        #expect(found.traceparent == headers.first(name: "traceparent"))
        #expect(found.tracestate == "a=1")
        for name in ["x-request-id", "traceparent", "tracestate"] {
            #expect(
                [found.requestID, found.traceparent, found.tracestate].contains(headers.first(name: name)), "\(name)")
        }
    }

    @Test("names alike but not the same are not taken")
    func notTaken() {
        let headers = HTTPHeaders([
            ("x-request-ie", "no"), ("x_request-id", "no"), ("x-request-idd", "no"), ("traceparenT ", "no"),
            ("tracestat", "no"), ("X-Request-Id\u{0}", "no"),
        ])
        #expect(CallHeaders(headers) == CallHeaders())
        #expect(CallHeaders(HTTPHeaders()) == CallHeaders())
    }
}
