/// Which handler a method and path reach.
enum Route: Sendable, Equatable {
    case create
    case get(id: String)
    case upload(id: String)
    case account
    case emulatorLog
    case emulatorRuns
    case methodNotAllowed(allow: String, name: RouteName?)
    case notFound

    static func classify(method: String, path: String) -> Route {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        func only(_ allowed: String, _ route: Route, _ name: RouteName?) -> Route {
            method == allowed ? route : .methodNotAllowed(allow: allowed, name: name)
        }
        switch parts.count {
        case 2 where parts == ["v1", "account"]: return only("GET", .account, .account)
        case 2 where parts[0] == "_upload" && !parts[1].isEmpty: return only("PUT", .upload(id: parts[1]), .upload)
        case 2 where parts == ["_emulator", "log"]: return only("GET", .emulatorLog, nil)
        case 2 where parts == ["_emulator", "runs"]: return only("GET", .emulatorRuns, nil)
        case 3 where parts == ["v1", "models", "mental-wellness"]: return only("POST", .create, .create)
        case 4 where Array(parts.prefix(3)) == ["v1", "models", "mental-wellness"] && !parts[3].isEmpty:
            return only("GET", .get(id: parts[3]), .get)
        default: return .notFound
        }
    }

    /// The fault target this route belongs to; introspection and unknown paths have none.
    var name: RouteName? {
        switch self {
        case .create: .create
        case .get: .get
        case .upload: .upload
        case .account: .account
        case .methodNotAllowed(_, let name): name
        case .emulatorLog, .emulatorRuns, .notFound: nil
        }
    }

    var isIntrospection: Bool { self == .emulatorLog || self == .emulatorRuns }
}
