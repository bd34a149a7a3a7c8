package clusterkv.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Writer and reader agree, and the reader rejects broken files with a message naming the problem. */
class GGUFRoundTripTest {

    @TempDir
    Path dir;

    private Path writeSample() throws Exception {
        GGUFMetadata md = new GGUFMetadata();
        md.putString("general.architecture", "llama");
        md.putUInt32("llama.block_count", 3);
        md.putFloat32("llama.rope.freq_base", 500000f);
        md.putBool("tokenizer.ggml.add_bos_token", true);
        md.putStrings("tokenizer.ggml.tokens", new String[]{"a", "\u2581b", "<s>"});
        md.putInts("tokenizer.ggml.token_type", new int[]{1, 1, 3});
        float[] values = {1, 2, 3, 4, 5, 6, 7, 8};
        Path p = dir.resolve("sample.gguf");
        GGUFWriter.write(p, md, List.of(
                new GGUFWriter.PendingTensor("w", new long[]{4, 2}, GGMLType.F32,
                        dst -> dst.copyFrom(java.lang.foreign.MemorySegment.ofArray(values))),
                new GGUFWriter.PendingTensor("v", new long[]{3}, GGMLType.F32,
                        dst -> dst.fill((byte) 0))));
        return p;
    }

    @Test
    void readsBackWhatWasWritten() throws Exception {
        try (GGUFFile f = GGUFFile.open(writeSample())) {
            assertEquals(3, f.version());
            assertEquals("llama", f.metadata().requireString("general.architecture"));
            assertEquals(3, f.metadata().requireInt("llama.block_count"));
            assertEquals(500000f, f.metadata().getFloat("llama.rope.freq_base", 0));
            assertEquals(Boolean.TRUE, f.metadata().getBool("tokenizer.ggml.add_bos_token"));
            assertArrayEquals(new String[]{"a", "\u2581b", "<s>"}, f.metadata().getStrings("tokenizer.ggml.tokens"));
            assertArrayEquals(new int[]{1, 1, 3}, f.metadata().getInts("tokenizer.ggml.token_type"));
            GGUFTensor w = f.requireTensor("w");
            assertArrayEquals(new long[]{4, 2}, w.shape());
            assertEquals(2, w.rows());
            assertEquals(7f, w.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 6 * 4));
            assertEquals(0, f.tensor("v").offset() % 32, "tensor data aligned");
        }
    }

    @Test
    void rejectsWrongMagic() throws Exception {
        Path p = dir.resolve("bad.gguf");
        Files.write(p, new byte[64]);
        var e = assertThrows(GGUFFormatException.class, () -> GGUFFile.open(p));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
    }

    @Test
    void rejectsTruncatedHeader() throws Exception {
        byte[] full = Files.readAllBytes(writeSample());
        Path p = dir.resolve("truncated.gguf");
        Files.write(p, java.util.Arrays.copyOf(full, 100));
        var e = assertThrows(GGUFFormatException.class, () -> GGUFFile.open(p));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void rejectsTensorDataPastTheEnd() throws Exception {
        byte[] full = Files.readAllBytes(writeSample());
        Path p = dir.resolve("short.gguf");
        Files.write(p, java.util.Arrays.copyOf(full, full.length - 24));
        var e = assertThrows(GGUFFormatException.class, () -> GGUFFile.open(p));
        assertTrue(e.getMessage().contains("'v'") && e.getMessage().contains("past the end"), e.getMessage());
    }

    @Test
    void rejectsUnknownVersion() throws Exception {
        byte[] full = Files.readAllBytes(writeSample());
        ByteBuffer.wrap(full).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 7);
        Path p = dir.resolve("v7.gguf");
        Files.write(p, full);
        var e = assertThrows(GGUFFormatException.class, () -> GGUFFile.open(p));
        assertTrue(e.getMessage().contains("version 7"), e.getMessage());
    }

    @Test
    void readsTheSharedModels() throws Exception {
        try (GGUFFile f = GGUFFile.open(Path.of("src/test/data/models/ckv-tiny-2k.gguf"))) {
            assertEquals(2048, f.metadata().requireInt("llama.context_length"));
            assertEquals(512, f.metadata().getStrings("tokenizer.ggml.tokens").length);
            assertArrayEquals(new long[]{256, 512}, f.requireTensor("token_embd.weight").shape());
        }
    }
}
