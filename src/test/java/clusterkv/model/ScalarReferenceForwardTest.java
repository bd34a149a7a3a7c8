package clusterkv.model;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFTensor;
import clusterkv.kv.FullAttention;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVType;
import clusterkv.tensor.Parallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fast path (chunked prefill, threads, SIMD, F16 or F32 KV cache) against a plain float64
 * forward pass written here from the architecture's definition, on synthetic tiny models of each
 * architecture (llama3 rope scaling with tied embeddings, qwen2 biases, qwen3 Q/K norms).
 */
class ScalarReferenceForwardTest {

    @TempDir
    static Path dir;

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @ParameterizedTest
    @CsvSource({"tiny,F32,1e-4", "tiny,F16,2e-2", "tiny-llama3,F32,1e-4", "tiny-llama3,F16,2e-2",
            "tiny-qwen2,F32,1e-4", "tiny-qwen2,F16,2e-2", "tiny-qwen3,F32,1e-4", "tiny-qwen3,F16,2e-2"})
    void fastPathMatchesFloat64Reference(String shape, KVType kvType, double tolerance) throws Exception {
        Path file = dir.resolve(shape + ".gguf");
        SyntheticModel.write(file, ModelShape.named(shape), GGMLType.F32, null, 3);
        int n = 23;
        int[] tokens = new SplittableRandom(5).ints(n, 0, 384).toArray();
        Parallel.setThreads(2);
        try (Model model = Model.load(file)) {
            ModelConfig c = model.config();
            float[] fast = new float[n * c.vocabSize()];
            try (FullAttention att = new FullAttention(new KVCache(c.layers(), c.kvHeads(), c.headDim(), n, kvType), c.heads())) {
                ForwardBuffers b = new ForwardBuffers(c, 7);
                float[] chunk = new float[7 * c.vocabSize()];
                int p = 0;
                for (int size : new int[]{7, 7, 1, 5, 1, 1, 1}) { // prefill chunks, then decode steps
                    new Transformer(model).forward(b, att, tokens, p, size, p, chunk, true);
                    System.arraycopy(chunk, 0, fast, p * c.vocabSize(), size * c.vocabSize());
                    p += size;
                }
            }
            double[][] ref = new Reference(model.file(), c).logits(tokens);
            double worst = 0;
            for (int t = 0; t < n; t++) {
                double scale = 0;
                for (double v : ref[t]) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < c.vocabSize(); i++) {
                    worst = Math.max(worst, Math.abs(fast[t * c.vocabSize() + i] - ref[t][i]) / Math.max(1, scale));
                }
            }
            assertTrue(worst <= tolerance, shape + " with " + kvType + " KV: worst relative logit difference " + worst);
        }
    }

    /** A direct float64 transcription of the forward pass, reading F32 weights straight from the file. */
    private record Reference(GGUFFile file, ModelConfig c) {

        double[][] logits(int[] tokens) {
            int n = tokens.length, d = c.headDim();
            double[][][] keys = new double[c.layers()][n][], values = new double[c.layers()][n][];
            double[][] out = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] x = row("token_embd.weight", tokens[t], c.dim());
                for (int l = 0; l < c.layers(); l++) {
                    String b = "blk." + l + ".";
                    double[] h = rmsNorm(x, vec(b + "attn_norm.weight"));
                    double[] q = matvec(b + "attn_q.weight", h), k = matvec(b + "attn_k.weight", h), v = matvec(b + "attn_v.weight", h);
                    if (file.tensor(b + "attn_q.bias") != null) {
                        add(q, vec(b + "attn_q.bias"));
                        add(k, vec(b + "attn_k.bias"));
                        add(v, vec(b + "attn_v.bias"));
                    }
                    if (file.tensor(b + "attn_q_norm.weight") != null) {
                        perHeadNorm(q, vec(b + "attn_q_norm.weight"));
                        perHeadNorm(k, vec(b + "attn_k_norm.weight"));
                    }
                    rope(q, t);
                    rope(k, t);
                    keys[l][t] = k;
                    values[l][t] = v;
                    double[] att = new double[c.queryDim()];
                    for (int head = 0; head < c.heads(); head++) {
                        int kvh = head / (c.heads() / c.kvHeads());
                        double[] s = new double[t + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j <= t; j++) {
                            for (int i = 0; i < d; i++) s[j] += q[head * d + i] * keys[l][j][kvh * d + i];
                            s[j] /= Math.sqrt(d);
                            max = Math.max(max, s[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j <= t; j++) sum += s[j] = Math.exp(s[j] - max);
                        for (int j = 0; j <= t; j++)
                            for (int i = 0; i < d; i++) att[head * d + i] += s[j] / sum * values[l][j][kvh * d + i];
                    }
                    add(x, matvec(b + "attn_output.weight", att));
                    h = rmsNorm(x, vec(b + "ffn_norm.weight"));
                    double[] g = matvec(b + "ffn_gate.weight", h), u = matvec(b + "ffn_up.weight", h);
                    for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                    add(x, matvec(b + "ffn_down.weight", g));
                }
                String output = file.tensor("output.weight") != null ? "output.weight" : "token_embd.weight";
                out[t] = matvec(output, rmsNorm(x, vec("output_norm.weight")));
            }
            return out;
        }

        private void rope(double[] v, int pos) {
            float[] factors = file.tensor("rope_freqs.weight") != null ? toFloat(vec("rope_freqs.weight")) : null;
            int d = c.headDim(), half = d / 2;
            // Qwen checkpoints rotate halves (GPT-NeoX style); llama GGUFs are permuted for adjacent pairs
            boolean neox = !file.metadata().requireString("general.architecture").equals("llama");
            for (int h = 0; h < v.length / d; h++) {
                for (int i = 0; i < half; i++) {
                    double theta = pos * Math.pow(c.ropeTheta(), -2.0 * i / d) / (factors == null ? 1 : factors[i]);
                    int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                    double x0 = v[h * d + a], x1 = v[h * d + b];
                    v[h * d + a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
                    v[h * d + b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
                }
            }
        }

        private void perHeadNorm(double[] v, double[] w) {
            int d = c.headDim();
            for (int h = 0; h < v.length / d; h++) {
                double[] head = new double[d];
                System.arraycopy(v, h * d, head, 0, d);
                System.arraycopy(rmsNorm(head, w), 0, v, h * d, d);
            }
        }

        private double[] rmsNorm(double[] x, double[] w) {
            double ss = 0;
            for (double v : x) ss += v * v;
            double s = 1 / Math.sqrt(ss / x.length + c.rmsEps());
            double[] o = new double[x.length];
            for (int i = 0; i < x.length; i++) o[i] = x[i] * s * w[i];
            return o;
        }

        private double[] matvec(String name, double[] x) {
            GGUFTensor t = file.requireTensor(name);
            int rows = (int) t.rows();
            double[] o = new double[rows];
            for (int r = 0; r < rows; r++) {
                double[] w = row(name, r, x.length);
                for (int i = 0; i < x.length; i++) o[r] += w[i] * x[i];
            }
            return o;
        }

        private double[] row(String name, int r, int cols) {
            GGUFTensor t = file.requireTensor(name);
            double[] o = new double[cols];
            for (int i = 0; i < cols; i++) {
                o[i] = t.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * ((long) r * cols + i));
            }
            return o;
        }

        private double[] vec(String name) {
            return row(name, 0, (int) file.requireTensor(name).elementCount());
        }

        private static void add(double[] x, double[] y) {
            for (int i = 0; i < x.length; i++) x[i] += y[i];
        }

        private static float[] toFloat(double[] v) {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            return f;
        }
    }
}
