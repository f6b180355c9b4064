import JSONValue

/// What checking one value against one schema found.
struct Outcome {
    /// The value after coercion and after dropping optional `null`s.
    var value: JSON
    var issues: [ValidationIssue] = []
    /// Which keys of an object value the applied schemas account for.
    var keys = KeyCoverage()

    var isValid: Bool { issues.isEmpty }

    /// Takes over what an in-place subschema (`$ref`, `allOf` branch …) found about the same value.
    mutating func absorb(_ other: Outcome) {
        value = other.value
        issues += other.issues
        keys.merge(other.keys)
    }
}

/// The keys an object schema claims, used to drop the keys no schema asked for.
struct KeyCoverage {
    /// Some applied schema says which keys belong (`properties`, `patternProperties`,
    /// `additionalProperties: false` …). Without that the object is free-form and every key stays.
    var shaped = false
    /// Some applied schema accepts any further key (`additionalProperties: true` or a schema).
    var open = false
    var known: Set<String> = []

    mutating func merge(_ other: KeyCoverage) {
        shaped = shaped || other.shaped
        open = open || other.open
        known.formUnion(other.known)
    }

    func keeps(_ key: String) -> Bool { !shaped || open || known.contains(key) }

    /// How many of the object's keys this coverage accounts for: the tie-breaker between union branches.
    func count(in value: JSON) -> Int {
        guard let object = value.objectValue else { return 0 }
        return object.keys.filter { open || known.contains($0) }.count
    }
}

/// Checks and shapes one argument object against a tool's input schema. One evaluator serves one call:
/// it caches compiled patterns, which are not `Sendable`.
struct SchemaEvaluator {
    private let resolver: LocalReferenceResolver
    private var patterns: [String: (any PatternMatcher)?] = [:]
    /// `$ref` targets being evaluated, per location: meeting one again at the same place means the
    /// schema loops without consuming any input, so that path adds no constraint.
    private var activeReferences: Set<ActiveReference> = []
    /// A budget against pathological schemas (deeply nested unions are tried strictly, then laxly);
    /// once spent, the rest of the value is passed on unchecked for the server to judge.
    private var remainingSteps = 200_000
    private static let maximumDepth = 128

    private struct ActiveReference: Hashable {
        let target: [String]
        let loc: [JSON]
    }

    init(resolver: LocalReferenceResolver) { self.resolver = resolver }

    /// Checks a value in a place of its own (the body, a property, an array item) and drops the object
    /// keys that none of the applied schemas accounts for.
    mutating func check(_ value: JSON, against schema: JSON, at loc: [JSON], lax: Bool) -> (JSON, [ValidationIssue]) {
        let outcome = evaluate(value, schema, loc, lax: lax)
        guard case .object(var object) = outcome.value, outcome.keys.shaped, !outcome.keys.open else {
            return (outcome.value, outcome.issues)
        }
        for key in object.keys where !outcome.keys.keeps(key) { object[key] = nil }
        return (.object(object), outcome.issues)
    }

    /// Applies `schema` to `value` in place. `lax` allows pydantic's lax-mode coercions; union branches are
    /// first tried without them so a value that fits a branch as sent is never converted for another.
    mutating func evaluate(_ value: JSON, _ schema: JSON, _ loc: [JSON], lax: Bool) -> Outcome {
        var outcome = Outcome(value: value)
        guard case .object = schema else {
            if schema.boolValue == false { outcome.issues.append(Issues.notAllowed(loc, input: value)) }
            return outcome
        }
        let keywords = schema
        remainingSteps -= 1
        guard remainingSteps > 0, loc.count < Self.maximumDepth else { return outcome }

        if let text = keywords["$ref"]?.stringValue { followReference(text, into: &outcome, loc, lax: lax) }

        if let typeKeyword = keywords["type"] {
            switch coerce(outcome.value, toTypes: Self.typeNames(typeKeyword), loc, lax: lax) {
            case .matched(let coerced): outcome.value = coerced
            case .mismatched(let issue):
                // A value of the wrong kind makes every further check noise.
                outcome.issues.append(issue)
                return outcome
            }
        }

        checkEnumAndConst(keywords, &outcome, loc)
        switch outcome.value {
        case .string(let text): checkString(text, keywords, &outcome, loc)
        case .number(let number): checkNumber(number, keywords, &outcome, loc)
        case .array: checkArray(keywords, &outcome, loc, lax: lax)
        case .object: checkObject(keywords, &outcome, loc, lax: lax)
        default: break
        }
        applyCombinators(keywords, &outcome, loc, lax: lax)
        if case .object = outcome.value { applyUnevaluatedProperties(keywords, &outcome, loc, lax: lax) }
        return outcome
    }

    // MARK: References

    private mutating func followReference(_ text: String, into outcome: inout Outcome, _ loc: [JSON], lax: Bool) {
        // External or dangling references cannot be checked here; the server still validates.
        guard let path = resolver.targetPath(of: SchemaReference(text)), let target = resolver.schema(at: path) else {
            return
        }
        let visit = ActiveReference(target: path, loc: loc)
        guard activeReferences.insert(visit).inserted else { return }
        outcome.absorb(evaluate(outcome.value, target, loc, lax: lax))
        activeReferences.remove(visit)
    }

    // MARK: Types

    private enum TypeCheck {
        case matched(JSON)
        case mismatched(ValidationIssue)
    }

    static func typeNames(_ keyword: JSON) -> [String] {
        switch keyword {
        case .string(let name): [name]
        case .array(let names): names.compactMap(\.stringValue)
        default: []
        }
    }

    private static let knownTypes: Set<String> = ["null", "boolean", "string", "number", "integer", "array", "object"]

    private func coerce(_ value: JSON, toTypes types: [String], _ loc: [JSON], lax: Bool) -> TypeCheck {
        // An unknown type name (`"any"`) or an empty list constrains nothing we understand.
        guard !types.isEmpty, types.allSatisfy(Self.knownTypes.contains) else { return .matched(value) }
        for type in types {
            if let exact = Coercion.exactMatch(value, type) { return .matched(exact) }
        }
        if lax {
            for type in types {
                if let converted = Coercion.laxMatch(value, type) { return .matched(converted) }
            }
        }
        let candidates = value.isNull ? types : types.filter { $0 != "null" }
        let issues = (candidates.isEmpty ? types : candidates).map { Issues.typeMismatch($0, loc, input: value) }
        if issues.count == 1 { return .mismatched(issues[0]) }
        return .mismatched(Issues.union(loc, input: value, expectations: issues.map(Issues.expectation)))
    }

    // MARK: Keywords for every kind of value

    private func checkEnumAndConst(_ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON]) {
        if let allowed = keywords["enum"]?.arrayValue,
            !allowed.contains(where: { JSONEquality.equal($0, outcome.value) })
        {
            outcome.issues.append(Issues.notInEnum(loc, input: outcome.value, allowed: allowed))
        }
        if let expected = keywords["const"], !JSONEquality.equal(expected, outcome.value) {
            outcome.issues.append(Issues.notConst(loc, input: outcome.value, expected: expected))
        }
    }

    // MARK: Strings

    private mutating func checkString(_ text: String, _ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON]) {
        let length = text.unicodeScalars.count
        if let minimum = keywords["minLength"]?.intValue, length < minimum {
            outcome.issues.append(Issues.stringLength(tooShort: true, limit: minimum, loc, input: outcome.value))
        }
        if let maximum = keywords["maxLength"]?.intValue, length > maximum {
            outcome.issues.append(Issues.stringLength(tooShort: false, limit: maximum, loc, input: outcome.value))
        }
        if let pattern = keywords["pattern"]?.stringValue, matches(pattern, text) == false {
            outcome.issues.append(Issues.patternMismatch(pattern, loc, input: outcome.value))
        }
    }

    /// Whether `text` contains a match of `pattern` (JSON Schema patterns are not anchored); nil when the
    /// pattern does not compile here (ECMA-262 and Swift regex syntax differ at the edges): not checked.
    private mutating func matches(_ pattern: String, _ text: String) -> Bool? {
        let matcher: (any PatternMatcher)?
        if let cached = patterns[pattern] {
            matcher = cached
        } else {
            matcher = RegexPatternMatcher(pattern)
            patterns[pattern] = matcher
        }
        return matcher?.isFound(in: text)
    }

    // MARK: Numbers

    private func checkNumber(_ number: JSONNumber, _ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON]) {
        let value = number.doubleValue
        let input = outcome.value
        // draft-04 spelled exclusive bounds as booleans next to minimum/maximum.
        let minimumIsExclusive = keywords["exclusiveMinimum"]?.boolValue == true
        let maximumIsExclusive = keywords["exclusiveMaximum"]?.boolValue == true
        if let limit = keywords["minimum"], let bound = limit.doubleValue {
            if minimumIsExclusive, value <= bound {
                outcome.issues.append(Issues.outOfBounds(.greaterThan, limit: limit, loc, input: input))
            } else if !minimumIsExclusive, value < bound {
                outcome.issues.append(Issues.outOfBounds(.greaterThanOrEqual, limit: limit, loc, input: input))
            }
        }
        if let limit = keywords["exclusiveMinimum"], let bound = limit.doubleValue, value <= bound {
            outcome.issues.append(Issues.outOfBounds(.greaterThan, limit: limit, loc, input: input))
        }
        if let limit = keywords["maximum"], let bound = limit.doubleValue {
            if maximumIsExclusive, value >= bound {
                outcome.issues.append(Issues.outOfBounds(.lessThan, limit: limit, loc, input: input))
            } else if !maximumIsExclusive, value > bound {
                outcome.issues.append(Issues.outOfBounds(.lessThanOrEqual, limit: limit, loc, input: input))
            }
        }
        if let limit = keywords["exclusiveMaximum"], let bound = limit.doubleValue, value >= bound {
            outcome.issues.append(Issues.outOfBounds(.lessThan, limit: limit, loc, input: input))
        }
        if let divisor = keywords["multipleOf"], let step = divisor.numberValue, !Self.isMultiple(number, of: step) {
            outcome.issues.append(Issues.notMultiple(of: divisor, loc, input: input))
        }
    }

    static func isMultiple(_ number: JSONNumber, of step: JSONNumber) -> Bool {
        if number.isIntegerLiteral, step.isIntegerLiteral, let value = Int(number.text), let divisor = Int(step.text) {
            return divisor == 0 || value % divisor == 0
        }
        let divisor = step.doubleValue
        guard divisor > 0, divisor.isFinite else { return true }
        let quotient = number.doubleValue / divisor
        guard quotient.isFinite else { return true }
        // Decimal steps such as 0.01 are not exact in binary; allow the rounding that introduces.
        return abs(quotient - quotient.rounded()) <= 1e-9 * max(1, abs(quotient))
    }

    // MARK: Arrays

    private mutating func checkArray(_ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON], lax: Bool) {
        guard case .array(var items) = outcome.value else { return }
        let original = outcome.value
        let prefix: [JSON]
        let rest: JSON?
        if let prefixItems = keywords["prefixItems"]?.arrayValue {
            prefix = prefixItems
            rest = keywords["items"]
        } else if let tuple = keywords["items"]?.arrayValue {
            prefix = tuple
            rest = keywords["additionalItems"]
        } else {
            prefix = []
            rest = keywords["items"]
        }
        for index in items.indices {
            guard let itemSchema = index < prefix.count ? prefix[index] : rest else { continue }
            let (cleaned, issues) = check(items[index], against: itemSchema, at: loc + [.int(index)], lax: lax)
            items[index] = cleaned
            outcome.issues += issues
        }
        outcome.value = .array(items)

        if let minimum = keywords["minItems"]?.intValue, items.count < minimum {
            outcome.issues.append(
                Issues.count(
                    tooShort: true, fieldType: "List", limit: minimum, actual: items.count, loc, input: original)
            )
        }
        if let maximum = keywords["maxItems"]?.intValue, items.count > maximum {
            outcome.issues.append(
                Issues.count(
                    tooShort: false, fieldType: "List", limit: maximum, actual: items.count, loc, input: original)
            )
        }
        if keywords["uniqueItems"]?.boolValue == true, let (first, second) = Self.firstDuplicate(in: items) {
            outcome.issues.append(Issues.duplicateItems(first: first, second: second, loc, input: original))
        }
        if let containsSchema = keywords["contains"] {
            let found = items.indices.filter { evaluate(items[$0], containsSchema, loc + [.int($0)], lax: lax).isValid }
                .count
            let minimum = keywords["minContains"]?.intValue ?? 1
            let maximum = keywords["maxContains"]?.intValue
            if found < minimum || maximum.map({ found > $0 }) == true {
                outcome.issues.append(
                    Issues.contains(minimum: minimum, maximum: maximum, found: found, loc, input: original))
            }
        }
    }

    static func firstDuplicate(in items: [JSON]) -> (Int, Int)? {
        for second in items.indices {
            for first in 0..<second where JSONEquality.equal(items[first], items[second]) { return (first, second) }
        }
        return nil
    }

    // MARK: Objects

    private mutating func checkObject(_ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON], lax: Bool) {
        guard case .object(var object) = outcome.value else { return }
        let original = outcome.value
        let properties = keywords["properties"]?.objectValue
        let required = (keywords["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        var keys = KeyCoverage()
        keys.known.formUnion(required)

        if let properties {
            // `properties: {}` alone says nothing about which keys belong (it is how some SDKs spell a
            // free-form object); dropping everything would lose data silently.
            keys.shaped = !properties.isEmpty
            for (name, propertySchema) in properties {
                keys.known.insert(name)
                guard let value = object[name] else {
                    if required.contains(name) {
                        outcome.issues.append(Issues.missing(loc + [.string(name)], container: original))
                    }
                    continue
                }
                if value.isNull, !required.contains(name),
                    !evaluate(.null, propertySchema, loc + [.string(name)], lax: false).isValid
                {
                    // An optional argument sent as null means "not given" for a schema that has no null.
                    object[name] = nil
                    continue
                }
                let (cleaned, issues) = check(value, against: propertySchema, at: loc + [.string(name)], lax: lax)
                object[name] = cleaned
                outcome.issues += issues
            }
        }
        for name in required where properties?[name] == nil && object[name] == nil {
            outcome.issues.append(Issues.missing(loc + [.string(name)], container: original))
        }

        var matchedByPattern: Set<String> = []
        if let patternProperties = keywords["patternProperties"]?.objectValue {
            keys.shaped = true
            for key in object.keys where properties?[key] == nil {
                for (pattern, patternSchema) in patternProperties where matches(pattern, key) != false {
                    matchedByPattern.insert(key)
                    keys.known.insert(key)
                    // Looked up again: an earlier pattern may already have cleaned the value.
                    guard let current = object[key] else { continue }
                    let (cleaned, issues) = check(current, against: patternSchema, at: loc + [.string(key)], lax: lax)
                    object[key] = cleaned
                    outcome.issues += issues
                }
            }
        }

        switch keywords["additionalProperties"] {
        case .bool(false)?:
            // Unknown keys are dropped rather than refused: LLM callers invent arguments.
            keys.shaped = true
        case .bool(true)?:
            keys.open = true
        case .object(let additionalSchema)?:
            keys.open = true
            for key in object.keys where properties?[key] == nil && !matchedByPattern.contains(key) {
                guard let current = object[key] else { continue }
                let (cleaned, issues) = check(
                    current, against: .object(additionalSchema), at: loc + [.string(key)], lax: lax)
                object[key] = cleaned
                outcome.issues += issues
            }
        default:
            break
        }

        if let minimum = keywords["minProperties"]?.intValue, object.count < minimum {
            outcome.issues.append(
                Issues.count(
                    tooShort: true, fieldType: "Dictionary", limit: minimum, actual: object.count, loc, input: original)
            )
        }
        if let maximum = keywords["maxProperties"]?.intValue, object.count > maximum {
            outcome.issues.append(
                Issues.count(
                    tooShort: false, fieldType: "Dictionary", limit: maximum, actual: object.count, loc, input: original
                )
            )
        }
        if let nameSchema = keywords["propertyNames"] {
            for key in object.keys {
                outcome.issues += evaluate(.string(key), nameSchema, loc + [.string(key)], lax: false).issues
            }
        }
        outcome.value = .object(object)
        outcome.keys.merge(keys)
        checkDependencies(keywords, &outcome, loc, lax: lax)
    }

    /// `dependentRequired`, `dependentSchemas` and draft-07 `dependencies` (which holds either form).
    private mutating func checkDependencies(_ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON], lax: Bool) {
        var dependencies: [(String, JSON)] = []
        for keyword in ["dependencies", "dependentRequired", "dependentSchemas"] {
            if let members = keywords[keyword]?.objectValue { dependencies += members.map { ($0.key, $0.value) } }
        }
        for (trigger, dependency) in dependencies {
            guard let object = outcome.value.objectValue, object[trigger] != nil else { continue }
            if let names = dependency.arrayValue {
                for name in names.compactMap(\.stringValue) where object[name] == nil {
                    outcome.issues.append(Issues.missing(loc + [.string(name)], container: outcome.value))
                }
            } else {
                outcome.absorb(evaluate(outcome.value, dependency, loc, lax: lax))
            }
        }
    }

    private mutating func applyUnevaluatedProperties(
        _ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON], lax: Bool
    ) {
        switch keywords["unevaluatedProperties"] {
        case .bool(false)?:
            outcome.keys.shaped = true
        case .bool(true)?:
            outcome.keys.open = true
        case .object(let restSchema)?:
            guard case .object(var object) = outcome.value, !outcome.keys.open else { return }
            for key in object.keys where !outcome.keys.known.contains(key) {
                guard let current = object[key] else { continue }
                let (cleaned, issues) = check(current, against: .object(restSchema), at: loc + [.string(key)], lax: lax)
                object[key] = cleaned
                outcome.issues += issues
            }
            outcome.value = .object(object)
            outcome.keys.open = true
        default:
            break
        }
    }

    // MARK: Combinators

    private mutating func applyCombinators(_ keywords: JSON, _ outcome: inout Outcome, _ loc: [JSON], lax: Bool) {
        if let branches = keywords["allOf"]?.arrayValue {
            for branch in branches { outcome.absorb(evaluate(outcome.value, branch, loc, lax: lax)) }
        }
        if let branches = keywords["anyOf"]?.arrayValue {
            outcome.absorb(chooseBranch(outcome.value, branches, loc, lax: lax, exactlyOne: false))
        }
        if let branches = keywords["oneOf"]?.arrayValue {
            outcome.absorb(chooseBranch(outcome.value, branches, loc, lax: lax, exactlyOne: true))
        }
        if let excluded = keywords["not"], SchemaTree.isSchema(excluded),
            evaluate(outcome.value, excluded, loc, lax: false).isValid
        {
            outcome.issues.append(Issues.matchesExcluded(loc, input: outcome.value))
        }
        if let condition = keywords["if"], SchemaTree.isSchema(condition) {
            let test = evaluate(outcome.value, condition, loc, lax: lax)
            if test.isValid {
                outcome.keys.merge(test.keys)
                if let then = keywords["then"] { outcome.absorb(evaluate(outcome.value, then, loc, lax: lax)) }
            } else if let otherwise = keywords["else"] {
                outcome.absorb(evaluate(outcome.value, otherwise, loc, lax: lax))
            }
        }
    }

    /// Picks the union branch that the value satisfies, trying every branch without coercion first.
    ///
    /// Among several matching branches the one that accounts for the most object keys wins, then the
    /// earlier one. For `oneOf`, several branches that still tie are refused, as JSON Schema says.
    private mutating func chooseBranch(_ value: JSON, _ branches: [JSON], _ loc: [JSON], lax: Bool, exactlyOne: Bool)
        -> Outcome
    {
        guard !branches.isEmpty else { return Outcome(value: value) }
        var outcomes = branches.map { evaluate(value, $0, loc, lax: false) }
        if lax, !outcomes.contains(where: \.isValid) {
            outcomes = branches.map { evaluate(value, $0, loc, lax: true) }
        }
        let valid = outcomes.indices.filter { outcomes[$0].isValid }
        guard let first = valid.first else {
            return Outcome(value: value, issues: unionIssues(outcomes, value, loc))
        }
        let coverage = valid.map { outcomes[$0].keys.count(in: value) }
        let best = coverage.max() ?? 0
        let winners = valid.indices.filter { coverage[$0] == best }.map { valid[$0] }
        if exactlyOne, winners.count > 1 {
            return Outcome(value: value, issues: [Issues.oneOfAmbiguous(loc, input: value, matches: winners.count)])
        }
        var chosen = outcomes[winners.first ?? first]
        if !exactlyOne {
            // Every matching anyOf branch vouches for the keys it knows, as JSON Schema annotations do.
            for index in valid { chosen.keys.merge(outcomes[index].keys) }
        }
        return chosen
    }

    /// The most useful account of why no branch matched: the one branch that came close, else one
    /// summary of the kinds of value that would have been accepted.
    private func unionIssues(_ outcomes: [Outcome], _ value: JSON, _ loc: [JSON]) -> [ValidationIssue] {
        func onlyTypeMismatch(_ outcome: Outcome) -> Bool {
            outcome.issues.allSatisfy { $0.loc == loc && Issues.typeMismatchTypes.contains($0.type) }
        }
        func onlyRejectsNonNull(_ outcome: Outcome) -> Bool {
            outcome.issues.allSatisfy { $0.loc == loc && $0.type == "none_required" }
        }
        var candidates = outcomes.indices.filter { value.isNull || !onlyRejectsNonNull(outcomes[$0]) }
        if candidates.isEmpty { candidates = Array(outcomes.indices) }
        if candidates.count == 1 { return outcomes[candidates[0]].issues }

        let close = candidates.filter { !onlyTypeMismatch(outcomes[$0]) }
        if !close.isEmpty {
            // A branch whose discriminator (a `const` or `enum` on a direct property) already failed is
            // a worse explanation than one that failed deeper down.
            func rank(_ index: Int) -> (Int, Int) {
                let issues = outcomes[index].issues
                let missedDiscriminator = issues.contains {
                    ($0.type == "literal_error" || $0.type == "enum") && $0.loc.count == loc.count + 1
                }
                return (missedDiscriminator ? 1 : 0, issues.count)
            }
            let best = close.min { rank($0) < rank($1) } ?? close[0]
            return outcomes[best].issues
        }
        let expectations = candidates.flatMap { outcomes[$0].issues.map(Issues.expectation) }
        return [Issues.union(loc, input: value, expectations: expectations)]
    }
}

/// A compiled `pattern`. The evaluator holds matchers through this protocol so that Swift's regex library (most
/// of a MiB of code and metadata) is only loaded once a schema has a pattern, not by every evaluator.
private protocol PatternMatcher {
    func isFound(in text: String) -> Bool
}

private struct RegexPatternMatcher: PatternMatcher {
    let regex: Regex<AnyRegexOutput>

    init?(_ pattern: String) {
        guard let regex = try? Regex(pattern) else { return nil }
        self.regex = regex.matchingSemantics(.unicodeScalar)
    }

    func isFound(in text: String) -> Bool { text.contains(regex) }
}
