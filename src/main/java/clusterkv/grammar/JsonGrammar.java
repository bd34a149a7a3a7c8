package clusterkv.grammar;

import clusterkv.generate.OutputConstraint;
import clusterkv.tokenizer.Tokenizer;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Output that is one JSON value of a schema (OpenAI's {@code response_format}, llama.cpp's {@code --json-schema}):
 * generation draws only tokens that keep the text a prefix of such a value, ends it with an end-of-generation token
 * once it is whole, and closes it in time when the tokens left run short. The masks are remembered per match state
 * (strings, numbers and most object positions repeat), so a mask costs a walk of the vocabulary's trie only the first
 * time its state occurs. Immutable and thread-safe: one grammar serves any number of generations.
 */
public final class JsonGrammar implements OutputConstraint {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Masks remembered per tokenizer: a few hundred states cover a schema's repeating positions. */
    private static final int MASKS_KEPT = 512;

    private final Shape root;
    private final Map<TokenTrie, Map<MatchState, Mask>> masks = new WeakHashMap<>();

    JsonGrammar(Shape root) {
        this.root = root;
    }

    private static final JsonGrammar ANY_OBJECT = anyObjectGrammar();

    /** Any JSON object: OpenAI's {@code {"type": "json_object"}}. */
    public static JsonGrammar anyObject() {
        return ANY_OBJECT;
    }

    private static JsonGrammar anyObjectGrammar() {
        Shape.Dict object = new Shape.Dict(Shape.OneOf.ANY_JSON);
        object.minBytes = object.computeMinBytes();
        return new JsonGrammar(object);
    }

    /** The schema's values; a {@link JsonSchemaException} names what is malformed or unsupported. */
    public static JsonGrammar fromSchema(JsonNode schema) {
        return JsonSchemaCompiler.compile(schema);
    }

    public static JsonGrammar fromSchema(String schema) {
        try {
            return fromSchema(JSON.readTree(schema));
        } catch (JacksonException e) {
            throw new JsonSchemaException("the JSON schema is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /**
     * A tool call as a chat template's format writes it: {@code prefix{"name": "NAME", "KEY": ARGUMENTS}suffix}, where
     * NAME is one of the functions and ARGUMENTS a value of that function's parameter schema (null: any object).
     * Refuses, as {@link #fromSchema} does, a parameter schema it cannot compile; the message names the function.
     */
    public static JsonGrammar toolCall(String prefix, String argumentsKey, String suffix, Map<String, JsonNode> functions) {
        byte[][] names = new byte[functions.size()][];
        Shape[] calls = new Shape[functions.size()];
        int i = 0;
        for (Map.Entry<String, JsonNode> f : functions.entrySet()) {
            String quotedName = JsonSchemaCompiler.quoted(f.getKey());
            names[i] = (quotedName.substring(1) + ", " + JsonSchemaCompiler.quoted(argumentsKey) + ": ").getBytes(StandardCharsets.UTF_8);
            Shape arguments;
            try {
                arguments = f.getValue() == null ? anyObject().root : JsonSchemaCompiler.shapeOf(f.getValue());
            } catch (JsonSchemaException e) {
                throw new JsonSchemaException("function " + f.getKey() + ": " + e.getMessage());
            }
            calls[i++] = resolved(new Shape.Then(arguments, literal("}" + suffix)));
        }
        Shape name = resolved(new Shape.Literals(names, calls));
        return new JsonGrammar(resolved(new Shape.Then(literal(prefix + "{\"name\": \""), name)));
    }

    private static Shape literal(String text) {
        return resolved(Shape.Literals.of(text));
    }

    private static <S extends Shape> S resolved(S shape) {
        shape.minBytes = shape.computeMinBytes();
        return shape;
    }

    /** Whether the text is a whole value of the schema, as generation would write it (whitespace as llama.cpp allows). */
    public boolean matches(String text) {
        MatchState s = MatchState.start(root).advance(text.getBytes(StandardCharsets.UTF_8));
        return s != null && s.complete();
    }

    @Override
    public Constraint start(Tokenizer tokenizer) {
        return new JsonConstraint(this, TokenTrie.of(tokenizer));
    }

    MatchState initial() {
        return MatchState.start(root);
    }

    /**
     * The tokens allowed after the state, given that {@code budget} more tokens may follow this one (-1: no limit).
     * The mask without a budget is remembered per state, with the tokens that would raise the bytes needed to
     * complete the text: a budget takes out those that raise it beyond the budget, and only when the text is already
     * as long as the budget allows (the state itself needs more bytes than the budget) does a budgeted walk run.
     */
    long[] mask(MatchState state, int budget, TokenTrie trie) {
        if (budget >= 0 && state.minBytes > budget) return walk(state, budget, trie).allowed();
        Mask m = unbudgeted(state, trie);
        if (budget < 0 || budget >= m.highestMinBytes()) return m.allowed(); // the tokens that keep or lower it fit too
        long[] allowed = m.allowed().clone();
        for (int i = 0; i < m.raising().length; i++) {
            int t = m.raising()[i];
            if (m.raisedTo()[i] > budget) allowed[t >>> 6] &= ~(1L << t);
        }
        return allowed;
    }

    private Mask unbudgeted(MatchState state, TokenTrie trie) {
        Map<MatchState, Mask> kept;
        synchronized (masks) {
            kept = masks.computeIfAbsent(trie, k -> lru());
        }
        synchronized (kept) {
            Mask m = kept.get(state);
            if (m != null) return m;
        }
        Mask m = walk(state, -1, trie);
        synchronized (kept) {
            kept.put(state, m);
        }
        return m;
    }

    private static Mask walk(MatchState state, int budget, TokenTrie trie) {
        long[] allowed = new long[(trie.vocabSize + 63) >>> 6];
        if (state.complete()) for (int t : trie.endOfGeneration) allowed[t >>> 6] |= 1L << t;
        if (state == MatchState.DONE) return new Mask(allowed, new int[0], new int[0]);
        TokenTrie.Raising raising = new TokenTrie.Raising(state.minBytes);
        trie.allowed(state, budget, allowed, raising);
        if (budget >= 0 && isEmptyBut(allowed, trie.endOfGeneration)) {
            // no token keeps the text completable in time (max_tokens below the shortest value): go on, to be cut short
            trie.allowed(state, -1, allowed, raising);
        }
        return new Mask(allowed, raising.tokens(), raising.minBytes());
    }

    private static boolean isEmptyBut(long[] allowed, int[] ignored) {
        long[] copy = allowed.clone();
        for (int t : ignored) copy[t >>> 6] &= ~(1L << t);
        for (long w : copy) if (w != 0) return false;
        return true;
    }

    /** Allowed tokens, and those of them that raise the bytes needed to complete the text (with what they raise it to). */
    private record Mask(long[] allowed, int[] raising, int[] raisedTo) {
        int highestMinBytes() {
            int max = 0;
            for (int m : raisedTo) max = Math.max(max, m);
            return max;
        }
    }

    private static Map<MatchState, Mask> lru() {
        return new LinkedHashMap<>(64, 0.75f, true) {
            protected boolean removeEldestEntry(Map.Entry<MatchState, Mask> eldest) {
                return size() > MASKS_KEPT;
            }
        };
    }
}
