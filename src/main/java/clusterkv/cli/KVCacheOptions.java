package clusterkv.cli;

import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import picocli.CommandLine.Option;

/** How the KV cache stores keys and values: every command that holds a cache takes these. */
final class KVCacheOptions implements Validated {

    @Option(names = "--kv-type", paramLabel = "TYPE", description = "Type of the KV cache's keys and values: f16, f32, q8_0 "
            + "(8.5 bits a value) or q4_0 (4.5 bits; with --kv-rotate) (default: f16).")
    String type;

    @Option(names = {"--kv-type-k", "-ctk"}, paramLabel = "TYPE", description = "Type of the keys alone (llama.cpp's -ctk; default: --kv-type).")
    String keyType;

    @Option(names = {"--kv-type-v", "-ctv"}, paramLabel = "TYPE", description = "Type of the values alone (llama.cpp's -ctv; default: --kv-type).")
    String valueType;

    @Option(names = "--kv-rotate", negatable = true, description = "Rotate each head's queries and keys by a fixed random-sign "
            + "Hadamard transform before the keys are stored: the same attention, a smaller quantization error (default: on "
            + "for q8_0 and q4_0 keys; --no-kv-rotate computes as llama.cpp does).")
    Boolean rotate;

    @Option(names = "--kv-file", paramLabel = "PATH", description = "Keep the KV cache in a file (a new file at PATH, or in the "
            + "directory PATH) that the operating system pages in and out, so that a cache larger than memory can be decoded; "
            + "the file is removed as soon as it is mapped and its space returns when the run ends.")
    java.nio.file.Path file;

    @Override
    public void validate() {
        Validated.parse("--kv-type", () -> type == null ? null : KVType.parse(type));
        Validated.parse("--kv-type-k", () -> keyType == null ? null : KVType.parse(keyType));
        Validated.parse("--kv-type-v", () -> valueType == null ? null : KVType.parse(valueType));
    }

    KVFormat format() {
        return KVFormat.parse(type, keyType, valueType, rotate);
    }
}
