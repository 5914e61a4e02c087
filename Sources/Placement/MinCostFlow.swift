/// A flow network with integer capacities and small non-negative costs,
/// solved by the primal-dual method: Dijkstra with potentials finds the
/// cheapest residual paths, then a Dinic blocking flow pushes along all of
/// them at once (only edges of zero reduced cost, in BFS levels, so zero-cost
/// cycles cannot trap it). Deterministic: edges are explored in insertion order.
struct MinCostFlow {
    typealias Vertex = Int
    typealias Edge = Int

    private(set) var vertexCount: Int
    private var firstEdge: [Int32]
    private var nextEdge: [Int32] = []
    private var target: [Int32] = []
    private(set) var residual: [Int32] = []
    private var cost: [Int32] = []

    init(vertexCount: Int) {
        self.vertexCount = vertexCount
        firstEdge = [Int32](repeating: -1, count: vertexCount)
    }

    /// Adds u → v; returns the edge, whose flow is `flow(on:)` after solving.
    @discardableResult
    mutating func addEdge(from u: Vertex, to v: Vertex, capacity: Int, cost edgeCost: Int = 0) -> Edge {
        let e = target.count
        for (a, b, c, w) in [(u, v, capacity, edgeCost), (v, u, 0, -edgeCost)] {
            target.append(Int32(b))
            residual.append(Int32(c))
            cost.append(Int32(w))
            nextEdge.append(firstEdge[a])
            firstEdge[a] = Int32(target.count - 1)
        }
        return e
    }

    /// Flow on a forward edge: what its reverse edge has accumulated.
    func flow(on edge: Edge) -> Int { Int(residual[edge ^ 1]) }

    /// Pushes up to `limit` units from `source` to `sink` at least cost;
    /// returns the flow reached.
    mutating func solve(from source: Vertex, to sink: Vertex, limit: Int) -> Int {
        var potential = [Int](repeating: 0, count: vertexCount)
        var total = 0
        while total < limit {
            let distance = shortestDistances(from: source, potential: potential)
            guard distance[sink] != .max else { break }
            for v in 0..<vertexCount {
                potential[v] += min(distance[v], distance[sink])
            }
            let pushed = blockingFlow(from: source, to: sink, potential: potential, limit: limit - total)
            if pushed == 0 { break }
            total += pushed
        }
        return total
    }

    private func reducedCost(_ e: Int, from u: Int, _ potential: [Int]) -> Int {
        Int(cost[e]) + potential[u] - potential[Int(target[e])]
    }

    private func shortestDistances(from source: Vertex, potential: [Int]) -> [Int] {
        var distance = [Int](repeating: .max, count: vertexCount)
        distance[source] = 0
        var heap = MinHeap()
        heap.push(0, source)
        while let (d, u) = heap.pop() {
            if d > distance[u] { continue }
            var e = Int(firstEdge[u])
            while e >= 0 {
                if residual[e] > 0 {
                    let v = Int(target[e])
                    let candidate = d + reducedCost(e, from: u, potential)
                    if candidate < distance[v] {
                        distance[v] = candidate
                        heap.push(candidate, v)
                    }
                }
                e = Int(nextEdge[e])
            }
        }
        return distance
    }

    /// Dinic on the admissible subgraph (residual > 0, reduced cost 0).
    private mutating func blockingFlow(from source: Vertex, to sink: Vertex, potential: [Int], limit: Int) -> Int {
        var pushedTotal = 0
        while pushedTotal < limit {
            var level = [Int32](repeating: -1, count: vertexCount)
            level[source] = 0
            var queue = [source]
            var head = 0
            while head < queue.count {
                let u = queue[head]
                head += 1
                var e = Int(firstEdge[u])
                while e >= 0 {
                    let v = Int(target[e])
                    if residual[e] > 0, level[v] < 0, reducedCost(e, from: u, potential) == 0 {
                        level[v] = level[u] + 1
                        queue.append(v)
                    }
                    e = Int(nextEdge[e])
                }
            }
            guard level[sink] >= 0 else { break }
            var currentEdge = firstEdge
            var pushedThisLevel = 0
            while pushedTotal < limit {
                let pushed = augment(source, sink, limit - pushedTotal, &level, &currentEdge, potential)
                if pushed == 0 { break }
                pushedTotal += pushed
                pushedThisLevel += pushed
            }
            if pushedThisLevel == 0 { break }
        }
        return pushedTotal
    }

    /// One augmenting path, iteratively (partition graphs are shallow, but
    /// iteration keeps stack use independent of the graph).
    private mutating func augment(_ source: Int, _ sink: Int, _ limit: Int, _ level: inout [Int32],
                                  _ currentEdge: inout [Int32], _ potential: [Int]) -> Int {
        var path: [Int] = []  // edges from source
        var u = source
        while true {
            if u == sink {
                var amount = limit
                for e in path { amount = min(amount, Int(residual[e])) }
                for e in path {
                    residual[e] -= Int32(amount)
                    residual[e ^ 1] += Int32(amount)
                }
                return amount
            }
            var advanced = false
            while currentEdge[u] >= 0 {
                let e = Int(currentEdge[u])
                let v = Int(target[e])
                if residual[e] > 0, level[v] == level[u] + 1, reducedCost(e, from: u, potential) == 0 {
                    path.append(e)
                    u = v
                    advanced = true
                    break
                }
                currentEdge[u] = nextEdge[e]
            }
            if advanced { continue }
            // Dead end: retire u and step back.
            level[u] = -1
            guard let last = path.popLast() else { return 0 }
            u = Int(target[last ^ 1])
            currentEdge[u] = nextEdge[last]
        }
    }
}

/// A binary min-heap of (distance, vertex).
struct MinHeap {
    private var items: [(Int, Int)] = []

    mutating func push(_ key: Int, _ value: Int) {
        items.append((key, value))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int, Int)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return first
    }
}
