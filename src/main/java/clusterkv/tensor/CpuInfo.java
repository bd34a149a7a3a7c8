package clusterkv.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where a figure was measured: the CPU's name, the vector shape the kernels run with and the CPU features that
 * decide their speed. A benchmark's result is only comparable with one taken on the same machine and shape.
 *
 * @param model        the CPU's model name with its family and model numbers (from /proc/cpuinfo; os.arch where that is not readable)
 * @param vectorBits   width of the vectors the kernels use (128: NEON or SSE; 256: AVX2; 512: AVX-512)
 * @param floatLanes   floats per vector
 * @param registers    vector registers the JIT allocates (16 or 32)
 * @param features     the features that matter to the kernels, as the OS names them (avx2, avx512f, avx512_vnni, asimd, asimddp, ...)
 */
public record CpuInfo(String model, int vectorBits, int floatLanes, int registers, List<String> features) {

    /** Features worth naming: vector ISAs, FMA, half-precision conversion and integer dot products. */
    private static final Set<String> NOTABLE = Set.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
            "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_int8", "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16");

    public static CpuInfo detect() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException | RuntimeException e) {
            lines = List.of(); // not Linux: the name and features stay unknown, the vector shape below is still the JVM's own
        }
        Identity id = identify(lines, System.getProperty("os.arch"));
        return new CpuInfo(id.model(), Simd.F.vectorBitSize(), Simd.L, Simd.REGISTERS, id.features());
    }

    /** The CPU's name and notable features as /proc/cpuinfo gives them. */
    record Identity(String model, List<String> features) {}

    /**
     * The first processor's name from /proc/cpuinfo's lines, with its family and model numbers (x86) or implementer
     * and part (ARM): virtual machines often pass a bare "AMD EPYC", and family 25 model 1 (Zen 3) and model 17 (Zen 4)
     * are then told apart only by these. The features are those of {@link #NOTABLE} the CPU has.
     */
    static Identity identify(List<String> lines, String arch) {
        String name = null, family = null, model = null, implementer = null, part = null;
        Set<String> features = new TreeSet<>();
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String key = line.substring(0, colon).strip(), value = line.substring(colon + 1).strip();
            switch (key) {
                case "model name" -> name = name == null ? value : name;
                case "cpu family" -> family = family == null ? value : family;
                case "model" -> model = model == null ? value : model;
                case "CPU implementer" -> implementer = implementer == null ? value : implementer;
                case "CPU part" -> part = part == null ? value : part;
                case "flags", "Features" -> {
                    for (String f : value.split("\\s+")) if (NOTABLE.contains(f)) features.add(f);
                }
                default -> { }
            }
        }
        String label = name != null ? name : arch;
        if (family != null && model != null) label += " (family " + family + ", model " + model + ")";
        else if (implementer != null && part != null) label += " (implementer " + implementer + ", part " + part + ")";
        return new Identity(label, List.copyOf(features));
    }

    /** One line, e.g. "AMD EPYC 9R14 (family 25, model 17), 512-bit vectors (16 floats, 32 registers); avx2 avx512f ...". */
    public String describe() {
        return String.format("%s, %d-bit vectors (%d floats, %d registers); %s", model, vectorBits, floatLanes, registers,
                features.isEmpty() ? "features unknown" : String.join(" ", features));
    }
}
