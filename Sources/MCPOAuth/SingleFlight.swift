/// A caller's share in work that concurrent callers do once (a token refresh, a link being made): the first caller
/// starts it, the later ones join it. Only the starter clears the slot when the work ends, so a joiner that resumes
/// late cannot clear work started after it.
enum SingleFlight<Work> {
    /// This caller started the work and clears its slot once it ends.
    case started(Work)
    /// Another caller's work, only waited for.
    case joined(Work)

    var work: Work {
        switch self {
        case .started(let work), .joined(let work): return work
        }
    }
}
