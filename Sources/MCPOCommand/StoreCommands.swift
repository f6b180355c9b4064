import Foundation
import JSONValue
import Logging
import MCPOAudit
import MCPOConfig

/// `mcpo audit` and `mcpo pins`: the store read (and pins approved) directly, with the proxy running or not.
///
///     mcpo audit [--store S | --config FILE] [--since 1h] [--until T] [--server S] [--tool T] [--caller C]
///                [--outcome O] [--limit N] [--json]
///     mcpo pins list [--store S | --config FILE] [--server S] [--json]
///     mcpo pins approve <server> [<tool>…] [--store S | --config FILE]
enum StoreCommands {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ command: String, _ arguments: [String]) async {
        do {
            switch command {
            case "audit": try await audit(arguments)
            default: try await pins(arguments)
            }
            exit(0)
        } catch let failure as Failure {
            FileHandle.standardError.write(Data("mcpo \(command): \(failure.description)\n".utf8))
            exit(failure.description.hasPrefix("usage") ? 2 : 1)
        } catch {
            FileHandle.standardError.write(Data("mcpo \(command): \(error)\n".utf8))
            exit(1)
        }
    }

    /// Flags with a value, flags without, and the remaining words.
    struct Parsed {
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var words: [String] = []
    }

    static func parse(_ arguments: [String], values known: Set<String>, flags: Set<String>, usage: String) throws
        -> Parsed
    {
        var parsed = Parsed()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--help" || argument == "-h" {
                print(usage)
                exit(0)
            }
            if argument.hasPrefix("--") {
                let name = String(argument.dropFirst(2))
                if flags.contains(name) {
                    parsed.flags.insert(name)
                } else if known.contains(name), index + 1 < arguments.count {
                    parsed.values[name] = arguments[index + 1]
                    index += 1
                } else {
                    throw Failure(description: "usage: \(usage)\nunknown or incomplete option \(argument)")
                }
            } else {
                parsed.words.append(argument)
            }
            index += 1
        }
        return parsed
    }

    /// `--store`, else the `store` (or `audit.store`) of `--config`, else `MCPO_STORE`, else `MCPO_AUDIT_STORE`, else
    /// the default location.
    static func store(_ parsed: Parsed) async throws -> any GovernanceStore {
        let environment = ProcessInfo.processInfo.environment
        var location = StoreLocation.defaultLocation(environment: environment)
        let named = parsed.values["config"] == nil ? environment["MCPO_STORE"] ?? environment["MCPO_AUDIT_STORE"] : nil
        if let text = parsed.values["store"] ?? named {
            guard let given = StoreLocation.parse(text, relativeTo: FileManager.default.currentDirectoryPath) else {
                throw Failure(description: "--store expects sqlite:///path/audit.db, a path, or postgres://…")
            }
            location = given
        } else if let config = parsed.values["config"] {
            do {
                let loaded = try ConfigLoader.load(path: config, environment: environment)
                if let shared = loaded.store {
                    location = shared
                } else if let audit = loaded.audit {
                    location = audit.store
                }
            } catch {
                throw Failure(description: error.description)
            }
        }
        if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
            throw Failure(description: "no audit store at \(path) (--store names another)")
        }
        var logger = Logger(label: "mcpo")
        logger.logLevel = .error
        do {
            return try await GovernanceStores.open(location, logger: logger)
        } catch {
            throw Failure(description: error.description)
        }
    }

    static let auditUsage =
        "mcpo audit [--store S | --config FILE] [--since 1h] [--until T] [--server S] [--tool T] [--caller C] "
        + "[--outcome O] [--limit N] [--json]"

    static func audit(_ arguments: [String]) async throws {
        let parsed = try parse(
            arguments, values: ["store", "config", "since", "until", "server", "tool", "caller", "outcome", "limit"],
            flags: ["json"], usage: auditUsage)
        guard parsed.words.isEmpty else { throw Failure(description: "usage: \(auditUsage)") }
        var query = AuditQuery(
            server: parsed.values["server"], tool: parsed.values["tool"], caller: parsed.values["caller"])
        if let outcome = parsed.values["outcome"] {
            guard let value = AuditOutcome(rawValue: outcome) else {
                throw Failure(
                    description:
                        "--outcome expects one of \(AuditOutcome.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.outcome = value
        }
        for name in ["since", "until"] {
            guard let text = parsed.values[name] else { continue }
            guard let date = AuditTime.parse(text) else {
                throw Failure(
                    description: "--\(name) expects a time (2026-12-06T02:10:38Z) or a duration (90s, 15m, 1h, 7d)")
            }
            if name == "since" { query.since = date } else { query.until = date }
        }
        var remaining = Int.max
        if let limit = parsed.values["limit"] {
            guard let count = Int(limit), count > 0 else {
                throw Failure(description: "--limit expects a positive number")
            }
            remaining = count
        }
        let store = try await store(parsed)
        defer { Task { await store.close() } }
        let json = parsed.flags.contains("json")
        // Page after page, newest first, until the limit or the end.
        while remaining > 0 {
            query.limit = min(remaining, AuditQuery.maximumLimit)
            let page: AuditPage
            do {
                page = try await store.records(matching: query)
            } catch {
                throw Failure(description: error.description)
            }
            for record in page.records {
                print(json ? record.json.text : line(record))
            }
            remaining -= page.records.count
            guard let next = page.next else { break }
            query.cursor = next
        }
        await store.close()
    }

    static func line(_ record: AuditRecord) -> String {
        let duration = String(format: "%.1f", record.durationMs)
        return "\(AuditTime.text(record.time))  \(record.caller)  \(record.server)/\(record.tool)  \(record.status) "
            + "\(record.outcome.rawValue)  \(duration) ms  \(record.id)"
    }

    static let pinsUsage =
        "mcpo pins list [--store S | --config FILE] [--server S] [--json]\n"
        + "       mcpo pins approve <server> [<tool>…] [--store S | --config FILE]"

    static func pins(_ arguments: [String]) async throws {
        let parsed = try parse(arguments, values: ["store", "config", "server"], flags: ["json"], usage: pinsUsage)
        guard let action = parsed.words.first else { throw Failure(description: "usage: \(pinsUsage)") }
        let store = try await store(parsed)
        do {
            switch action {
            case "list":
                for pin in try await store.pins(server: parsed.values["server"]) {
                    let state = pin.isChanged ? "changed" : "approved"
                    if parsed.flags.contains("json") {
                        let object: JSON = [
                            "server": .string(pin.server), "tool": .string(pin.tool), "state": .string(state),
                            "approved": .string(pin.approvedHash), "current": pin.currentHash.map(JSON.string) ?? .null,
                            "approvedAt": .string(AuditTime.text(pin.approvedAt)),
                        ]
                        print(object.text)
                    } else {
                        var text = "\(pin.server)/\(pin.tool)  \(state)  approved \(pin.approvedHash.prefix(12))"
                        if let current = pin.currentHash, pin.isChanged { text += "  listed \(current.prefix(12))" }
                        print(text)
                    }
                }
            case "approve":
                guard parsed.words.count >= 2 else { throw Failure(description: "usage: \(pinsUsage)") }
                let server = parsed.words[1]
                let approved = try await store.approve(
                    server: server, tools: Array(parsed.words.dropFirst(2)), at: Date())
                if approved.isEmpty {
                    print("nothing to approve: no changed definition of \(server) waits")
                }
                for pin in approved { print("approved \(pin.server)/\(pin.tool) \(pin.approvedHash.prefix(12))") }
            default:
                throw Failure(description: "usage: \(pinsUsage)")
            }
        } catch let error as AuditError {
            await store.close()
            throw Failure(description: error.description)
        }
        await store.close()
    }
}
