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
 * Prefill: {@link WeightMatrix#matmul} of {@code tokens} activation rows (at 4 or more tokens it runs
 * {@link Gemm}), on all compute threads. Compute-bound: GFLOP/s = 2 * rows * cols * tokens / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class GemmBenchmark {

    @Param({"Q8_0"})
    public String type;

    /** rows x cols of the weight matrix. */
    @Param({"2048x2048", "8192x2048"})
    public String shape;

    @Param({"64", "128"})
    public int tokens;

    private Arena arena;
    private WeightMatrix w;
    private float[] x, y;

    @Setup(Level.Trial)
    public void setup() {
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
        arena = Arena.ofShared();
        w = BenchWeights.random(arena, GGMLType.valueOf(type), rows, cols, 7);
        x = BenchWeights.gaussian(tokens * cols, 3);
        y = new float[tokens * rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        w.close();
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        w.matmul(x, tokens, y);
        return y;
    }
}
