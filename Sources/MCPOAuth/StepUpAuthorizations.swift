/// Step-up authorizations (a 403 `insufficient_scope`) per user, as a value: the scope set the next authorization
/// asks for, and how often each set was asked for, so that a server that keeps challenging is refused in the end
/// instead of sending the user round in circles.
struct StepUpAuthorizations {
    private var wantedScope: [String?: String] = [:]
    private var attempts: [String?: [String: Int]] = [:]

    /// The scopes (space separated) `user`'s next authorization adds, if a step-up is under way.
    func scope(for user: String?) -> String? { wantedScope[user] }

    /// Counts another step-up to `scope` for `user`: the attempt's number, or nil once more than `limit` were made
    /// for that scope set (the scope then is not asked for).
    mutating func attempt(_ scope: String, for user: String?, limit: Int) -> Int? {
        let attempt = (attempts[user]?[scope] ?? 0) + 1
        attempts[user, default: [:]][scope] = attempt
        guard attempt <= limit else { return nil }
        wantedScope[user] = scope
        return attempt
    }

    /// New tokens were granted: the step-up is over when they cover its scopes.
    mutating func granted(_ scopes: Set<String>, to user: String?) {
        guard let wanted = wantedScope[user], Set(wanted.split(separator: " ").map(String.init)).isSubset(of: scopes)
        else { return }
        wantedScope[user] = nil
    }

    /// The step-up is over however the tokens came (client credentials ask for the scopes directly).
    mutating func settled(for user: String?) {
        wantedScope[user] = nil
    }

    /// Ends everything of `user` (their session expired).
    mutating func forget(_ user: String?) {
        wantedScope[user] = nil
        attempts[user] = nil
    }
}
