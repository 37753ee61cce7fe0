import ArgumentParser
import Butterfly
import FFTWOracle
import PixelflyCore

/// `pixelfly-bench fft`: the butterfly transforms against FFTW — accuracy of every construction
/// and the time per DFT against FFTW's ESTIMATE and MEASURE plans, single threaded.
struct FFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fft",
        abstract: "Butterfly DFT, inverse DFT, Hadamard and DCT-II vs FFTW: max errors and time per transform (ratio to FFTW).",
        discussion: """
        Errors are against double-precision references from the same rounded input: FFTW for the \
        DFT, inverse DFT (÷n) and DCT-II (REDFT10), the Sylvester recursion for Hadamard. Times \
        are per transform of a batch, interleaved with FFTW's, on FFTW's own aligned buffers; \
        both run on one thread.
        """)

    @Option(help: "Smallest log2 n.")
    var minLog2: Int = 4

    @Option(help: "Largest log2 n.")
    var maxLog2: Int = 16

    @Option(help: "Vectors per batch (at least 8).")
    var batch: Int = 8

    @Option(parsing: .upToNextOption, help: "Precisions to run: f32, f64.")
    var precisions: [String] = ["f32", "f64"]

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @OptionGroup var timing: TimingOptions

    func validate() throws {
        guard (1...20).contains(minLog2), (minLog2...20).contains(maxLog2) else {
            throw ValidationError("need 1 ≤ --min-log2 ≤ --max-log2 ≤ 20, got \(minLog2), \(maxLog2)")
        }
        guard batch >= 8 else { throw ValidationError("--batch must be at least 8, got \(batch)") }
        for p in precisions where p != "f32" && p != "f64" {
            throw ValidationError("unknown precision \(p); choose f32 and/or f64")
        }
    }

    func run() throws {
        let environment = RunEnvironment.current(fftwPlannerFlag: "FFTW_ESTIMATE and FFTW_MEASURE (both timed)")
        print(environment.header)
        print("fft: batch \(batch), \(timing.repetitions) timed repetitions (median), one thread, SIMD lanes: 8 (f32) / 4 (f64)")
        var rows: [FFTBenchRow] = []
        var table = Table(["prec", "n", "DFT abs", "DFT rel", "iDFT rel", "Hadamard rel", "DCT-II rel", "FFTW DFT rel",
                           "butterfly µs", "FFTW est µs", "FFTW meas µs", "× est", "× meas"])
        for precision in precisions {
            for log2n in minLog2...maxLog2 {
                let row = precision == "f32"
                    ? try FFTBenchRow.measure(Float.self, n: 1 << log2n, batch: batch, timing: timing)
                    : try FFTBenchRow.measure(Double.self, n: 1 << log2n, batch: batch, timing: timing)
                rows.append(row)
                table.append(row.cells)
                print(row.cells.joined(separator: "  "))
            }
        }
        print("")
        print(table.text)
        if let json {
            let configuration = ["batch": "\(batch)", "log2n": "\(minLog2)...\(maxLog2)", "precisions": precisions.joined(separator: ","),
                                 "repetitions": "\(timing.repetitions)", "warmup": "\(timing.warmup)"]
            try ResultsFolder.writeJSON(to: json, ResultDocument(command: "fft", environment: environment, configuration: configuration, results: rows))
            print("JSON written to \(json)")
        }
    }
}
