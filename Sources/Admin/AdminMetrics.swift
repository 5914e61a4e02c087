import Foundation
import Metrics
import Node
import Prometheus

/// The Prometheus registry behind `/metrics`. Counters from anywhere in the
/// process come through swift-metrics; cluster gauges are read from the node
/// at scrape time.
public final class AdminMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let peersHealthy: Prometheus.Gauge
    let peersFailed: Prometheus.Gauge
    let layoutVersion: Prometheus.Gauge
    let buckets: Prometheus.Gauge
    let keys: Prometheus.Gauge

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        peersHealthy = registry.makeGauge(descriptor: Self.gauge(name: "shale_cluster_nodes_healthy", help: "Nodes this node sees as healthy, itself included"))
        peersFailed = registry.makeGauge(descriptor: Self.gauge(name: "shale_cluster_nodes_failed", help: "Known nodes not heard from recently"))
        layoutVersion = registry.makeGauge(descriptor: Self.gauge(name: "shale_layout_version", help: "Current applied layout version"))
        buckets = registry.makeGauge(descriptor: Self.gauge(name: "shale_buckets", help: "Live buckets"))
        keys = registry.makeGauge(descriptor: Self.gauge(name: "shale_access_keys", help: "Live access keys"))
    }

    /// A gauge's name as exported (no unit suffix: these are counts and a version).
    static func gauge(name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Failed authentications of the clients the limiter tracks (bounded), as
    /// gauges, labelled by the client's API, address and credential.
    static func failingClients(_ limiter: AuthFailureLimiter) -> String {
        let top = limiter.topClients(failingClientsShown)
        var text = "# HELP shale_auth_failures_by_client Failed authentications of the most failing clients still tracked (at most \(failingClientsShown))\n"
        text += "# TYPE shale_auth_failures_by_client gauge\n"
        for (client, entry) in top {
            text += "shale_auth_failures_by_client{api=\"\(escape(client.api))\",source=\"\(escape(client.source))\",credential=\"\(escape(client.credential))\"} \(entry.failures)\n"
        }
        text += "# HELP shale_auth_clients_tracked Clients with recent failed authentications held by the limiter\n"
        text += "# TYPE shale_auth_clients_tracked gauge\nshale_auth_clients_tracked \(limiter.trackedCount)\n"
        return text
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Bootstraps swift-metrics to this registry (once per process).
    public static func bootstrap() -> AdminMetrics {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return AdminMetrics(registry: registry)
    }

    /// How many of the limiter's clients `/metrics` lists (the most failing first).
    static let failingClientsShown = 20

    func render(node: any ClusterAdministration, limiter: AuthFailureLimiter) async -> [UInt8] {
        let views = await node.nodeViews()
        let state = await node.state
        peersHealthy.set(Double(views.filter(\.healthy).count))
        peersFailed.set(Double(views.filter { !$0.healthy }.count))
        layoutVersion.set(Double(state.layout.currentVersion.rawValue))
        buckets.set(Double(state.liveBuckets.count))
        keys.set(Double(state.liveKeys.count))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        buffer += Self.failingClients(limiter).utf8
        return buffer
    }
}
