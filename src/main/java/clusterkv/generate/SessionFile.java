package clusterkv.generate;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.gguf.GGUFTensor;
import clusterkv.gguf.GGUFWriter;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import clusterkv.kv.PolicyState;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Session} in one GGUF file: its tokens, the logits after the last one, its KV cache in its stored types
 * and its policy's state, with what it was made with (model, context, KV format, policy and options), which
 * opening checks. Each layer's keys and values are one tensor laid out as the cache holds them in memory
 * ([kvHead][slot][head vector], the slots past the session's length left as holes of the file), page-aligned, so
 * that opening maps them copy-on-write instead of reading them: a session of any size opens at once and its
 * first decode step reads only what the policy selects. The format is described in docs/sessions.md.
 */
public final class SessionFile {

    static final String ARCHITECTURE = "clusterkv.session";
    static final int VERSION = 1;
    private static final String KEY = "clusterkv.session.";
    /** A page: each layer's keys and values start on one, so that they map straight into the cache. */
    private static final int ALIGNMENT = 4096;

    private SessionFile() {}

    /** What a session file holds, read without opening the session: its tokens and notes. */
    public record Summary(int[] tokens, Map<String, String> notes) {}

    /** Reads a session file's tokens and notes (a mapping of its header and token ids only). */
    public static Summary summary(Path path) throws IOException {
        try (GGUFFile file = GGUFFile.open(path)) {
            GGUFMetadata m = file.metadata();
            if (!m.getString("general.architecture", "").equals(ARCHITECTURE)) throw new SessionFileException(path + " is not a session file");
            int length = (int) m.getLong(KEY + "length", 0);
            return new Summary(readInts(file, "tokens", length), notes(m));
        } catch (IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException e) {
            throw new SessionFileException(path + ": damaged session file (" + e.getMessage() + ")");
        }
    }

    static void save(Session session, Path path, Map<String, String> notes) throws IOException {
        KVCache cache = session.attention().cache();
        PolicyState state = new PolicyState();
        session.attention().saveState(state);
        SessionOptions options = session.options();
        GGUFMetadata m = new GGUFMetadata();
        m.putString("general.architecture", ARCHITECTURE);
        m.putUInt32("general.alignment", ALIGNMENT);
        m.putUInt32(KEY + "version", VERSION);
        m.putString(KEY + "model.name", modelName(session.model()));
        m.putString(KEY + "model.fingerprint", session.model().fingerprint());
        m.putUInt32(KEY + "context", session.contextSize());
        m.putUInt32(KEY + "length", session.length());
        m.putString(KEY + "kv_type_k", cache.format.keys().label());
        m.putString(KEY + "kv_type_v", cache.format.values().label());
        m.putBool(KEY + "kv_rotate", cache.format.rotate());
        m.putString(KEY + "policy", options.kvPolicy());
        m.putString(KEY + "policy.config", options.sparse() ? options.policyConfig().toString() : "");
        m.putUInt32(KEY + "spare_slots", cache.spareSlots);
        for (Map.Entry<String, String> note : notes.entrySet()) m.putString(KEY + "note." + note.getKey(), note.getValue());

        List<GGUFWriter.PendingTensor> tensors = new ArrayList<>();
        int[] tokens = session.tokens();
        tensors.add(ints("tokens", tokens));
        float[] logits = session.logits();
        tensors.add(new GGUFWriter.PendingTensor("logits", new long[]{logits.length}, GGMLType.F32,
                dst -> MemorySegment.copy(logits, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, logits.length)));
        long bytes = 0;
        for (int l = 0; l < cache.layers; l++) {
            for (KVCache.Part part : KVCache.Part.values()) {
                int layer = l, length = session.length();
                KVType type = part == KVCache.Part.KEYS ? cache.format.keys() : cache.format.values();
                tensors.add(new GGUFWriter.PendingTensor(kvName(l, part), new long[]{cache.headDim, cache.capacity + cache.spareSlots, cache.kvHeads},
                        type.ggml, dst -> cache.copyUsed(part, layer, length, dst)));
                bytes += cache.layerBytes(part) / (cache.capacity + cache.spareSlots) * length;
            }
        }
        addState(m, tensors, state);
        checkSpace(path, bytes + (long) tokens.length * 4 + logits.length * 4L);
        GGUFWriter.write(path, m, tensors);
    }

    static Session open(LanguageModel lm, Path path, SessionOptions options) throws IOException {
        GGUFFile file;
        try {
            file = GGUFFile.openCopyOnWrite(path);
        } catch (GGUFFormatException e) {
            throw new SessionFileException(e.getMessage() + " (not a session file, or a damaged one)");
        }
        Session session;
        MemorySegment[] keys, values;
        GGUFMetadata m = file.metadata();
        int context, length, spare, layers = lm.config().layers();
        try {
            check(path, m, lm, options);
            context = (int) m.getLong(KEY + "context", 0);
            length = (int) m.getLong(KEY + "length", 0);
            spare = (int) m.getLong(KEY + "spare_slots", 0);
            keys = new MemorySegment[layers];
            values = new MemorySegment[layers];
            long slots = (long) lm.config().kvHeads() * (context + spare);
            for (int l = 0; l < layers; l++) {
                keys[l] = require(file, kvName(l, KVCache.Part.KEYS)).data();
                values[l] = require(file, kvName(l, KVCache.Part.VALUES)).data();
                if (keys[l].byteSize() != slots * options.kvFormat().keys().rowBytes(lm.config().headDim())
                        || values[l].byteSize() != slots * options.kvFormat().values().rowBytes(lm.config().headDim())) {
                    throw new IllegalStateException("layer " + l + "'s keys or values do not fill " + slots + " slots");
                }
            }
        } catch (RuntimeException e) {
            file.close();
            throw damaged(path, e);
        } catch (IOException | Error e) {
            file.close();
            throw e;
        }
        try { // the session's own checks (the context against the model's) speak for themselves
            session = new Session(lm, options, spareWanted -> {
                if (spareWanted != spare) throw new SessionFileException(path + ": the session keeps " + spare + " spare slots per KV head, this run's policy wants " + spareWanted);
                return new KVCache(layers, lm.config().kvHeads(), lm.config().headDim(), context, options.kvFormat(), spare, keys, values, file);
            });
        } catch (RuntimeException | Error e) {
            if (file.isOpen()) file.close();
            throw e;
        }
        try {
            session.restore(readInts(file, "tokens", length), length, readFloats(require(file, "logits")), readState(file, m), notes(m));
            return session;
        } catch (RuntimeException e) {
            session.close(); // closes the file with the cache
            throw damaged(path, e);
        } catch (Error e) {
            session.close();
            throw e;
        }
    }

    private static RuntimeException damaged(Path path, RuntimeException e) {
        if (e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof IndexOutOfBoundsException) {
            return new SessionFileException(path + ": damaged session file (" + e.getMessage() + ")");
        }
        return e;
    }

    /** Everything the session was made with must be what this run asks for; each difference is one line naming the option. */
    private static void check(Path path, GGUFMetadata m, LanguageModel lm, SessionOptions options) throws IOException {
        String architecture = m.getString("general.architecture", "");
        if (!architecture.equals(ARCHITECTURE)) {
            throw new SessionFileException(path + " is not a session file (a GGUF file of architecture '" + architecture + "')");
        }
        long version = m.getLong(KEY + "version", -1);
        if (version != VERSION) throw new SessionFileException(path + ": session file version " + version + ", this build reads version " + VERSION);
        if (!m.getString(KEY + "model.fingerprint", "").equals(lm.fingerprint())) {
            throw new SessionFileException(path + " was saved with the model '" + m.getString(KEY + "model.name", "?") + "', not with " + modelName(lm)
                    + " (its metadata or tensor table differ)");
        }
        int context = options.contextSize() == 0 ? lm.config().contextLength() : options.contextSize();
        long saved = m.getLong(KEY + "context", -1);
        if (saved != context) throw new SessionFileException(path + " holds a session of " + saved + " tokens of context, this run asks for " + context + ": use -c " + saved);
        KVFormat f = options.kvFormat();
        String types = m.getString(KEY + "kv_type_k", "?") + "/" + m.getString(KEY + "kv_type_v", "?");
        Boolean rotate = m.getBool(KEY + "kv_rotate");
        if (!types.equals(f.keys().label() + "/" + f.values().label()) || rotate == null || rotate != f.rotate()) {
            throw new SessionFileException(path + " holds a KV cache of keys/values " + types + (Boolean.TRUE.equals(rotate) ? " (rotated)" : "")
                    + ", this run asks for " + f.keys().label() + "/" + f.values().label() + (f.rotate() ? " (rotated)" : "")
                    + ": use --kv-type-k " + m.getString(KEY + "kv_type_k", "?") + " --kv-type-v " + m.getString(KEY + "kv_type_v", "?")
                    + (Boolean.TRUE.equals(rotate) ? " --kv-rotate" : " --no-kv-rotate"));
        }
        String policy = m.getString(KEY + "policy", "?");
        if (!policy.equals(options.kvPolicy())) {
            throw new SessionFileException(path + " was made with --kv-policy " + policy + ", this run asks for " + options.kvPolicy());
        }
        String config = m.getString(KEY + "policy.config", "");
        if (options.sparse() && !config.equals(options.policyConfig().toString())) {
            throw new SessionFileException(path + " was made with other " + policy + " options: " + differences(config, options.policyConfig().toString()));
        }
        if (m.getLong(KEY + "length", -1) < 0 || m.getLong(KEY + "length", -1) > context) {
            throw new SessionFileException(path + ": damaged session file (length " + m.getLong(KEY + "length", -1) + " in a context of " + context + ")");
        }
    }

    /** The record components that differ, as "budget=1024 (saved) against budget=512 (this run)". */
    private static String differences(String saved, String now) {
        String[] a = components(saved), b = components(now);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(a.length, b.length); i++) if (!a[i].equals(b[i])) out.add(a[i] + " (saved) against " + b[i] + " (this run)");
        return out.isEmpty() ? saved + " against " + now : String.join(", ", out);
    }

    private static String[] components(String record) {
        int open = record.indexOf('['), close = record.lastIndexOf(']');
        return open < 0 || close < open ? new String[]{record} : record.substring(open + 1, close).split(", ");
    }

    private static Map<String, String> notes(GGUFMetadata m) {
        Map<String, String> notes = new LinkedHashMap<>();
        for (String key : m.entries().keySet()) {
            if (key.startsWith(KEY + "note.")) notes.put(key.substring((KEY + "note.").length()), m.getString(key, ""));
        }
        return notes;
    }

    // --- the policy state: every array concatenated into one tensor per element type, named and sized in the metadata

    private static void addState(GGUFMetadata m, List<GGUFWriter.PendingTensor> tensors, PolicyState state) {
        Map<String, Object> arrays = state.arrays();
        String[] names = arrays.keySet().toArray(String[]::new);
        int[] kinds = new int[names.length], lengths = new int[names.length];
        int[] totals = new int[3];
        for (int i = 0; i < names.length; i++) {
            Object a = arrays.get(names[i]);
            kinds[i] = a instanceof int[] ? 0 : a instanceof float[] ? 1 : 2;
            lengths[i] = java.lang.reflect.Array.getLength(a);
            totals[kinds[i]] += lengths[i];
        }
        m.putStrings(KEY + "state.names", names);
        m.putInts(KEY + "state.kinds", kinds);
        m.putInts(KEY + "state.lengths", lengths);
        GGMLType[] types = {GGMLType.I32, GGMLType.F32, GGMLType.F64};
        for (int kind = 0; kind < 3; kind++) {
            int k = kind;
            tensors.add(new GGUFWriter.PendingTensor("state." + types[kind].name().toLowerCase(), new long[]{Math.max(1, totals[kind])}, types[kind], dst -> {
                long at = 0;
                for (int i = 0; i < names.length; i++) {
                    if (kinds[i] != k) continue;
                    Object a = arrays.get(names[i]);
                    switch (a) {
                        case int[] x -> MemorySegment.copy(x, 0, dst, ValueLayout.JAVA_INT_UNALIGNED, at, x.length);
                        case float[] x -> MemorySegment.copy(x, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, at, x.length);
                        case double[] x -> MemorySegment.copy(x, 0, dst, ValueLayout.JAVA_DOUBLE_UNALIGNED, at, x.length);
                        default -> throw new IllegalStateException();
                    }
                    at += (long) lengths[i] * types[k].byteSize(1);
                }
            }));
        }
    }

    private static PolicyState readState(GGUFFile file, GGUFMetadata m) {
        String[] names = m.getStrings(KEY + "state.names");
        int[] kinds = m.getInts(KEY + "state.kinds"), lengths = m.getInts(KEY + "state.lengths");
        if (names == null || kinds == null || lengths == null || kinds.length != names.length || lengths.length != names.length) {
            throw new IllegalStateException("no policy state table");
        }
        MemorySegment[] data = {require(file, "state.i32").data(), require(file, "state.f32").data(), require(file, "state.f64").data()};
        long[] at = new long[3];
        PolicyState state = new PolicyState();
        for (int i = 0; i < names.length; i++) {
            int n = lengths[i];
            if (n < 0) throw new IllegalStateException("negative length of " + names[i]);
            Object a = switch (kinds[i]) {
                case 0 -> data[0].asSlice(at[0], n * 4L).toArray(ValueLayout.JAVA_INT_UNALIGNED);
                case 1 -> data[1].asSlice(at[1], n * 4L).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                case 2 -> data[2].asSlice(at[2], n * 8L).toArray(ValueLayout.JAVA_DOUBLE_UNALIGNED);
                default -> throw new IllegalStateException("unknown kind of " + names[i]);
            };
            at[kinds[i]] += n * (kinds[i] == 2 ? 8L : 4L);
            state.putRaw(names[i], a);
        }
        return state;
    }

    // --- helpers

    private static String kvName(int layer, KVCache.Part part) {
        return "kv." + layer + (part == KVCache.Part.KEYS ? ".k" : ".v");
    }

    private static GGUFWriter.PendingTensor ints(String name, int[] values) {
        return new GGUFWriter.PendingTensor(name, new long[]{Math.max(1, values.length)}, GGMLType.I32,
                dst -> MemorySegment.copy(values, 0, dst, ValueLayout.JAVA_INT_UNALIGNED, 0, values.length));
    }

    private static int[] readInts(GGUFFile file, String name, int count) {
        MemorySegment data = require(file, name).data();
        return data.asSlice(0, count * 4L).toArray(ValueLayout.JAVA_INT_UNALIGNED);
    }

    private static float[] readFloats(GGUFTensor t) {
        return t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }

    private static GGUFTensor require(GGUFFile file, String name) {
        GGUFTensor t = file.tensor(name);
        if (t == null) throw new IllegalStateException("no tensor '" + name + "'");
        return t;
    }

    /** Fails before writing, naming the path and the space needed, when the disk cannot hold what the session holds. */
    private static void checkSpace(Path path, long bytes) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        long free = Files.getFileStore(dir).getUsableSpace();
        long needed = bytes + (1 << 20);
        if (free < needed) {
            throw new IOException("cannot save the session to " + path + ": it needs " + (needed >> 20) + " MiB and " + dir + " has " + (free >> 20) + " MiB free");
        }
    }

    private static String modelName(LanguageModel lm) {
        String name = lm.model().file().metadata().getString("general.name", "");
        return name.isEmpty() ? lm.model().file().path().getFileName().toString() : name;
    }

    /** SHA-256 of the model file's header (metadata and tensor table): the model's identity ({@link LanguageModel#fingerprint}). */
    static String headerDigest(LanguageModel lm) throws IOException {
        GGUFFile f = lm.model().file();
        try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.READ)) {
            ByteBuffer header = ByteBuffer.allocate((int) Math.min(f.dataOffset(), Integer.MAX_VALUE - 8));
            while (header.hasRemaining() && ch.read(header) >= 0) { }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(sha.digest(header.array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
