/// The device authorizations (RFC 8628) under way, one per user, as a value: while the token endpoint is polled the
/// user is shown the same prompt (verification URI and user code) rather than a new one, and ending a session or
/// the manager stops its poll. Generic over the poll so its tests need no tasks.
struct DeviceAuthorizationPolls<Poll> {
    private struct Running {
        var prompt: AuthorizationPrompt
        var poll: Poll
    }

    private var running: [String?: Running] = [:]

    /// The prompt of `user`'s poll under way, if any.
    func prompt(for user: String?) -> AuthorizationPrompt? { running[user]?.prompt }

    /// Every poll under way (to stop them all; each reports back when it ends).
    var polls: [Poll] { running.values.map(\.poll) }

    /// `user` was shown `prompt`, and `poll` waits for their approval.
    mutating func started(_ poll: Poll, prompt: AuthorizationPrompt, for user: String?) {
        running[user] = Running(prompt: prompt, poll: poll)
    }

    /// `user`'s poll ended (tokens, refusal or expiry): the next prompt starts anew.
    mutating func ended(for user: String?) {
        running[user] = nil
    }

    /// Removes `user`'s poll (their session expired) and returns it to be stopped.
    mutating func remove(for user: String?) -> Poll? {
        running.removeValue(forKey: user)?.poll
    }
}
