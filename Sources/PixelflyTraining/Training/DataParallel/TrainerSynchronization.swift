import PixelflyCore

extension Trainer {
    /// Copies rank 0's parameters, AdamW moments and step to every rank (after initialisation
    /// or after rank 0 restored a checkpoint), so that all ranks start from the same state.
    public func broadcastStateFromRankZero() throws {
        guard let communicator else { return }
        for parameter in parameters {
            try parameter.withMutableValueElements {
                try communicator.broadcastFromRankZero(UnsafeMutableRawBufferPointer($0))
            }
        }
        for index in parameters.indices {
            try optimizer.firstMoments[index].withUnsafeMutableBufferPointer {
                try communicator.broadcastFromRankZero(UnsafeMutableRawBufferPointer($0))
            }
            try optimizer.secondMoments[index].withUnsafeMutableBufferPointer {
                try communicator.broadcastFromRankZero(UnsafeMutableRawBufferPointer($0))
            }
        }
        var step = Int64(optimizer.step)
        try withUnsafeMutableBytes(of: &step) { try communicator.broadcastFromRankZero($0) }
        optimizer.step = Int(step)
    }

    /// FNV-1a (64-bit) over the bits of every parameter, both AdamW moments and the step: equal
    /// on two ranks exactly when their training states are bit-identical (up to hash collisions).
    public func stateHash() -> UInt64 {
        var hash = FNV1a()
        for index in parameters.indices {
            hash.add(parameters[index].value)
            hash.add(optimizer.firstMoments[index])
            hash.add(optimizer.secondMoments[index])
        }
        withUnsafeBytes(of: Int64(optimizer.step)) { hash.add($0) }
        return hash.value
    }

    /// Throws `DataParallelError` (on every rank) unless all ranks hold bit-identical states;
    /// `when` names the moment checked ("at start-up", "after step 40").
    public func checkRanksHoldTheSameState(_ when: String) throws {
        guard let communicator else { return }
        let hashes = try communicator.gather(stateHash())
        let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differing.isEmpty else {
            throw DataParallelError("the training state differs between ranks \(when): rank(s) \(differing.map(String.init).joined(separator: ", ")) "
                + "hold parameters other than rank 0's (state hashes \(hashes.map { String($0, radix: 16) }.joined(separator: ", ")))")
        }
    }
}

/// 64-bit FNV-1a, for comparing states and configurations between ranks (not cryptographic).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    }

    public mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { add(UnsafeRawBufferPointer($0)) }
        withUnsafeBytes(of: UInt8(0)) { add($0) }
    }

    public mutating func add<Scalar: TensorScalar>(_ matrix: Matrix<Scalar>) {
        withUnsafeBytes(of: (Int64(matrix.rows), Int64(matrix.cols))) { add($0) }
        matrix.withUnsafeBufferPointer { add(UnsafeRawBufferPointer($0)) }
    }
}
