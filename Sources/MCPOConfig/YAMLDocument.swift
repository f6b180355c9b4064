import JSONValue
import Yams

/// Reads a YAML config file into the same `JSON` value a JSON file gives, keeping key order.
///
/// Plain scalars are typed by the YAML 1.2 core schema (`true`/`false`, `null`/`~`/empty, integers, floats),
/// so `yes`, `no`, `on` and `off` stay strings (the YAML 1.1 "Norway problem" cannot turn `NO` into false).
/// Quoted and block scalars are strings; explicit `!!str`, `!!int`, `!!float`, `!!bool` and `!!null` tags are
/// honoured. Anchors, aliases and `<<` merge keys work; keys written in the mapping win over merged ones.
enum YAMLDocument {
    /// The YAML 1.2 core schema, applied to plain (unquoted, untagged) scalars.
    private static let coreSchema: Resolver = {
        // The patterns are constant and valid; `try!` cannot fail.
        let rules = try! [
            Resolver.Rule(.null, "^(?:~|null|Null|NULL|)$"),
            Resolver.Rule(.bool, "^(?:true|True|TRUE|false|False|FALSE)$"),
            Resolver.Rule(.int, "^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
            Resolver.Rule(
                .float,
                "^(?:[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    + "|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$"
            ),
        ]
        return rules.reduce(Resolver.basic) { $0.appending($1) }
    }()

    static func parse(_ text: String, path: String) throws(ConfigError) -> JSON {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, coreSchema)
        } catch let error as YamlError {
            throw syntaxError(error, path: path)
        } catch {
            throw ConfigError(file: path, message: "Invalid YAML in config file \(path): \(error)")
        }
        guard let root else { return .null }
        return try convert(root, path: path)
    }

    private static func syntaxError(_ error: YamlError, path: String) -> ConfigError {
        let prefix = "Invalid YAML in config file \(path): "
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = prefix + "\(problem) at line \(mark.line), column \(mark.column)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return ConfigError(file: path, message: message, line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigError(
                file: path,
                message: prefix + "duplicate key \(keys) at line \(context.mark.line), column \(context.mark.column)",
                line: context.mark.line, column: context.mark.column)
        case .reader(let problem, _, _, _):
            return ConfigError(file: path, message: prefix + problem)
        default:
            return ConfigError(file: path, message: prefix + "\(error)")
        }
    }

    private static func convert(_ node: Node, path: String) throws(ConfigError) -> JSON {
        switch node {
        case .scalar(let scalar):
            return value(of: scalar, resolvedTag: node.tag.rawValue)
        case .sequence(let sequence):
            var array: [JSON] = []
            array.reserveCapacity(sequence.count)
            for element in sequence { array.append(try convert(element, path: path)) }
            return .array(array)
        case .mapping(let mapping):
            return .object(try members(of: mapping, path: path))
        case .alias(let alias):
            throw semanticError("unresolved alias '\(alias.anchor.rawValue)'", at: alias.mark, path: path)
        }
    }

    private static func members(of mapping: Node.Mapping, path: String) throws(ConfigError) -> OrderedJSONObject {
        var explicitKeys: Set<String> = []
        var pairs: [(key: String, value: Node, isMerge: Bool)] = []
        for (key, value) in mapping {
            guard case .scalar(let keyScalar) = key else {
                throw semanticError("mapping keys must be strings", at: key.mark, path: path)
            }
            let isMerge = keyScalar.style == .plain && keyScalar.string == "<<"
            if !isMerge { explicitKeys.insert(keyScalar.string) }
            pairs.append((keyScalar.string, value, isMerge))
        }
        var object = OrderedJSONObject()
        for pair in pairs {
            guard pair.isMerge else {
                object[pair.key] = try convert(pair.value, path: path)
                continue
            }
            // `<<: *base` or `<<: [*first, *second]`; earlier sources win, as the merge-key spec says.
            let sources: [Node]
            switch pair.value {
            case .mapping: sources = [pair.value]
            case .sequence(let sequence): sources = Array(sequence)
            default:
                throw semanticError("'<<' must merge a mapping or a list of mappings", at: pair.value.mark, path: path)
            }
            for source in sources {
                guard case .mapping(let merged) = source else {
                    throw semanticError("'<<' must merge a mapping or a list of mappings", at: source.mark, path: path)
                }
                for (key, value) in try members(of: merged, path: path)
                where !explicitKeys.contains(key) && object[key] == nil {
                    object[key] = value
                }
            }
        }
        return object
    }

    private static func value(of scalar: Node.Scalar, resolvedTag: String) -> JSON {
        let text = scalar.string
        switch resolvedTag {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            switch text.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return .string(text)
            }
        case Tag.Name.int.rawValue:
            return integer(text).map { .number(JSONNumber($0)) } ?? float(text) ?? .string(text)
        case Tag.Name.float.rawValue:
            return float(text) ?? .string(text)
        default:
            return .string(text)
        }
    }

    private static func integer(_ text: String) -> Int? {
        if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0o") { return Int(text.dropFirst(2), radix: 8) }
        return Int(text.hasPrefix("+") ? String(text.dropFirst()) : text)
    }

    /// A finite float as JSON; infinities and NaN have no JSON form and stay strings.
    private static func float(_ text: String) -> JSON? {
        var digits = text.hasPrefix("+") ? String(text.dropFirst()) : text
        if digits.hasPrefix(".") { digits = "0" + digits }
        if digits.hasPrefix("-.") { digits = "-0" + digits.dropFirst() }
        guard let value = Double(digits), value.isFinite else { return nil }
        return .number(JSONNumber(value))
    }

    private static func semanticError(_ problem: String, at mark: Mark?, path: String) -> ConfigError {
        guard let mark else {
            return ConfigError(file: path, message: "Invalid YAML in config file \(path): \(problem)")
        }
        return ConfigError(
            file: path,
            message: "Invalid YAML in config file \(path): \(problem) at line \(mark.line), column \(mark.column)",
            line: mark.line, column: mark.column)
    }
}
