import JSONValue
import Testing

@testable import MCPBridge

@Suite struct ToolResults {
    private func answer(_ text: String) throws -> HTTPAnswer { ToolResultMapper.answer(for: try json(text)) }

    @Test func singleTextIsParsedAsJSONWhenItIsJSON() throws {
        #expect(try answer(#"{"content":[{"type":"text","text":"hello"}]}"#) == HTTPAnswer(status: 200, body: "hello"))
        #expect(try answer(#"{"content":[{"type":"text","text":"123"}]}"#) == HTTPAnswer(status: 200, body: 123))
        #expect(try answer(#"{"content":[{"type":"text","text":"null"}]}"#) == HTTPAnswer(status: 200, body: nil))
        #expect(
            try answer(#"{"content":[{"type":"text","text":"{\"parsed\": true, \"n\": 3}"}]}"#).body.text
                == #"{"parsed":true,"n":3}"#)
        #expect(try answer(#"{"content":[{"type":"text","text":"{broken"}]}"#).body == "{broken")
    }

    @Test func thePythonSDKResultWrapperIsAnsweredFromContentAsMcpoDoes() throws {
        let wrapperSchema: JSON = [
            "type": "object", "properties": ["result": ["type": "string"]], "required": ["result"],
        ]
        let wrapped = try json(
            #"{"content":[{"type":"text","text":"{\"n\": 3}"}],"structuredContent":{"result":"{\"n\": 3}"}}"#)
        #expect(
            ToolResultMapper.answer(for: wrapped, outputSchema: wrapperSchema)
                == HTTPAnswer(status: 200, body: ["n": 3]))
        // Without the wrapper's outputSchema the structured result is the body.
        #expect(ToolResultMapper.answer(for: wrapped).body == ["result": "{\"n\": 3}"])
        // No content: the wrapped value itself.
        let bare = try json(#"{"content":[],"structuredContent":{"result":42}}"#)
        #expect(ToolResultMapper.answer(for: bare, outputSchema: wrapperSchema) == HTTPAnswer(status: 200, body: 42))
        // A real object result with more keys is never unwrapped.
        let object = try json(#"{"content":[],"structuredContent":{"result":1,"unit":"m"}}"#)
        #expect(ToolResultMapper.answer(for: object, outputSchema: wrapperSchema).body == ["result": 1, "unit": "m"])
    }

    @Test func severalOrNoItemsMakeAnArray() throws {
        #expect(
            try answer(#"{"content":[{"type":"text","text":"first"},{"type":"text","text":"{\"second\": 2}"}]}"#)
                == HTTPAnswer(status: 200, body: ["first", ["second": 2]])
        )
        #expect(try answer(#"{"content":[]}"#) == HTTPAnswer(status: 200, body: []))
        #expect(try answer(#"{}"#) == HTTPAnswer(status: 200, body: []))
    }

    @Test func everyContentTypeOfTheMixedFixture() throws {
        let result = try answer(
            #"{"content":[{"type":"text","text":"caption"},{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"},{"type":"resource","resource":{"uri":"file:///x.txt","mimeType":"text/plain","text":"res body"}},{"type":"resource_link","name":"doc","uri":"file:///doc.md"},{"type":"audio","data":"AAAA","mimeType":"audio/wav"}]}"#
        )
        #expect(
            result.body.text
                == #"["caption","data:image/png;base64,iVBORw0KGgo=","res body",{"uri":"file:///doc.md","name":"doc"},"data:audio/wav;base64,AAAA"]"#
        )
        #expect(result.status == 200)
    }

    @Test func imageAloneIsADataURL() throws {
        #expect(
            try answer(#"{"content":[{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"}]}"#).body
                == "data:image/png;base64,iVBORw0KGgo="
        )
    }

    @Test func embeddedBlobsAndLinks() throws {
        #expect(
            ToolResultMapper.value(of: [
                "type": "resource",
                "resource": ["uri": "file:///b", "mimeType": "application/pdf", "blob": "JVBERi0="],
            ])
                == "data:application/pdf;base64,JVBERi0="
        )
        #expect(
            ToolResultMapper.value(of: ["type": "resource", "resource": ["uri": "file:///b", "blob": "AA=="]])
                == "data:application/octet-stream;base64,AA==")
        let bare: JSON = ["type": "resource", "resource": ["uri": "file:///empty"]]
        #expect(ToolResultMapper.value(of: bare) == bare)
        let link: JSON = [
            "type": "resource_link", "size": 12, "mimeType": "text/markdown", "description": "Docs", "title": "Doc",
            "name": "doc",
            "uri": "file:///doc.md", "_meta": ["x": 1],
        ]
        #expect(
            ToolResultMapper.value(of: link).text
                == #"{"uri":"file:///doc.md","name":"doc","title":"Doc","description":"Docs","mimeType":"text/markdown","size":12}"#
        )
    }

    @Test func unknownItemsPassThrough() {
        let item: JSON = ["type": "hologram", "data": "x"]
        #expect(ToolResultMapper.answer(for: ["content": [item]]) == HTTPAnswer(status: 200, body: item))
    }

    @Test func structuredContentWins() throws {
        #expect(
            try answer(
                #"{"content":[{"type":"text","text":"It is 21.5 C"}],"structuredContent":{"temp":21.5,"unit":"C"}}"#)
                == HTTPAnswer(status: 200, body: ["temp": 21.5, "unit": "C"])
        )
        #expect(try answer(#"{"content":[],"structuredContent":{"k":"v"}}"#).body == ["k": "v"])
        #expect(try answer(#"{"content":[{"type":"text","text":"t"}],"structuredContent":null}"#).body == "t")
    }

    @Test func toolErrorsAreA500WithTheToolsOwnWords() throws {
        #expect(
            try answer(#"{"content":[{"type":"text","text":"the tool failed: bad input"}],"isError":true}"#).body.text
                == #"{"detail":{"message":"the tool failed: bad input"}}"#
        )
        #expect(
            try answer(
                #"{"content":[{"type":"text","text":"a"},{"type":"image","data":"AA==","mimeType":"image/png"},{"type":"text","text":"b"}],"isError":true}"#
            )
                == HTTPAnswer(status: 500, body: ["detail": ["message": "a\nb"]])
        )
        #expect(
            try answer(#"{"content":[{"type":"image","data":"AA==","mimeType":"image/png"}],"isError":true}"#)
                == HTTPAnswer(status: 500, body: ["detail": ["message": "Unknown tool execution error"]])
        )
        #expect(
            try answer(#"{"content":[{"type":"text","text":"bad"}],"structuredContent":{"code":7},"isError":true}"#)
                .body.text
                == #"{"detail":{"message":"bad","structuredContent":{"code":7}}}"#
        )
        #expect(
            try answer(#"{"content":[{"type":"text","text":"fine"}],"isError":false}"#)
                == HTTPAnswer(status: 200, body: "fine"))
    }
}

@Suite struct Failures {
    @Test(arguments: [
        (-32700, 400), (-32600, 400), (-32601, 404), (-32602, 422), (-32603, 500), (-32001, 500), (1, 500),
    ])
    func rpcCodesMapLikeMcpo(code: Int, status: Int) {
        #expect(RPCErrorStatus.status(forCode: code) == status)
    }

    @Test func standardAnswers() {
        #expect(StandardAnswers.notFound.status == 404)
        #expect(StandardAnswers.notFound.body.text == #"{"detail":"Not Found"}"#)
        #expect(StandardAnswers.methodNotAllowed.status == 405)
        #expect(StandardAnswers.methodNotAllowed.body.text == #"{"detail":"Method Not Allowed"}"#)
    }
}
