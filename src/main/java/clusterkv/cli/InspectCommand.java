package clusterkv.cli;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.gguf.GGUFTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** Prints a GGUF file's metadata and tensor table. */
@Command(name = "inspect", description = "Print the metadata and tensor table of a GGUF file.")
final class InspectCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE", description = "GGUF file")
    Path file;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        try (GGUFFile f = GGUFFile.open(file)) {
            System.out.printf("GGUF v%d, %d metadata keys, %d tensors, data at offset %d%n",
                    f.version(), f.metadata().entries().size(), f.tensors().size(), f.dataOffset());
            System.out.println();
            for (var e : f.metadata().entries().entrySet()) {
                System.out.printf("%-45s %-8s %s%n", Printable.escape(e.getKey()), typeName(e.getValue()), render(e.getValue().value()));
            }
            System.out.println();
            System.out.printf("%-40s %-8s %-24s %12s%n", "tensor", "type", "shape", "bytes");
            long total = 0;
            for (GGUFTensor t : f.tensors().values()) {
                System.out.printf("%-40s %-8s %-24s %12d%n", Printable.escape(t.name()), t.type(), Arrays.toString(t.shape()), t.byteSize());
                total += t.byteSize();
            }
            System.out.printf("%ntotal tensor data: %d bytes (%.2f GiB)%n", total, total / (double) (1L << 30));
        }
        return 0;
    }

    private static String typeName(GGUFMetadata.Entry e) {
        return e.elementType() == null ? e.type().name().toLowerCase() : e.elementType().name().toLowerCase() + "[]";
    }

    private static String render(Object v) {
        if (v != null && v.getClass().isArray()) {
            int n = Array.getLength(v);
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < Math.min(n, 8); i++) {
                if (i > 0) sb.append(", ");
                sb.append(render(Array.get(v, i)));
            }
            if (n > 8) sb.append(", ... (").append(n).append(" values)");
            return sb.append(']').toString();
        }
        if (!(v instanceof String s)) return String.valueOf(v);
        // Cut before escaping, so that an escape is never cut in half.
        return Printable.escape(s.length() > 120 ? s.substring(0, 117) : s) + (s.length() > 120 ? "..." : "");
    }
}
