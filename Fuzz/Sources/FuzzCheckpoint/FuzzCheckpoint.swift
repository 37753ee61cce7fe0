import PixelflyData
import PixelflyCore

/// libFuzzer entry point: the input is a whole safetensors file.
///
/// A thrown `FileError` is the expected outcome for a bad file; anything else — a trap, an
/// AddressSanitizer report, another error type, or a broken invariant below — is a finding.
/// Invariants of an accepted file: it serialises again, and re-parsing that gives the same
/// tensors and metadata; every tensor's bytes match its shape; rank ≤ 2 tensors convert to a
/// matrix of their own dtype. Restoring into a 3→2 dense layer (`fc.weight` 2×3, `fc.bias` 1×2,
/// names the seed corpus uses) either succeeds or throws `FileError` (a damaged file) or
/// `CheckpointMismatchError` (a sound file that does not fit the layer).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let checkpoint: Checkpoint
    do {
        checkpoint = try Checkpoint.parse(bytes, path: "fuzz")
    } catch is FileError {
        return 0
    } catch {
        fatalError("Checkpoint.parse threw \(type(of: error)), not FileError: \(error)")
    }
    do {
        let again = try Checkpoint.parse(checkpoint.serialized(), path: "again")
        precondition(again.tensors == checkpoint.tensors && again.metadata == checkpoint.metadata,
                     "an accepted checkpoint does not survive serialise → parse")
    } catch {
        fatalError("an accepted checkpoint failed to round-trip: \(error)")
    }
    for tensor in checkpoint.tensors {
        precondition(tensor.bytes.count == tensor.elementCount * tensor.dtype.byteCount)
        guard tensor.shape.count <= 2 else { continue }
        do {
            let count = switch tensor.dtype {
            case .f32: try tensor.matrix(as: Float.self).count
            case .f64: try tensor.matrix(as: Double.self).count
            // Block coordinates of an export: no reader converts them, and asking for floats must throw.
            case .i64: (try? tensor.matrix(as: Float.self)) == nil ? tensor.elementCount : -1
            }
            precondition(count == tensor.elementCount)
        } catch {
            fatalError("tensor \(tensor.name) of shape \(tensor.shape) did not convert: \(error)")
        }
    }
    _ = try? checkpoint.integerMetadata("step")
    do {
        var rng = SeededRandom(seed: 1)
        let layer = try DenseLinear<Float>(3, 2, name: "fc", rng: &rng)
        try checkpoint.restore(layer.parameters, source: "fuzz")
    } catch is FileError {
    } catch is CheckpointMismatchError {
        // A well-formed file that does not fit the layer (missing tensor, other shape or dtype).
    } catch {
        fatalError("restore threw \(type(of: error)), not FileError or CheckpointMismatchError: \(error)")
    }
    return 0
}
