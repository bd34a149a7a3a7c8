package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * Decode: one token's {@link WeightMatrix#matvec} on llama-3.2-1B shapes (2048 x 2048 = attn_q/o,
 * 8192 x 2048 = ffn_gate/up), on all compute threads. Memory-bound: GB/s = {@code bytes} (printed by the
 * setup; Q8_0 1.0625, Q4_0 0.5625, F16 2 bytes per weight) / time.
 *
 * <p>Each call reads the next of several copies of the matrix, {@code workingSetMiB} in all (default 4x this
 * machine's 32 MiB L3), so that the weights come from DRAM as they do in a real decode step, where a model's
 * matrices go through the cache once per token. {@code -p workingSetMiB=0} reads one copy over and over
 * (cache-resident below the L3 size: the kernels' compute speed).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class MatvecBenchmark {

    @Param({"Q8_0", "Q4_0", "F16"})
    public String type;

    /** rows x cols. */
    @Param({"2048x2048", "8192x2048", "2048x8192"})
    public String shape;

    @Param({"128"})
    public int workingSetMiB;

    private Arena arena;
    private WeightMatrix[] copies;
    private int next;
    private float[] x, out;

    @Setup(Level.Trial)
    public void setup() {
        GGMLType t = GGMLType.valueOf(type);
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
        long bytes = t.byteSize((long) rows * cols);
        int n = (int) Math.max(1, ((long) workingSetMiB << 20) / bytes);
        arena = Arena.ofShared();
        copies = new WeightMatrix[n];
        x = BenchWeights.gaussian(cols, 1);
        out = new float[rows];
        for (int i = 0; i < n; i++) {
            copies[i] = BenchWeights.random(arena, t, rows, cols, i);
            copies[i].matvec(x, out); // builds the decode copy (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) outside the measurement
        }
        System.out.printf("%n%s %s: %d bytes per matvec, %d copies (%.0f MiB)%n", type, shape, bytes, n, n * bytes / 1048576.0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (WeightMatrix m : copies) m.close();
        arena.close();
    }

    @Benchmark
    public float[] matvec() {
        WeightMatrix m = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        m.matvec(x, out);
        return out;
    }
}
