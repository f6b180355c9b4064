import Testing

@testable import JSONValue

@Suite struct CanonicalJSONTests {
    @Test("keys sorted by code point at every depth, no white space, numbers and strings as they came")
    func canonical() throws {
        let value = try JSON.parse(#"{"b": 1, "a": {"z": [1.50, "x\n"], "é": true, "Z": null}, "A": 1e3}"#)
        #expect(
            String(decoding: value.canonicalBytes, as: UTF8.self)
                == #"{"A":1e3,"a":{"Z":null,"z":[1.50,"x\n"],"é":true},"b":1}"#)
        #expect(String(decoding: JSON.object([:]).canonicalBytes, as: UTF8.self) == "{}")
    }
}
