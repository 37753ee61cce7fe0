import PixelflyCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("TailStealing: a static split whose tails other threads take")
struct TailStealingTests {
    /// What ran where: for every (part, index) the part whose thread ran it, and that thread's
    /// running count when it did.
    private final class Record: @unchecked Sendable {
        let offsets: [Int]
        let runner: UnsafeMutablePointer<Int>
        let order: UnsafeMutablePointer<Int>
        let runs: UnsafeMutablePointer<Atomic<Int>>
        let perRunner: UnsafeMutablePointer<Int>

        init(unitCounts: [Int]) {
            offsets = unitCounts.reduce(into: [0]) { $0.append($0.last! + $1) }
            let total = max(offsets.last!, 1)
            runner = .allocate(capacity: total)
            runner.initialize(repeating: -1, count: total)
            order = .allocate(capacity: total)
            order.initialize(repeating: -1, count: total)
            runs = .allocate(capacity: total)
            for i in 0..<total { (runs + i).initialize(to: Atomic<Int>(0)) }
            perRunner = .allocate(capacity: max(unitCounts.count, 1))
            perRunner.initialize(repeating: 0, count: max(unitCounts.count, 1))
        }

        deinit {
            runner.deallocate()
            order.deallocate()
            runs.deallocate()
            perRunner.deallocate()
        }

        func note(part: Int, index: Int, runner who: Int) {
            let slot = offsets[part] + index
            runs[slot].add(1, ordering: .relaxed)
            runner[slot] = who
            order[slot] = perRunner[who]
            perRunner[who] += 1
        }
    }

    private func run(_ stealing: TailStealing, unitCounts: [Int], slowPart: Int? = nil) -> Record {
        let record = Record(unitCounts: unitCounts)
        stealing.run(parts: unitCounts.count, unitCount: { unitCounts[$0] }) { runner, claims in
            #expect((0..<unitCounts.count).contains(runner))
            while let (part, index) = claims.next() {
                #expect((0..<unitCounts[part]).contains(index))
                if part == slowPart { usleep(2000) }
                record.note(part: part, index: index, runner: runner)
            }
            #expect(claims.next() == nil, "a drained thread found another unit")
        }
        return record
    }

    /// Every unit runs once; the units a part's own thread ran are a prefix of its list, in
    /// order, and the ones other threads took are the rest.
    private func checkOwnership(_ record: Record, unitCounts: [Int]) {
        for (part, count) in unitCounts.enumerated() {
            let slots = (0..<count).map { record.offsets[part] + $0 }
            #expect(slots.allSatisfy { record.runs[$0].load(ordering: .relaxed) == 1 }, "part \(part): a unit ran zero or several times")
            let owned = slots.prefix { record.runner[$0] == part }
            #expect(slots.dropFirst(owned.count).allSatisfy { record.runner[$0] != part },
                    "part \(part): its thread ran a unit after one another thread took")
            #expect(zip(owned, owned.dropFirst()).allSatisfy { record.order[$0.0] < record.order[$0.1] },
                    "part \(part): its thread ran its units out of order")
        }
    }

    @Test(arguments: [[], [0], [5], [3, 0], [0, 4], [7, 7], [1, 30], [16, 16, 16], [2, 0, 9, 4]])
    func everyUnitRunsOnceAndOwnersKeepTheirOrder(_ unitCounts: [Int]) {
        let stealing = TailStealing(maximumParts: 4)
        for _ in 0..<3 { checkOwnership(run(stealing, unitCounts: unitCounts), unitCounts: unitCounts) }
        let serial = ComputeThreads.serially { run(stealing, unitCounts: unitCounts) }
        checkOwnership(serial, unitCounts: unitCounts)
        // One thread runs the parts in turn, each from the front: nothing is left to take.
        for (part, count) in unitCounts.enumerated() {
            #expect((0..<count).allSatisfy { serial.runner[serial.offsets[part] + $0] == part })
        }
    }

    /// With two threads, the thread with the fast part takes units from the end of the slow one
    /// (2 ms each). Retried a few times: on a loaded machine the second thread may join late.
    @Test func anIdleThreadTakesTheSlowPartsTail() throws {
        guard ComputeThreads.count >= 2 else { return }
        let stealing = TailStealing(maximumParts: 2)
        let unitCounts = [20, 2]
        var stolen = 0
        for _ in 0..<5 where stolen == 0 {
            let record = run(stealing, unitCounts: unitCounts, slowPart: 0)
            checkOwnership(record, unitCounts: unitCounts)
            stolen = (0..<20).filter { record.runner[$0] == 1 }.count
        }
        #expect(stolen > 0, "the fast part's thread never took a unit of the slow part")
    }
}
